/** The proxy's node:http server: request and upgrade listeners over one shared context. */
import { createServer, type Server } from 'node:http';
import type { ProxyContext } from './context.js';
import { createRequestHandler } from './http-forward.js';
import { createUpgradeHandler } from './ws-tunnel.js';

export function createProxyServer(ctx: ProxyContext): Server {
  const server = createServer(createRequestHandler(ctx));
  server.on('upgrade', createUpgradeHandler(ctx));
  // Longer than the usual 60 s idle timeout of load balancers in front, so they close first.
  server.keepAliveTimeout = 65_000;
  // Bounds how slowly a client may send its headers (slowloris); must exceed keepAliveTimeout.
  server.headersTimeout = 66_000;
  // No cap on a whole request: uploads and long-polls to a session backend may legitimately take long.
  server.requestTimeout = 0;
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
