/** Cluster names are the public host clients use (`c1.example.com`, `localhost:9090`). */

const HOST_RE = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const SUBDOMAIN_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export const CLUSTER_NAME_PATTERN = '^[a-zA-Z0-9.-]{1,253}(:[0-9]{1,5})?$';

export function isValidClusterName(cluster: string): boolean {
  const colon = cluster.indexOf(':');
  const host = colon === -1 ? cluster : cluster.slice(0, colon);
  if (!HOST_RE.test(host)) return false;
  if (colon === -1) return true;
  const port = cluster.slice(colon + 1);
  return /^[0-9]{1,5}$/.test(port) && Number(port) <= 65535;
}

export function isValidSubdomain(sub: string): boolean {
  return SUBDOMAIN_RE.test(sub);
}

/** Plane's rule: HTTPS when the cluster has no port or port 443. */
export function clusterIsHttps(cluster: string): boolean {
  const colon = cluster.indexOf(':');
  return colon === -1 || cluster.slice(colon + 1) === '443';
}

/** The URL a client uses for a token: `{proto}://[{sub}.]{cluster}/{token}/`. */
export function connectionUrl(cluster: string, token: string, subdomain?: string | null): string {
  const proto = clusterIsHttps(cluster) ? 'https' : 'http';
  const host = subdomain ? `${subdomain}.${cluster}` : cluster;
  return `${proto}://${host}/${token}/`;
}
