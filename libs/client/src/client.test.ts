import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JetPlaneClient } from './client.js';
import { JetPlaneClientError } from './errors.js';

let server: Server | undefined;
let client: JetPlaneClient | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

const sse = (id: string, status: string, time = 1): string => `id: ${id}\ndata: ${JSON.stringify({ status, time })}\n\n`;

describe('JetPlaneClient', () => {
  it('turns an error body into a JetPlaneClientError', async () => {
    const url = await serve((req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'abc', kind: 'KeyHeld', message: 'Lock is held but tag does not match.' }));
    });
    client = new JetPlaneClient(url);
    const err = await client.connect({ key: { name: 'k' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetPlaneClientError);
    const e = err as JetPlaneClientError;
    expect([e.status, e.kind, e.id, e.describe()]).toEqual([409, 'KeyHeld', 'abc', 'KeyHeld: Lock is held but tag does not match.']);
  });

  it('reports an unreachable controller as Unavailable with status 0', async () => {
    const url = await serve(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    client = new JetPlaneClient(url);
    const err = (await client.status('b1').catch((e: unknown) => e)) as JetPlaneClientError;
    expect(err).toBeInstanceOf(JetPlaneClientError);
    expect([err.status, err.kind]).toEqual([0, 'Unavailable']);
  });

  it('uses Plane routes, with and without the cluster segment, and an empty terminate body', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body.length}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.url?.includes('drain')) res.end('{"updated":true}');
        else if (req.url?.startsWith('/ctrl/drones')) res.end('[]');
        else res.end('null');
      });
    });
    client = new JetPlaneClient(url + '/');
    await client.softTerminate('localhost:9090', 'b1');
    await client.hardTerminate(undefined, 'b1');
    expect(await client.drain('c1', 'dr-1')).toEqual({ updated: true });
    expect(await client.listDrones({ cluster: 'c1', pool: undefined })).toEqual([]);
    expect(seen).toEqual([
      'POST /ctrl/c/localhost%3A9090/b/b1/soft-terminate - 0',
      'POST /ctrl/b/b1/hard-terminate - 0',
      'POST /ctrl/c/c1/d/dr-1/drain - 0',
      'GET /ctrl/drones?cluster=c1 - 0',
    ]);
  });

  it('streams statuses, reconnects with Last-Event-ID after a drop, skips repeats, ends after terminated', async () => {
    const lastIds: Array<string | undefined> = [];
    let n = 0;
    const url = await serve((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      n++;
      if (n === 1) {
        res.write(': keep-alive\n\n' + sse('scheduled', 'scheduled') + sse('loading', 'loading'));
        setTimeout(() => res.destroy(), 20); // network drop
      } else if (n === 2) {
        res.end(sse('scheduled', 'scheduled') + sse('loading', 'loading') + sse('ready', 'ready'));
      } else {
        res.write(sse('terminating', 'terminating') + sse('terminated', 'terminated'));
        // never ends by itself (Plane's behaviour): the client must stop after terminated
      }
    });
    client = new JetPlaneClient({ controller: url, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const statuses: string[] = [];
    for await (const entry of client.statusStream('b1', { cluster: 'c1' })) statuses.push(entry.status);
    expect(statuses).toEqual(['scheduled', 'loading', 'ready', 'terminating', 'terminated']);
    expect(lastIds).toEqual([undefined, 'loading', 'ready']);
  });

  it('does not retry a 404 on the status stream', async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls++;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', kind: 'NotFound', message: 'Backend does not exist' }));
    });
    client = new JetPlaneClient(url);
    const iter = client.statusStream('nope');
    const err = (await iter.next().catch((e: unknown) => e)) as JetPlaneClientError;
    expect(err.kind).toBe('NotFound');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts when the controller stays down', async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls++;
      res.writeHead(503);
      res.end('down');
    });
    client = new JetPlaneClient({ controller: url, reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } });
    const err = (await client.statusStream('b').next().catch((e: unknown) => e)) as JetPlaneClientError;
    expect(err.status).toBe(503);
    expect(calls).toBe(4);
  });

  it('stops quietly when the signal is aborted', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('ready', 'ready'));
    });
    client = new JetPlaneClient(url);
    const ac = new AbortController();
    const statuses: string[] = [];
    for await (const entry of client.statusStream('b1', { signal: ac.signal })) {
      statuses.push(entry.status);
      ac.abort();
    }
    expect(statuses).toEqual(['ready']);
  });
});
