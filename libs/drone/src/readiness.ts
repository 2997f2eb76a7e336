/** Plane's readiness probe: a backend is ready once `HEAD /` on its port gets any HTTP answer. */
import { connect } from 'node:net';

const REQUEST = 'HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n';
const EXPECTED = 'HTTP/';
export const PROBE_TIMEOUT_MS = 1_000;

/** Splits `host:port` (IPv6 hosts in brackets or bare). */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

/** One attempt: connect, send `HEAD /`, and check the first 5 bytes of the answer. Never rejects. */
export function probeOnce(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = connect({ host, port });
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= EXPECTED.length) finish(received.subarray(0, EXPECTED.length).toString('latin1') === EXPECTED);
    });
    socket.once('end', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/**
 * Most backends listen within a second: probe on a short fixed interval for that long, so readiness
 * is not rounded up to a backed-off interval (spawn overhead), then back off to `intervalMs`. Not
 * shorter: each probe costs the drone ~0.5 ms of CPU, taken from the backend booting next to it, and
 * backends that log when they listen are probed at once anyway (`ProbeNudge`).
 */
const FAST_PROBE_INTERVAL_MS = 10;
export const FAST_PROBE_WINDOW_MS = 1_000;

export type Readiness = 'ready' | 'timeout' | 'aborted';

/**
 * Cuts the pause between two probes short. The runner fires it when the backend writes output: many
 * servers log once they listen, and probing right then makes readiness independent of the schedule.
 */
export class ProbeNudge {
  private wake: (() => void) | undefined;
  private pending = false;

  fire(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  /** Sleep `ms`, or less if fired meanwhile (or since the last pause); never rejects. */
  pause(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}

export interface WaitForReadyOptions {
  address: string;
  intervalMs: number;
  timeoutMs: number;
  signal: AbortSignal;
  probeTimeoutMs?: number;
  nudge?: ProbeNudge;
}

/** Probe until the backend answers, the startup timeout passes, or `signal` aborts (exit, terminate). */
export async function waitUntilReady(opts: WaitForReadyOptions): Promise<Readiness> {
  const { host, port } = parseAddress(opts.address);
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const nudge = opts.nudge ?? new ProbeNudge();
  let interval = Math.min(FAST_PROBE_INTERVAL_MS, opts.intervalMs);
  while (!opts.signal.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return 'timeout';
    if (await probeOnce(host, port, Math.min(opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS, remaining))) {
      return opts.signal.aborted ? 'aborted' : 'ready';
    }
    if (opts.signal.aborted) break;
    if (Date.now() - started >= FAST_PROBE_WINDOW_MS) interval = Math.min(interval * 2, opts.intervalMs);
    await nudge.pause(Math.min(interval, Math.max(0, deadline - Date.now())), opts.signal);
  }
  return 'aborted';
}
