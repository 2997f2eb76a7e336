// nats-server with JetStream on 127.0.0.1:<free port>, file store in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { start, freePort } from './proc.mjs';

export const NATS_BIN = process.env.JETPLANE_NATS_SERVER_BIN || '/usr/sbin/nats-server';

export function natsServerVersion() {
  try {
    return execFileSync(NATS_BIN, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not found';
  }
}

export async function startNatsServer({ name = 'nats-server', logDir } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jetplane-bench-nats-'));
  const handle = start(`${name}-${port}`, NATS_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { logDir });
  await handle.waitFor(/Server is ready/, 15_000);
  return {
    handle,
    port,
    url: `nats://127.0.0.1:${port}`,
    dir,
    async stop() {
      await handle.stop('SIGTERM', 5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
