/** A loopback port nobody listens on right now. */
import { createServer } from 'node:net';

/**
 * Bind port 0 and release it. Another process could take the port before the backend binds it;
 * the readiness probe then fails and the backend ends `startuptimeout`, which is the accepted risk.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
