/** Following a backend's statuses until it reaches a target, printing each one. */
import type { ControlApi } from '@jetplane/client';
import { statusRank, type BackendStatus, type StatusEntry } from '@jetplane/protocol';
import { clock, printJson, println } from './util.js';

/** `terminated (reason external, soft, exit code 0)`. */
export function describeStatus(entry: StatusEntry): string {
  const details: string[] = [];
  if (entry.termination_reason) details.push(`reason ${entry.termination_reason}`);
  if (entry.termination_kind) details.push(entry.termination_kind);
  if (entry.exit_code !== undefined && entry.exit_code !== null) details.push(`exit code ${entry.exit_code}`);
  const message = (entry as { message?: unknown }).message;
  if (typeof message === 'string' && message) details.push(message);
  return details.length ? `${entry.status} (${details.join(', ')})` : entry.status;
}

export function printStatus(backendId: string, entry: StatusEntry, json: boolean): void {
  if (json) printJson({ backend_id: backendId, ...entry });
  else println(`Status: ${describeStatus(entry)} at ${clock(entry.time)}`);
}

/**
 * Print statuses from the stream (those at or past `from`, when given) until one at or past `target`;
 * returns the last one (undefined if the stream ended first).
 */
export async function followUntil(
  api: ControlApi,
  backendId: string,
  target: BackendStatus,
  opts: { cluster?: string | null; json: boolean; from?: BackendStatus },
): Promise<StatusEntry | undefined> {
  let last: StatusEntry | undefined;
  for await (const entry of api.statusStream(backendId, { cluster: opts.cluster ?? null })) {
    last = entry;
    if (!opts.from || statusRank(entry.status) >= statusRank(opts.from)) printStatus(backendId, entry, opts.json);
    if (statusRank(entry.status) >= statusRank(target)) break;
  }
  return last;
}
