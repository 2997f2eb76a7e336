import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { DockerExecutable } from '@jetplane/protocol';
import { silentLog } from '../fakes.fixture.js';
import { ensureImage } from './docker-image.js';

const notFound = Object.assign(new Error('(HTTP code 404) no such image'), { statusCode: 404, json: { message: 'No such image' } });

/** A Docker stand-in: `present` images inspect fine; a pull streams what `pull` writes. */
function fakeDocker(present: boolean, pull: (stream: PassThrough, opts: { abortSignal: AbortSignal }, auth: unknown) => void) {
  const pulls: Array<{ image: string; auth: unknown }> = [];
  const docker = {
    getImage: () => ({ inspect: async () => (present ? {} : Promise.reject(notFound)) }),
    pull: async (image: string, opts: { abortSignal: AbortSignal }, _cb: unknown, auth: unknown) => {
      pulls.push({ image, auth });
      const stream = new PassThrough();
      pull(stream, opts, auth);
      return stream;
    },
  } as unknown as Dockerode;
  return { docker, pulls };
}

const exe = (extra: Partial<DockerExecutable> = {}): DockerExecutable => ({ image: 'registry.example.com/app:1', ...extra });
const run = (docker: Dockerode, executable: DockerExecutable, extra: { signal?: AbortSignal; pullTimeoutMs?: number; progress?: string[] } = {}) =>
  ensureImage({
    docker,
    executable,
    signal: extra.signal ?? new AbortController().signal,
    pullTimeoutMs: extra.pullTimeoutMs ?? 5_000,
    log: silentLog,
    progressEveryMs: 0,
    ...(extra.progress ? { onProgress: (t: string) => void extra.progress!.push(t) } : {}),
  });

describe('ensureImage', () => {
  it('IfNotPresent: uses a present image without pulling', async () => {
    const { docker, pulls } = fakeDocker(true, () => undefined);
    expect(await run(docker, exe())).toEqual({ ok: true, pulled: false });
    expect(pulls).toEqual([]);
  });

  it('IfNotPresent: pulls a missing image with the credentials for its registry, reporting progress', async () => {
    const { docker, pulls } = fakeDocker(false, (s) => {
      s.write('{"status":"Pulling fs layer","id":"l1","progressDetail":{}}\n');
      s.write('{"status":"Downloading","id":"l1","progressDetail":{"current":500000,"total":1000000}}\n');
      s.end('{"status":"Pull complete","id":"l1","progressDetail":{}}\n');
    });
    const progress: string[] = [];
    expect(await run(docker, exe({ credentials: { username: 'u', password: 'p' } }), { progress })).toEqual({ ok: true, pulled: true });
    expect(pulls).toEqual([{ image: 'registry.example.com/app:1', auth: { username: 'u', password: 'p', serveraddress: 'registry.example.com' } }]);
    expect(progress[0]).toBe('pulling image registry.example.com/app:1');
    expect(progress.some((p) => /1\/1 layers|0\/1 layers/.test(p))).toBe(true);
    expect(progress.at(-1)).toBe('image registry.example.com/app:1 pulled');
    expect(progress.join(' ')).not.toContain('p@');
  });

  it('Never: a missing image fails at once with a clear message', async () => {
    const { docker, pulls } = fakeDocker(false, () => undefined);
    expect(await run(docker, exe({ pull_policy: 'Never' }))).toEqual({
      ok: false,
      kind: 'failed',
      message: 'image registry.example.com/app:1 is not present on this drone and pull_policy is Never',
    });
    expect(pulls).toEqual([]);
  });

  it('Always: pulls even a present image; an error inside the stream fails the pull', async () => {
    const { docker, pulls } = fakeDocker(true, (s) => s.end('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n'));
    expect(await run(docker, exe({ pull_policy: 'Always' }))).toEqual({ ok: false, kind: 'failed', message: 'cannot pull image registry.example.com/app:1: manifest unknown' });
    expect(pulls).toHaveLength(1);
  });

  it('a pull that stalls ends at the deadline, never hangs', async () => {
    const { docker } = fakeDocker(false, (s, opts) => opts.abortSignal.addEventListener('abort', () => s.destroy()));
    const result = await run(docker, exe(), { pullTimeoutMs: 50 });
    expect(result).toMatchObject({ ok: false, kind: 'failed', message: expect.stringMatching(/took longer than/) });
  });

  it('a terminate during the pull aborts it', async () => {
    const { docker } = fakeDocker(false, () => undefined);
    const abort = new AbortController();
    const pending = run(docker, exe(), { signal: abort.signal });
    setTimeout(() => abort.abort(), 10);
    expect(await pending).toEqual({ ok: false, kind: 'aborted' });
  });
});
