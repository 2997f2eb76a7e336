/** Unit tests of the harness pieces that do not need NATS: SSE parsing, process control, waiting. */
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { openSse } from './http.js';
import { spawnManaged, stopAllProcesses } from './processes.js';
import { isAlive } from './proc-tree.js';
import { StopWaiting, waitFor } from './wait.js';

const servers: Server[] = [];

afterAll(async () => {
  for (const s of servers) s.close();
  await stopAllProcesses(1_000);
});

function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

describe('openSse', () => {
  it('parses ids, multi-line data, comments and CRLF, and sees the end of the stream', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      res.write('id: one\ndata: {"a":1}\n\n');
      res.write('id: two\r\ndata: line1\r\ndata: line2\r\n\r\n');
      res.write('event: custom\ndata:x\n');
      setTimeout(() => res.end('\n'), 20);
    });
    const sse = await openSse(`${url}/s`);
    await sse.waitForEnd(2_000);
    expect(sse.status).toBe(200);
    expect(sse.events).toEqual([
      { id: 'one', event: 'message', data: '{"a":1}' },
      { id: 'two', event: 'message', data: 'line1\nline2' },
      { id: undefined, event: 'custom', data: 'x' },
    ]);
  });

  it('keeps the body of a non-2xx answer', async () => {
    const url = await serve((req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"kind":"NotFound"}');
    });
    const sse = await openSse(url);
    await sse.waitForEnd(2_000);
    expect(sse.status).toBe(404);
    expect(JSON.parse(sse.body)).toEqual({ kind: 'NotFound' });
    await expect(sse.waitFor(() => true, 100)).rejects.toThrow(/ended/);
  });
});

describe('ManagedProcess', () => {
  it('captures JSON lines, waits for a log line, and reports the exit', async () => {
    const p = spawnManaged('json-printer', process.execPath, ['-e', 'console.log(JSON.stringify({msg:"ready",url:"http://x"})); console.error("oops")']);
    const line = await p.waitForLog((l) => l.json?.msg === 'ready', 5_000);
    expect(line.json?.url).toBe('http://x');
    expect(await p.waitForExit(5_000)).toEqual({ code: 0, signal: null });
    expect(p.findLogs((l) => l.stream === 'stderr').map((l) => l.raw)).toEqual(['oops']);
  });

  it('rejects a log wait when the process exits first, with its output', async () => {
    const p = spawnManaged('quitter', process.execPath, ['-e', 'console.log("bye"); process.exit(3)']);
    await expect(p.waitForLog((l) => l.raw === 'never', 5_000)).rejects.toThrow(/code 3[\s\S]*bye/);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored, and kills leftover children', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      process.on('SIGTERM', () => {});
      console.log('child ' + child.pid);
      setInterval(() => {}, 1000);`;
    const p = spawnManaged('stubborn', process.execPath, ['-e', script]);
    await p.waitForLog((l) => l.raw.startsWith('child '), 5_000);
    const kids = await waitFor(() => (p.descendants().length > 0 ? p.descendants() : undefined), { timeoutMs: 5_000 });
    const started = Date.now();
    const exit = await p.stop(500);
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(() => kids.every((k) => !isAlive(k)) || undefined, { timeoutMs: 5_000, description: 'leftover child killed' });
  });
});

describe('waitFor', () => {
  it('polls until a value, and StopWaiting ends it at once', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1, timeoutMs: 1_000 })).toBe(3);
    const started = Date.now();
    await expect(
      waitFor(
        () => {
          throw new StopWaiting('no chance');
        },
        { timeoutMs: 5_000 },
      ),
    ).rejects.toThrow('no chance');
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(waitFor(() => undefined, { timeoutMs: 50, intervalMs: 10, description: 'never' })).rejects.toThrow(/timed out after 50 ms waiting for never/);
  });
});
