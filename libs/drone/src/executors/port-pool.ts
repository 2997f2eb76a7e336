/**
 * The ports this drone gives its process backends (`PORT`). Picked from a fixed range, which should lie
 * outside the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`): a port found free
 * by bind-then-close in the ephemeral range can be taken by any outgoing connection before the backend
 * binds it, which is frequent under load. Ports are handed out in turn (a port freed by an exited backend
 * comes back last, so a stale route never reaches its successor at once), never twice at the same time,
 * and only after a bind shows nobody else listens there.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface PortRange {
  first: number;
  last: number;
}

/** Below Linux's default ephemeral range (32768–60999). */
export const DEFAULT_BACKEND_PORTS: Readonly<PortRange> = Object.freeze({ first: 20_000, last: 29_999 });

/** `first-last` (inclusive), or null when it is not a valid range of non-privileged ports. */
export function parsePortRange(text: string): PortRange | null {
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (!match) return null;
  const range = { first: Number(match[1]), last: Number(match[2]) };
  return isValidPortRange(range) ? range : null;
}

export function isValidPortRange({ first, last }: PortRange): boolean {
  return Number.isInteger(first) && Number.isInteger(last) && first >= 1024 && first <= last && last <= 65_535;
}

/** The kernel's ephemeral range, or null where it cannot be read (not Linux). */
export function ephemeralPorts(path = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange | null {
  try {
    const [first, last] = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
    return first !== undefined && last !== undefined && Number.isInteger(first) && Number.isInteger(last) ? { first, last } : null;
  } catch {
    return null;
  }
}

export const overlaps = (a: PortRange, b: PortRange): boolean => a.first <= b.last && b.first <= a.last;

export class PortsExhaustedError extends Error {
  readonly kind = 'ports-exhausted' as const;
  constructor(range: PortRange) {
    super(`no free port in ${range.first}-${range.last}`);
    this.name = 'PortsExhaustedError';
  }
}

export interface PortPoolOptions {
  range: PortRange;
  /** Where backends listen (the bind check uses it too). */
  host: string;
  /** Where in the range to begin (default: anywhere, so drones sharing a range rarely meet). */
  start?: number;
  /** Whether nobody listens on the port (default: bind it and close). */
  canBind?: (port: number, host: string) => Promise<boolean>;
}

export class PortPool {
  private readonly inUse = new Set<number>();
  private readonly size: number;
  private next: number;
  private readonly canBind: (port: number, host: string) => Promise<boolean>;

  constructor(private readonly opts: PortPoolOptions) {
    this.size = opts.range.last - opts.range.first + 1;
    this.next = (opts.start ?? Math.floor(Math.random() * this.size)) % this.size;
    this.canBind = opts.canBind ?? bindable;
  }

  /** A port for a backend, held until `release`. Rejects with `PortsExhaustedError`. */
  async take(): Promise<number> {
    for (let tried = 0; tried < this.size; tried++) {
      // Advanced before the bind check, so concurrent takes never check the same port.
      const port = this.opts.range.first + this.next;
      this.next = (this.next + 1) % this.size;
      if (this.inUse.has(port)) continue;
      this.inUse.add(port);
      if (await this.canBind(port, this.opts.host)) return port;
      this.inUse.delete(port);
    }
    throw new PortsExhaustedError(this.opts.range);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
