/** `jetplane_tokens`: route records keyed by token hash, plus a per-backend index for revocation. */
import type { KV } from '@nats-io/kv';
import { TokenKeys, type TokenRecord } from '@jetplane/protocol';
import { decodeJson, encodeJson } from './codec.js';
import { hashToken } from './token-hash.js';

const EMPTY = new Uint8Array(0);

export class TokenStore {
  constructor(readonly kv: KV) {}

  /**
   * Store a token's route and its index entry, in parallel: the token is handed out only once both
   * are stored, so a revocation (which walks the index) can never miss a token someone holds.
   * Resolves with the token's hash (its KV key, which events fingerprint).
   */
  async issue(token: string, record: TokenRecord): Promise<string> {
    const hash = hashToken(token);
    await Promise.all([
      this.kv.put(TokenKeys.byBackend(record.backend_id, hash), EMPTY),
      this.kv.put(TokenKeys.route(hash), encodeJson(record)),
    ]);
    return hash;
  }

  async getByHash(hash: string): Promise<TokenRecord | null> {
    const entry = await this.kv.get(TokenKeys.route(hash));
    if (!entry || entry.operation !== 'PUT') return null;
    return decodeJson<TokenRecord>(entry.value);
  }

  /** Delete every token of a backend; returns the hashes removed. Idempotent. */
  async revokeBackend(backendId: string): Promise<string[]> {
    const hashes: string[] = [];
    for await (const key of await this.kv.keys(TokenKeys.byBackendFilter(backendId))) {
      hashes.push(key.slice(key.lastIndexOf('.') + 1));
    }
    await Promise.all(hashes.map((h) => this.kv.delete(TokenKeys.route(h))));
    await Promise.all(hashes.map((h) => this.kv.delete(TokenKeys.byBackend(backendId, h))));
    return hashes;
  }
}
