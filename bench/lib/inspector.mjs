// A forced full GC and the exact heap size of another Node process, through its inspector
// (`node --inspect=127.0.0.1:<port>`): the leak check of the idle-WebSocket part.
import WebSocket from 'ws';

export async function inspectorHeap(port, { gc = true } = {}) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const myId = ++id;
      const t = setTimeout(() => reject(new Error(`inspector ${method}: timeout`)), 30_000);
      pending.set(myId, (m) => {
        clearTimeout(t);
        if (m.error) reject(new Error(`inspector ${method}: ${m.error.message}`));
        else resolve(m.result);
      });
      ws.send(JSON.stringify({ id: myId, method, params }));
    });
  try {
    if (gc) {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
    }
    const u = await call('Runtime.getHeapUsage');
    return { usedSize: u.usedSize, totalSize: u.totalSize };
  } finally {
    ws.close();
  }
}
