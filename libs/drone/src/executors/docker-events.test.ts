import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { silentLog, waitFor } from '../fakes.fixture.js';
import { ContainerExitWatch } from './docker-events.js';

function fakeDocker() {
  const streams: PassThrough[] = [];
  const filters: unknown[] = [];
  const states = new Map<string, { Running: boolean; ExitCode: number; Status: string }>();
  const docker = {
    getEvents: async (opts: { filters: unknown }) => {
      filters.push(opts.filters);
      const s = new PassThrough();
      streams.push(s);
      return s;
    },
    getContainer: (id: string) => ({
      inspect: async () => {
        const state = states.get(id);
        if (!state) throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { State: { ...state, Restarting: false } };
      },
    }),
  } as unknown as Dockerode;
  return { docker, streams, filters, states };
}

const die = (id: string, code: string) => JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: id, Attributes: { exitCode: code } } }) + '\n';

describe('ContainerExitWatch', () => {
  it("follows this drone's die events and resolves the exit code of awaited containers", async () => {
    const { docker, streams, filters } = fakeDocker();
    const watch = new ContainerExitWatch(docker, 'dr-1', silentLog);
    await watch.start();
    expect(filters[0]).toEqual({ type: ['container'], event: ['die'], label: ['dev.jetplane.drone=dr-1'] });
    const a = watch.wait('a');
    const b = watch.wait('b');
    streams[0]!.write(die('b', '137'));
    streams[0]!.write(die('other', '1'));
    expect(await b).toBe(137);
    streams[0]!.write('not json\n' + die('a', '0'));
    expect(await a).toBe(0);
    watch.stop();
  });

  it('reopens a broken stream and finds the exits it missed by inspecting', async () => {
    const { docker, streams, states } = fakeDocker();
    const watch = new ContainerExitWatch(docker, 'dr-1', silentLog);
    await watch.start();
    const exited = watch.wait('a');
    const gone = watch.wait('b');
    states.set('a', { Running: false, ExitCode: 3, Status: 'exited' });
    streams[0]!.end();
    await waitFor(() => streams.length === 2, 3_000);
    expect(await exited).toBe(3);
    expect(await gone).toBeNull();
    watch.stop();
  });
});
