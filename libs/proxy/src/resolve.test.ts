import { describe, expect, it } from 'vitest';
import { hashToken } from '@jetplane/nats';
import { tokenHashOn } from './resolve.js';

const A = 'A'.repeat(43);
const B = 's.' + 'B'.repeat(43);

describe('tokenHashOn', () => {
  it('hashes each token the first time it is seen on a connection and remembers it', () => {
    const conn = {};
    expect(tokenHashOn(conn, A)).toBe(hashToken(A));
    expect(tokenHashOn(conn, A)).toBe(hashToken(A));
    expect(tokenHashOn(conn, B)).toBe(hashToken(B));
    expect(tokenHashOn(conn, A)).toBe(hashToken(A));
  });

  it('answers null for a malformed token and keeps the last good one', () => {
    const conn = {};
    tokenHashOn(conn, A);
    expect(tokenHashOn(conn, 'not-a-token')).toBeNull();
    expect(tokenHashOn(conn, A)).toBe(hashToken(A));
  });

  it('never shares what it remembers between connections', () => {
    const one = {};
    const two = {};
    tokenHashOn(one, A);
    expect(tokenHashOn(two, B)).toBe(hashToken(B));
    expect(tokenHashOn(one, A)).toBe(hashToken(A));
  });
});
