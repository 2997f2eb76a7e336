import { describe, expect, it } from 'vitest';
import { SseDecoder, SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses id and data lines, dispatching on a blank line', () => {
    const p = new SseParser();
    const events = p.push('id: ready\ndata: {"status":"ready","time":1}\n\n');
    expect(events).toEqual([{ event: 'message', data: '{"status":"ready","time":1}', id: 'ready', retry: undefined }]);
    expect(p.lastEventId).toBe('ready');
  });

  it('joins several data lines with \\n and strips one leading space only', () => {
    const p = new SseParser();
    const [e] = p.push('data:a\ndata:  b\ndata\n\n');
    expect(e?.data).toBe('a\n b\n');
  });

  it('accepts \\r\\n and \\r line ends, even split across chunks', () => {
    const p = new SseParser();
    expect(p.push('id: 1\r')).toEqual([]);
    expect(p.push('\ndata: x\r')).toEqual([]);
    expect(p.push('\n\r')).toHaveLength(1);
    const more = p.push('\ndata: y\r\rdata: z\n\n');
    expect(more.map((e) => e.data)).toEqual(['y', 'z']);
  });

  it('handles arbitrary chunking', () => {
    const text = ': keep-alive\n\nid: a\nevent: status\ndata: {"status":"loading"}\n\nid: b\ndata: {"status":"ready"}\n\n';
    for (let size = 1; size <= text.length; size++) {
      const p = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...p.push(text.slice(i, i + size)));
      expect(events.map((e) => [e.id, e.event, e.data])).toEqual([
        ['a', 'status', '{"status":"loading"}'],
        ['b', 'message', '{"status":"ready"}'],
      ]);
    }
  });

  it('ignores comments, unknown fields and blocks without data; ids persist', () => {
    const p = new SseParser();
    const events = p.push(': hi\nfoo: bar\nid: 7\n\ndata: one\n\nretry: 1500\ndata: two\n\n');
    expect(events.map((e) => [e.id, e.data, e.retry])).toEqual([
      ['7', 'one', undefined],
      ['7', 'two', 1500],
    ]);
  });

  it('ignores an id containing NUL and an empty id resets it', () => {
    const p = new SseParser();
    p.push('id: x\0y\ndata: a\n\n');
    expect(p.lastEventId).toBeUndefined();
    p.push('id: 3\ndata: a\n\nid\ndata: b\n\n');
    expect(p.lastEventId).toBe('');
  });

  it('discards an unterminated event at the end of the stream', () => {
    const p = new SseParser();
    expect(p.push('data: partial')).toEqual([]);
    p.end();
    expect(p.push('\n\n')).toEqual([]);
  });
});

describe('SseDecoder', () => {
  it('decodes UTF-8 split inside a character and drops a leading BOM', () => {
    const bytes = new TextEncoder().encode('\ufeffdata: héllo ✓\n\n');
    const d = new SseDecoder();
    const events = [];
    for (const b of bytes) events.push(...d.push(new Uint8Array([b])));
    expect(events.map((e) => e.data)).toEqual(['héllo ✓']);
  });
});
