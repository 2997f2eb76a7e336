/** Finding (or installing, through the project's setup script) a local nats-server binary. */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, seen from `apps/cli/dist/*.js` (or `apps/cli/src/*.ts` under vitest). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const INSTALL_SCRIPT = join(REPO_ROOT, 'scripts', 'install-nats-server.sh');

/** Places searched after `PATH`: Debian installs nats-server in /usr/sbin, often not on a user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin'];

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `JETPLANE_NATS_SERVER_BIN` if set (it must then be executable: no silent fallback), else the first
 * `nats-server` on `PATH` or in the sbin directories; undefined if none.
 */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.JETPLANE_NATS_SERVER_BIN;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`JETPLANE_NATS_SERVER_BIN=${explicit} is not an executable file`);
    return explicit;
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * A nats-server binary, running `scripts/install-nats-server.sh` when none is found (it installs
 * Debian's package as root, or prints what to install). Throws with exit code 1 semantics if still missing.
 */
export async function ensureNatsServer(log: (msg: string) => void): Promise<string> {
  const found = findNatsServer();
  if (found) return found;
  log(`nats-server not found; running ${INSTALL_SCRIPT}`);
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn('bash', [INSTALL_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out }));
  });
  if (code !== 0) throw new NatsServerMissingError();
  const lastLine = stdout.trim().split('\n').pop()?.trim();
  if (lastLine && isExecutable(lastLine)) return lastLine;
  const again = findNatsServer();
  if (!again) throw new NatsServerMissingError();
  return again;
}

/** The setup script already printed the one line saying what to install. */
export class NatsServerMissingError extends Error {
  constructor() {
    super('nats-server is not installed');
    this.name = 'NatsServerMissingError';
  }
}
