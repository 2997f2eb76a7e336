import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessStateFile, reapLeftoverProcesses, verifiedGroupMembers } from './process-state.js';
import { silentLog } from './fakes.fixture.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitGone = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
};

/** A process group leader (`sleep`) with a backend id in its environment. */
function backendGroup(backendId: string): ChildProcess {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, SESSION_BACKEND_ID: backendId } });
  child.on('error', () => undefined);
  children.push(child);
  return child;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.pid && alive(c.pid)) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jetplane-state-test-'));
  dirs.push(dir);
  return join(dir, 'drone');
}

describe('ProcessStateFile', () => {
  it('keeps the running groups in a file, rewritten on every start and end', () => {
    const state = new ProcessStateFile(stateDir());
    state.started('b1', 1234);
    state.started('b2', 5678);
    state.ended('b1');
    expect(new ProcessStateFile(state.dir).read()).toEqual([{ backend_id: 'b2', pgid: 5678, pid: 5678 }]);
  });

  it('after a crash, kills only processes whose environment names the backend (PID reuse guard)', async () => {
    const dir = stateDir();
    const mine = backendGroup('b-mine');
    const stranger = backendGroup('b-other');
    await new Promise((r) => setTimeout(r, 100));
    const before = new ProcessStateFile(dir);
    before.started('b-mine', mine.pid!);
    // An entry whose pid now belongs to an unrelated process (as after PID reuse).
    before.started('b-reused', stranger.pid!);
    expect(verifiedGroupMembers(mine.pid!, 'b-mine')).toEqual([mine.pid]);
    expect(verifiedGroupMembers(stranger.pid!, 'b-reused')).toEqual([]);

    const killed = reapLeftoverProcesses(new ProcessStateFile(dir), silentLog);
    expect(killed).toEqual(['b-mine']);
    expect(await waitGone(mine.pid!)).toBe(true);
    expect(alive(stranger.pid!)).toBe(true);
    expect(new ProcessStateFile(dir).read()).toEqual([]);
  });

  it('a missing or corrupt file means nothing to clean', () => {
    const state = new ProcessStateFile(stateDir());
    expect(reapLeftoverProcesses(state, silentLog)).toEqual([]);
  });
});

describe('process group guard', () => {
  it('SIGKILLs the backend group when the drone process is SIGKILLed', async () => {
    const guardModule = fileURLToPath(new URL('../dist/executors/process-guard.js', import.meta.url));
    // A stand-in "drone": starts a backend group (sleep) and its guard, prints the pid, then waits.
    const script = `
      import { spawn } from 'node:child_process';
      import { guardGroup } from ${JSON.stringify(guardModule)};
      const b = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      b.unref();
      guardGroup(b.pid);
      console.log(b.pid);
      setInterval(() => {}, 1000);
    `;
    const drone = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(drone);
    const pid = await new Promise<number>((resolve) => drone.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    expect(alive(pid)).toBe(true);
    drone.kill('SIGKILL');
    expect(await waitGone(pid)).toBe(true);
  });
});
