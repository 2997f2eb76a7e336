import { describe, it, expect } from 'vitest';
import type { BackendState } from '@jetplane/protocol';
import type { KvEntry } from '@jetplane/nats';
import { formatSseEvent, parseLastEventId, StatusDeduper, streamStatus, SSE_KEEPALIVE, type SseSink } from './status-stream.js';

function entry(state: BackendState, operation: KvEntry['operation'] = 'PUT'): KvEntry {
  const value = new TextEncoder().encode(JSON.stringify({ id: 'b1', state }));
  return { bucket: 'b', key: 'b1', value, created: new Date(), revision: 1, operation, length: value.length, rawKey: 'b1' } as KvEntry;
}

/** A watch fed by the test: push entries, then it waits for more until stopped. */
function fakeWatch() {
  const queue: KvEntry[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  const watch = {
    stopped: () => stopped,
    push(...entries: KvEntry[]) {
      queue.push(...entries);
      wake?.();
    },
    stop() {
      stopped = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (stopped) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  return watch;
}

function fakeSink() {
  const chunks: string[] = [];
  let ended = false;
  let onClose: (() => void) | undefined;
  const sink: SseSink = {
    write: (c) => void chunks.push(c),
    end: () => void (ended = true),
    onClose: (cb) => void (onClose = cb),
  };
  return { sink, chunks, ended: () => ended, disconnect: () => onClose?.() };
}

const s = (status: BackendState['status'], time: number): BackendState => ({ status, time });

describe('SSE formatting', () => {
  it('uses the status name as the event id', () => {
    expect(formatSseEvent({ status: 'ready', time: 12 })).toBe('id: ready\ndata: {"status":"ready","time":12}\n\n');
  });

  it('parses Last-Event-ID only when it is a status name', () => {
    expect(parseLastEventId('ready')).toBe('ready');
    expect(parseLastEventId([' waiting '])).toBe('waiting');
    expect(parseLastEventId('42')).toBeUndefined();
    expect(parseLastEventId(undefined)).toBeUndefined();
  });
});

describe('StatusDeduper', () => {
  it('passes only statuses strictly above the last one', () => {
    const d = new StatusDeduper();
    expect(['scheduled', 'scheduled', 'loading', 'scheduled', 'ready', 'waiting', 'terminated'].map((x) => d.accept(x as never))).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      true,
    ]);
  });

  it('starts above Last-Event-ID', () => {
    const d = new StatusDeduper('ready');
    expect(d.accept('ready')).toBe(false);
    expect(d.accept('terminating')).toBe(true);
  });
});

describe('streamStatus', () => {
  it('replays, drops duplicates, and ends after terminated', async () => {
    const watch = fakeWatch();
    const { sink, chunks, ended } = fakeSink();
    watch.push(entry(s('scheduled', 1)), entry(s('loading', 2)), entry(s('loading', 2)), entry(s('ready', 3)));
    const done = streamStatus({ watch, sink });
    await new Promise((r) => setTimeout(r, 10));
    expect(chunks.map((c) => c.split('\n')[0])).toEqual(['id: scheduled', 'id: loading', 'id: ready']);
    expect(ended()).toBe(false);
    watch.push(entry({ status: 'terminated', time: 4, termination_reason: 'exit', exit_code: 0 }));
    await done;
    expect(chunks.at(-1)).toBe(
      'id: terminated\ndata: {"status":"terminated","time":4,"termination_reason":"exit","exit_error":false,"exit_code":0}\n\n',
    );
    expect(ended()).toBe(true);
    expect(watch.stopped()).toBe(true);
  });

  it('resumes after Last-Event-ID without duplicates', async () => {
    const watch = fakeWatch();
    const { sink, chunks } = fakeSink();
    watch.push(entry(s('scheduled', 1)), entry(s('ready', 3)), entry(s('terminating', 4)), entry(s('terminated', 5)));
    await streamStatus({ watch, sink, lastEventId: 'ready' });
    expect(chunks.map((c) => c.split('\n')[0])).toEqual(['id: terminating', 'id: terminated']);
  });

  it('stops the watch when the client goes away', async () => {
    const watch = fakeWatch();
    const { sink, ended, disconnect } = fakeSink();
    watch.push(entry(s('scheduled', 1)));
    const done = streamStatus({ watch, sink });
    await new Promise((r) => setTimeout(r, 5));
    disconnect();
    await done;
    expect(watch.stopped()).toBe(true);
    expect(ended()).toBe(false); // nothing to end: the client is gone
  });

  it('sends keep-alive comments', async () => {
    const watch = fakeWatch();
    const { sink, chunks } = fakeSink();
    const done = streamStatus({ watch, sink, keepAliveMs: 5 });
    await new Promise((r) => setTimeout(r, 30));
    watch.stop();
    await done;
    expect(chunks).toContain(SSE_KEEPALIVE);
  });

  it('ends when the record is deleted', async () => {
    const watch = fakeWatch();
    const { sink, ended } = fakeSink();
    watch.push(entry(s('scheduled', 1)), entry(s('scheduled', 1), 'DEL'));
    await streamStatus({ watch, sink });
    expect(ended()).toBe(true);
  });
});
