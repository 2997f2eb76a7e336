/** Loopback ports for test servers. */
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

/** Ports this process has already handed out, so two helpers never get the same one. */
const handedOut = new Set<number>();

/** The kernel's ephemeral range (Linux), which `bind(0)` and outgoing connections draw from. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo < hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/** Ports below the ephemeral range that tests pick from: nothing binding port 0 (in any process) lands there. */
function candidateRange(): [number, number] {
  const [ephemeralLow] = ephemeralRange();
  const high = Math.min(ephemeralLow - 1, 32_000);
  const low = Math.max(10_000, high - 20_000);
  return [low, high];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. It is drawn at random from below the kernel's
 * ephemeral range, so the port cannot be taken meanwhile by another process binding port 0 or
 * opening a connection (concurrent test runs, components started with `--port 0`); only another
 * process picking ports the same way could collide, and every caller fails loudly if it happens.
 */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`could not find a free loopback port in ${low}-${high} after 200 attempts`);
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return ports;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
