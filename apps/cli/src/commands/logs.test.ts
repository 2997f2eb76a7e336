import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendLogEntry } from '@jetplane/protocol';
import { JetPlaneClientError } from '@jetplane/client';
import { logsCommand, logsUrl, readLogs } from './logs.js';

const entry = (seq: number, line: string, stream: 'stdout' | 'stderr' = 'stdout'): BackendLogEntry => ({ backend_id: 'b1', stream, line, time: 1_000 + seq, seq });
const event = (e: BackendLogEntry): string => `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`;

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A controller stand-in: `handle` answers each request (in order). */
async function controller(handle: Array<(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>): Promise<{ url: string; requests: Array<{ url: string; lastEventId: string | undefined }> }> {
  const requests: Array<{ url: string; lastEventId: string | undefined }> = [];
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', lastEventId: req.headers['last-event-id'] as string | undefined });
    (handle[requests.length - 1] ?? handle.at(-1)!)(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/`, requests };
}

describe('jetplane logs', () => {
  it('builds the logs URL with or without the cluster', () => {
    expect(logsUrl('http://c:8080/', 'b1', undefined, false)).toBe('http://c:8080/ctrl/b/b1/logs');
    expect(logsUrl('http://c:8080', 'b1', 'localhost:9090', true)).toBe('http://c:8080/ctrl/c/localhost%3A9090/b/b1/logs?follow=true');
  });

  it('reads every line until the end event', async () => {
    const c = await controller([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`: keep-alive\n\n${event(entry(1, 'a'))}${event(entry(2, 'b', 'stderr'))}event: end\ndata: {}\n\n`);
      },
    ]);
    const got: BackendLogEntry[] = [];
    await readLogs({ controller: c.url, backendId: 'b1', follow: false, onEntry: (e) => void got.push(e) });
    expect(got).toEqual([entry(1, 'a'), entry(2, 'b', 'stderr')]);
    expect(c.requests[0]?.url).toBe('/ctrl/b/b1/logs');
  });

  it('when following, reconnects after a dropped stream and resumes after the last line', async () => {
    const c = await controller([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(event(entry(1, 'a'))); // dropped without an end event
      },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`${event(entry(2, 'b'))}event: end\ndata: {}\n\n`);
      },
    ]);
    const got: number[] = [];
    await readLogs({ controller: c.url, backendId: 'b1', follow: true, onEntry: (e) => void got.push(e.seq) });
    expect(got).toEqual([1, 2]);
    expect(c.requests.map((r) => [r.url, r.lastEventId])).toEqual([
      ['/ctrl/b/b1/logs?follow=true', undefined],
      ['/ctrl/b/b1/logs?follow=true', '1'],
    ]);
  });

  it("throws the controller's error (unknown backend)", async () => {
    const c = await controller([
      (_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'e1', kind: 'NotFound', message: 'Backend does not exist' }));
      },
    ]);
    const err = await readLogs({ controller: c.url, backendId: 'nope', follow: false, onEntry: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetPlaneClientError);
    expect((err as JetPlaneClientError).describe()).toBe('NotFound: Backend does not exist');
  });

  it('has the documented flags, each with a JETPLANE_ variable', () => {
    const cmd = logsCommand();
    expect(cmd.name()).toBe('logs');
    const flags = cmd.options.map((o) => [o.long, o.envVar]);
    expect(flags).toEqual(
      expect.arrayContaining([
        ['--controller', 'JETPLANE_CONTROLLER'],
        ['--follow', 'JETPLANE_FOLLOW'],
        ['--json', 'JETPLANE_JSON'],
        ['--cluster', 'JETPLANE_CLUSTER'],
      ]),
    );
  });
});
