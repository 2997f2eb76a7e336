#!/usr/bin/env node
// Cheap "live backends" for the control-plane scale check: thousands of real process backends with
// a few hundred KB each. The executable is
//   bash -c 'exec 3<>/dev/tcp/127.0.0.1/<ctl>; echo $PORT >&3; read -r ok <&3; exec 3>&-; exec sleep 86400'
// i.e. the backend asks this one server to answer HTTP on its $PORT, then becomes `sleep`. The drone
// sees a real process, probes a real HTTP port and walks it to `ready`; this process holds the listeners.
//   node port-server.mjs --port CTL
import http from 'node:http';
import net from 'node:net';

const i = process.argv.indexOf('--port');
const ctlPort = Number(process.argv[i + 1]);
const servers = new Map();

function handler(_req, res) {
  res.writeHead(200, { 'content-length': 2, 'content-type': 'text/plain' });
  res.end('ok');
}

const ctl = net.createServer((sock) => {
  let buf = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl === -1) return;
    const port = Number(buf.slice(0, nl).trim());
    const srv = http.createServer(handler);
    srv.keepAliveTimeout = 1000;
    srv.on('error', (e) => sock.end(`error ${e.code}\n`));
    srv.listen(port, '127.0.0.1', () => {
      servers.set(port, srv);
      sock.end('ok\n');
    });
  });
  sock.on('error', () => {});
});
ctl.listen(ctlPort, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ msg: 'ready', port: ctlPort })}\n`));

setInterval(() => process.stdout.write(`${JSON.stringify({ msg: 'listeners', n: servers.size })}\n`), 10_000).unref();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
