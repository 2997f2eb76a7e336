import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type BackendLogEntry } from '@jetplane/protocol';
import { createLogger } from '@jetplane/observability';
import type { KV } from '@jetplane/nats';
import { buildHttpServer, type HttpServer } from './http-server.js';
import { openLogFeed, parseAfterSeq, parseFollow, type LogFeed, type LogFeedDeps } from './logs.js';
import { createControllerMetrics } from './metrics.js';
import type { ControllerApi } from './service.js';

/** An async iterable fed by the test, ended by `stop()` (like a NATS consumer). */
class Queue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  stopped = false;
  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift() as T;
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

const line = (seq: number, text = `line ${seq}`): BackendLogEntry => ({ backend_id: 'b1', stream: 'stdout', line: text, time: seq, seq });

function deps(stored: BackendLogEntry[]) {
  const cursor = new Queue<BackendLogEntry>();
  const watch = new Queue<{ operation: string; value: Uint8Array }>();
  let opened: number | undefined;
  const all = [...stored];
  const d: LogFeedDeps = {
    reader: {
      lastSeq: async () => all.at(-1)?.seq ?? 0,
      open: async (_id, after = 0) => {
        opened = after;
        for (const l of all.filter((x) => x.seq > after)) cursor.push(l);
        return cursor;
      },
    },
    backends: { kv: { watch: async () => watch } as unknown as KV },
  };
  const add = (l: BackendLogEntry): void => {
    all.push(l);
    cursor.push(l);
  };
  const record = (status: string): void => watch.push({ operation: 'PUT', value: new TextEncoder().encode(JSON.stringify({ state: { status } })) });
  return { d, add, record, openedAfter: () => opened };
}

async function collect(feed: LogFeed): Promise<number[]> {
  const seqs: number[] = [];
  for await (const e of feed) seqs.push(e.seq);
  return seqs;
}

describe('openLogFeed', () => {
  it('without follow: the lines stored now, then the end (later lines are not waited for)', async () => {
    const { d, add } = deps([line(1), line(2)]);
    const feed = await openLogFeed(d, 'b1', { follow: false, afterSeq: 0 });
    const seqs = collect(feed);
    add(line(3));
    expect(await seqs).toEqual([1, 2]);
  });

  it('resumes after a sequence, and is empty when nothing is newer', async () => {
    const { d, openedAfter } = deps([line(1), line(2), line(3)]);
    expect(await collect(await openLogFeed(d, 'b1', { follow: false, afterSeq: 1 }))).toEqual([2, 3]);
    expect(openedAfter()).toBe(1);
    expect(await collect(await openLogFeed(deps([line(1)]).d, 'b1', { follow: false, afterSeq: 1 }))).toEqual([]);
  });

  it('with follow: new lines keep coming until the backend is terminated and its last line was sent', async () => {
    const { d, add, record } = deps([line(1)]);
    const feed = await openLogFeed(d, 'b1', { follow: true, afterSeq: 0 });
    const seqs = collect(feed);
    record('ready');
    add(line(2));
    add(line(3));
    record('terminated');
    expect(await seqs).toEqual([1, 2, 3]);
  });

  it('with follow on a terminated backend: everything stored, then the end', async () => {
    const { d, record } = deps([line(1), line(2)]);
    record('terminated');
    expect(await collect(await openLogFeed(d, 'b1', { follow: true, afterSeq: 0 }))).toEqual([1, 2]);
  });
});

describe('log request parsing', () => {
  it('reads follow and Last-Event-ID', () => {
    expect(['', 'true', '1', 'YES'].map(parseFollow)).toEqual([true, true, true, true]);
    expect([undefined, 'false', '0'].map(parseFollow)).toEqual([false, false, false]);
    expect(parseAfterSeq('42')).toBe(42);
    expect(parseAfterSeq(['7'])).toBe(7);
    expect(parseAfterSeq('ready')).toBe(0);
    expect(parseAfterSeq(undefined)).toBe(0);
  });
});

describe('GET /ctrl/b/:backend/logs', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function start(logs: ControllerApi['logs']) {
    const api = { logs } as unknown as ControllerApi;
    server = buildHttpServer({ api, metrics: createControllerMetrics(), log: createLogger({ component: 'test', level: 'silent' }) });
    return server.app;
  }

  it('streams each line as an SSE event with its sequence as id, then an end event', async () => {
    const calls: unknown[] = [];
    const app = start(async (id, cluster, opts) => {
      calls.push({ id, cluster, opts });
      const q = new Queue<BackendLogEntry>();
      q.push(line(4, 'hello'));
      q.push({ ...line(5, 'oops'), stream: 'stderr' });
      q.stop();
      return q;
    });
    const res = await app.inject({ method: 'GET', url: '/ctrl/c/localhost:9090/b/b1/logs?follow=true', headers: { 'last-event-id': '3' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(calls).toEqual([{ id: 'b1', cluster: 'localhost:9090', opts: { follow: true, afterSeq: 3 } }]);
    expect(res.body).toBe(
      `id: 4\ndata: ${JSON.stringify(line(4, 'hello'))}\n\n` +
        `id: 5\ndata: ${JSON.stringify({ ...line(5, 'oops'), stream: 'stderr' })}\n\n` +
        'event: end\ndata: {}\n\n',
    );
  });

  it('answers 404 for an unknown backend before streaming', async () => {
    const app = start(async () => {
      throw new ApiError('NotFound', 'Backend does not exist');
    });
    const res = await app.inject({ method: 'GET', url: '/ctrl/b/nope/logs' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ kind: 'NotFound', message: 'Backend does not exist' });
  });
});
