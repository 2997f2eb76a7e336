import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '@jetplane/protocol';
import { hashToken } from '@jetplane/nats';
import { RouteTable } from './route-table.js';

const CLUSTER = 'localhost:9090';
const HASH = hashToken('L'.repeat(43));
const record: TokenRecord = { backend_id: 'b1', cluster: CLUSTER, user: null, auth: {}, secret_token: 's', static: false, issued_at: 1 };

describe('RouteTable miss path on a lagging replica', () => {
  it('a token KV did not know on the first read but knows on the second is routed, not answered 404', async () => {
    let reads = 0;
    const table = new RouteTable({
      cluster: CLUSTER,
      missGraceMs: 20,
      fetcher: {
        getToken: async () => (++reads === 1 ? null : record),
        getBackend: async () => null,
      },
    });
    expect(await table.fetchRoute(HASH)).toMatchObject({ backendId: 'b1' });
    expect(reads).toBe(2);
    table.close();
  });

  it('a token unknown on both reads is remembered as unknown', async () => {
    let reads = 0;
    const table = new RouteTable({ cluster: CLUSTER, missGraceMs: 20, fetcher: { getToken: async () => (reads++, null), getBackend: async () => null } });
    expect(await table.fetchRoute(HASH)).toBeNull();
    expect(await table.fetchRoute(HASH)).toBeNull();
    expect(reads).toBe(2);
    table.close();
  });
});
