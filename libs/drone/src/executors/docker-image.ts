/**
 * Making the executable's image available per its `pull_policy` (Plane §8.6): IfNotPresent pulls
 * only when the image is missing, Always pulls every time, Never only checks. Every outcome is a
 * value with a message fit for the backend's status; a pull never hangs (deadline, abort signal).
 */
import type Dockerode from 'dockerode';
import type { DockerExecutable } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import { dockerMessage, isNotFound } from './docker-errors.js';
import { forEachLine } from './lines.js';

export type ImageResult = { ok: true; pulled: boolean } | { ok: false; kind: 'aborted' } | { ok: false; kind: 'failed'; message: string };

export interface EnsureImageInput {
  docker: Dockerode;
  executable: DockerExecutable;
  /** Aborted when the backend is terminated meanwhile. */
  signal: AbortSignal;
  /** A pull still running after this long is abandoned (the backend fails). */
  pullTimeoutMs: number;
  log: Logger;
  /** How often pull progress is logged. */
  progressEveryMs?: number;
  /** Pull progress in words, for the backend's own log (so `jetplane logs -f` shows why it is loading). */
  onProgress?(text: string): void;
}

export async function ensureImage(input: EnsureImageInput): Promise<ImageResult> {
  const { docker, executable } = input;
  const image = executable.image;
  const policy = executable.pull_policy ?? 'IfNotPresent';
  if (policy !== 'Always') {
    try {
      await docker.getImage(image).inspect();
      return { ok: true, pulled: false };
    } catch (err) {
      if (!isNotFound(err)) return { ok: false, kind: 'failed', message: `cannot inspect image ${image}: ${dockerMessage(err)}` };
    }
    if (policy === 'Never') {
      return { ok: false, kind: 'failed', message: `image ${image} is not present on this drone and pull_policy is Never` };
    }
  }
  return pullImage(input);
}

/** The registry a reference names (Docker Hub when the first component is not a host name). */
export function registryOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first : 'https://index.docker.io/v1/';
}

interface PullEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  progressDetail?: { current?: number; total?: number };
}

async function pullImage(input: EnsureImageInput): Promise<ImageResult> {
  const { docker, executable, log } = input;
  const image = executable.image;
  const deadline = AbortSignal.timeout(input.pullTimeoutMs);
  const signal = AbortSignal.any([input.signal, deadline]);
  const auth = executable.credentials
    ? { username: executable.credentials.username, password: executable.credentials.password, serveraddress: registryOf(image) }
    : undefined;
  const outcome = (message: string): ImageResult => {
    if (input.signal.aborted) return { ok: false, kind: 'aborted' };
    if (deadline.aborted) return { ok: false, kind: 'failed', message: `pulling image ${image} took longer than ${Math.round(input.pullTimeoutMs / 1000)} s` };
    return { ok: false, kind: 'failed', message: `cannot pull image ${image}: ${message}` };
  };

  log.info({ image }, 'pulling image');
  input.onProgress?.(`pulling image ${image}`);
  let stream: NodeJS.ReadableStream;
  try {
    // dockerode turns a reference without a tag into `:latest` (the API would pull every tag).
    stream = (await docker.pull(image, { abortSignal: signal }, undefined as never, auth)) as unknown as NodeJS.ReadableStream;
  } catch (err) {
    return outcome(dockerMessage(err));
  }

  const layers = new Map<string, { current: number; total: number; done: boolean }>();
  let lastLog = Date.now();
  return new Promise<ImageResult>((resolve) => {
    let failure: string | undefined;
    let settled = false;
    const finish = (result: ImageResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      finish(outcome('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });

    forEachLine(stream as unknown as import('node:stream').Readable, (line) => {
      let event: PullEvent;
      try {
        event = JSON.parse(line) as PullEvent;
      } catch {
        return;
      }
      // Errors arrive inside the stream with HTTP 200 (e.g. "manifest unknown").
      if (event.error || event.errorDetail?.message) failure = event.errorDetail?.message ?? event.error;
      if (event.id && event.progressDetail) {
        const layer = layers.get(event.id) ?? { current: 0, total: 0, done: false };
        layer.current = event.progressDetail.current ?? layer.current;
        layer.total = event.progressDetail.total ?? layer.total;
        if (event.status === 'Pull complete' || event.status === 'Already exists') layer.done = true;
        layers.set(event.id, layer);
      }
      if (Date.now() - lastLog >= (input.progressEveryMs ?? 2_000)) {
        lastLog = Date.now();
        const progress = progressOf(layers);
        log.info({ image, ...progress }, 'pulling image');
        input.onProgress?.(`pulling image ${image}: ${progress.layers_done}/${progress.layers} layers, ${mb(progress.bytes)}/${mb(progress.bytes_total)} MB`);
      }
    });
    stream.on('error', (err: unknown) => finish(outcome(dockerMessage(err))));
    stream.on('end', () => {
      if (failure !== undefined) finish(outcome(failure));
      else {
        log.info({ image }, 'image pulled');
        input.onProgress?.(`image ${image} pulled`);
        finish({ ok: true, pulled: true });
      }
    });
    // A connection dropped mid-pull ends with `close` alone.
    stream.on('close', () => finish(outcome(failure ?? 'the connection to Docker closed during the pull')));
  });
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function progressOf(layers: Map<string, { current: number; total: number; done: boolean }>): { layers: number; layers_done: number; bytes: number; bytes_total: number } {
  let done = 0;
  let current = 0;
  let total = 0;
  for (const l of layers.values()) {
    if (l.done) done++;
    current += l.current;
    total += l.total;
  }
  return { layers: layers.size, layers_done: done, bytes: current, bytes_total: total };
}
