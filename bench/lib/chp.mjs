// configurable-http-proxy 5.3.0 (bench/node_modules), one route added through its REST API.
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { start, waitPort } from './proc.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));

export function chpBin() {
  return path.join(path.dirname(require.resolve('configurable-http-proxy/package.json')), 'bin', 'configurable-http-proxy');
}
export function chpVersion() {
  try {
    return require('configurable-http-proxy/package.json').version;
  } catch {
    return 'not installed';
  }
}
export function chpInstalled() {
  try {
    require.resolve('configurable-http-proxy/package.json');
    return true;
  } catch {
    return false;
  }
}

async function api(apiPort, authToken, method, p, body) {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/routes${p}`, {
    method,
    headers: { authorization: `token ${authToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`CHP API ${method} ${p}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json().catch(() => null);
}

/**
 * `configurable-http-proxy --ip 127.0.0.1 --port P --api-ip 127.0.0.1 --api-port A --no-include-prefix
 *  --custom-header X-Verified-Username:alice`, then `POST /api/routes/<token>` → backend.
 */
export async function startChp({ port, apiPort, backendPort, token = 'tok123', logDir }) {
  const authToken = crypto.randomBytes(16).toString('hex');
  const handle = start(
    `chp-${port}`,
    process.execPath,
    [
      chpBin(),
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--api-ip', '127.0.0.1',
      '--api-port', String(apiPort),
      '--no-include-prefix',
      '--custom-header', 'X-Verified-Username:alice',
      '--custom-header', 'X-Verified-Path:/tok123/',
    ],
    { logDir, env: { CONFIGPROXY_AUTH_TOKEN: authToken } },
  );
  await waitPort(port, 15_000, handle);
  await waitPort(apiPort, 15_000, handle);
  await api(apiPort, authToken, 'POST', `/${token}`, { target: `http://127.0.0.1:${backendPort}` });
  return {
    handle,
    port,
    addRoute: (tok, target, extra) => api(apiPort, authToken, 'POST', `/${tok}`, { target, ...extra }),
    stop: () => handle.stop('SIGTERM', 3_000),
  };
}
