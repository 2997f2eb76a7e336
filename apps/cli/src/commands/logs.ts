/**
 * `jetplane logs BACKEND [-f]`: a backend's stdout/stderr from the controller
 * (`GET /ctrl[/c/:cluster]/b/:backend/logs`, SSE), also after the backend has ended. Human output
 * writes each line to the stream it came from (stdout/stderr), like `docker logs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { SseDecoder, errorFromResponse, JetPlaneClientError } from '@jetplane/client';
import type { BackendLogEntry } from '@jetplane/protocol';
import { DEFAULT_CONTROLLER } from '../api.js';
import { ExitCode, JetPlaneCommand, clientAction, clock, flag, printJson } from '../util.js';

export interface ReadLogsOptions {
  controller: string;
  backendId: string;
  cluster?: string | undefined;
  follow: boolean;
  onEntry(entry: BackendLogEntry): void;
  signal?: AbortSignal;
  /** Reconnects after a dropped connection (follow only; resumes with Last-Event-ID). */
  maxReconnects?: number;
}

/** The logs URL on `controller` (a base URL, trailing slash or not). */
export function logsUrl(controller: string, backendId: string, cluster: string | undefined, follow: boolean): string {
  const base = controller.replace(/\/+$/, '');
  const scope = cluster ? `c/${encodeURIComponent(cluster)}/` : '';
  return `${base}/ctrl/${scope}b/${encodeURIComponent(backendId)}/logs${follow ? '?follow=true' : ''}`;
}

/**
 * Read until the server ends the stream (its `end` event). A connection dropped while following is
 * reopened after the last line received; an error answer (404 unknown backend) is thrown as is.
 */
export async function readLogs(opts: ReadLogsOptions): Promise<void> {
  let lastSeq: number | undefined;
  let failures = 0;
  const maxReconnects = opts.maxReconnects ?? 5;
  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastSeq !== undefined) headers['last-event-id'] = String(lastSeq);
    let res: Response;
    try {
      res = await fetch(logsUrl(opts.controller, opts.backendId, opts.cluster, opts.follow), { headers, signal: opts.signal ?? null });
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (!opts.follow || ++failures > maxReconnects) {
        throw new JetPlaneClientError(0, undefined, `cannot reach the controller at ${opts.controller}: ${(err as Error).message}`, { cause: err });
      }
      await sleep(250 * 2 ** failures);
      continue;
    }
    if (res.status >= 300 || !res.body) throw errorFromResponse(res.status, await res.text().catch(() => ''));
    const decoder = new SseDecoder();
    let ended = false;
    try {
      for await (const chunk of res.body) {
        for (const event of decoder.push(chunk)) {
          if (event.event === 'end') ended = true;
          if (event.event !== 'message') continue;
          const entry = JSON.parse(event.data) as BackendLogEntry;
          lastSeq = entry.seq;
          failures = 0;
          opts.onEntry(entry);
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (!opts.follow) throw err;
    }
    if (ended || opts.signal?.aborted) return;
    if (!opts.follow || ++failures > maxReconnects) throw new JetPlaneClientError(0, undefined, 'the log stream ended unexpectedly');
    await sleep(250 * 2 ** failures);
  }
}

export function logsCommand(): Command {
  const cmd = new JetPlaneCommand('logs')
    .description("print a backend's output (stdout and stderr), also after it has ended")
    .argument('<backend>', 'backend id')
    .addOption(flag('--controller <url>', 'controller base URL').default(DEFAULT_CONTROLLER))
    .option('--cluster <name>', "the backend's cluster (optional)")
    .option('-f, --follow', 'keep printing new lines until the backend has terminated')
    .option('-t, --timestamps', 'prefix each line with the time the drone read it')
    .option('--json', 'one JSON object per line: {backend_id, stream, line, time, seq}');
  cmd.action(
    clientAction(async (backend: string, _opts: unknown, self: Command) => {
      const flags = self.opts<{ controller: string; cluster?: string; follow?: boolean; timestamps?: boolean; json?: boolean }>();
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await readLogs({
          controller: flags.controller,
          backendId: backend,
          cluster: flags.cluster,
          follow: Boolean(flags.follow),
          signal: abort.signal,
          onEntry: (entry) => {
            if (flags.json) return printJson(entry);
            const text = flags.timestamps ? `${clock(entry.time)} ${entry.line}` : entry.line;
            (entry.stream === 'stderr' ? process.stderr : process.stdout).write(`${text}\n`);
          },
        });
        return ExitCode.ok;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }),
  );
  return cmd;
}
