/**
 * Coalesced activity reports for the drones' idle sweeps: every `intervalMs`, one core-NATS message per
 * drone on `jetplane.activity.<drone>` listing the backends used since the previous report (never a
 * message per request). Fire-and-forget: a lost report only makes a drone see activity a bit later,
 * and an open connection is repeated in every report while it stays open.
 */
import { Subjects, type ActivityReport } from '@jetplane/protocol';
import { encodeJson, type NatsConnection } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import type { RouteTable } from './route-table.js';

/** Backends per message (keeps a message far below NATS's default 1 MB payload limit). */
export const MAX_BACKENDS_PER_REPORT = 2_000;

export interface ActivityReporterOptions {
  nc: Pick<NatsConnection, 'publish' | 'isClosed'>;
  table: Pick<RouteTable, 'collectActivity'>;
  /** This proxy's name. */
  proxy: string;
  intervalMs: number;
  log: Logger;
}

/** Publish one round of reports now (exported for tests); returns the number of messages sent. */
export function publishActivity(opts: ActivityReporterOptions): number {
  if (opts.nc.isClosed()) return 0;
  let sent = 0;
  for (const [drone, backends] of opts.table.collectActivity()) {
    for (let i = 0; i < backends.length; i += MAX_BACKENDS_PER_REPORT) {
      const report: ActivityReport = { proxy: opts.proxy, interval_ms: opts.intervalMs, backends: backends.slice(i, i + MAX_BACKENDS_PER_REPORT) };
      try {
        opts.nc.publish(Subjects.activity(drone), encodeJson(report));
        sent++;
      } catch (err) {
        opts.log.debug({ err, drone }, 'activity report not sent');
      }
    }
  }
  return sent;
}

export function startActivityReporter(opts: ActivityReporterOptions): { stop(): void } {
  const timer = setInterval(() => publishActivity(opts), opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
