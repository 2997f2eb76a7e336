/**
 * Every token route the proxy knows, kept off the JS heap: a proxy holds 100,000s of them and uses few at
 * a time. As JS objects each cost ~500 B of heap (a route object, four strings, the key retaining the
 * whole NATS subject it was sliced from) and, being long-lived, they grow V8's young generation while
 * they load; here one costs ~53 B of fixed fields, its header values as latin1 bytes and ~8 B of index.
 * The route table materialises a Route object only for tokens in use.
 */
import { Buffer } from 'node:buffer';

/** The per-token values a request needs; every string is latin1 (header-safe by construction). */
export interface StoredRoute {
  backendId: string;
  user: string | null;
  userDataHeader: string;
  secret: string;
  static: boolean;
}

const DIGEST = 32;
const HASH_CHARS = 43; // base64url of 32 bytes, unpadded
// Per record, in `meta`: data offset, user length (NO_USER = null), user data length, secret length,
// (backend index + 1) << 1 | static. 0 in BACKEND marks a free record.
const STRIDE = 5;
const OFF = 0;
const USER = 1;
const DATA = 2;
const SECRET = 3;
const BACKEND = 4;
const NO_USER = 0xffffffff;
const EMPTY = 0;
const TOMBSTONE = 0xffffffff;
const MIN_SLOTS = 1024;
const MIN_RECORDS = 256;

export class RouteStore {
  private count = 0;
  /** Open addressing, linear probing on the digest's first word: record + 1, EMPTY or TOMBSTONE. */
  private slots = new Uint32Array(MIN_SLOTS);
  private tombstones = 0;
  /** Digests as 8 words per record (compared word by word). */
  private digests = new Uint32Array(MIN_RECORDS * (DIGEST / 4));
  private meta = new Uint32Array(MIN_RECORDS * STRIDE);
  private records = 0;
  private readonly freeRecords: number[] = [];
  /** user, user data and secret of each record back to back; replaced records leave garbage behind. */
  private bytes = Buffer.alloc(64 * 1024);
  private used = 0;
  private garbage = 0;
  /** Backend ids are shared by many tokens: each is stored once, reference-counted. */
  private readonly backendIds: string[] = [];
  private readonly backendRefs: number[] = [];
  private readonly backendIndex = new Map<string, number>();
  private readonly freeBackends: number[] = [];
  private readonly scratch = Buffer.alloc(DIGEST);
  private readonly scratchWords = new Uint32Array(this.scratch.buffer, this.scratch.byteOffset, DIGEST / 4);

  get size(): number {
    return this.count;
  }

  has(hash: string): boolean {
    return this.find(hash) !== -1;
  }

  get(hash: string): StoredRoute | undefined {
    const r = this.find(hash);
    if (r === -1) return undefined;
    const m = this.meta;
    const at = r * STRIDE;
    let off = m[at + OFF]!;
    const userLen = m[at + USER]!;
    let user: string | null = null;
    if (userLen !== NO_USER) {
      user = this.bytes.toString('latin1', off, off + userLen);
      off += userLen;
    }
    const userDataHeader = this.bytes.toString('latin1', off, (off += m[at + DATA]!));
    const secret = this.bytes.toString('latin1', off, off + m[at + SECRET]!);
    const backend = m[at + BACKEND]!;
    return { backendId: this.backendIds[(backend >>> 1) - 1]!, user, userDataHeader, secret, static: (backend & 1) === 1 };
  }

  /** Insert or replace. The key must be a token hash as the proxy computes it (SHA-256, base64url). */
  set(hash: string, route: StoredRoute): void {
    if (!this.decode(hash) || this.scratch.toString('base64url') !== hash) throw new Error('not a token hash');
    let r = this.find(hash);
    if (r === -1) {
      r = this.newRecord();
      this.digests.set(this.scratchWords, r * (DIGEST / 4));
      this.insertSlot(r);
      this.count++;
    } else {
      this.release(r);
      this.meta[r * STRIDE + BACKEND] = 0; // not live while rewritten: a compaction below skips it
    }
    const userLen = route.user === null ? 0 : route.user.length;
    const need = userLen + route.userDataHeader.length + route.secret.length;
    this.reserve(need);
    const at = r * STRIDE;
    const m = this.meta;
    m[at + OFF] = this.used;
    if (route.user !== null) this.used += this.bytes.write(route.user, this.used, 'latin1');
    this.used += this.bytes.write(route.userDataHeader, this.used, 'latin1');
    this.used += this.bytes.write(route.secret, this.used, 'latin1');
    m[at + USER] = route.user === null ? NO_USER : userLen;
    m[at + DATA] = route.userDataHeader.length;
    m[at + SECRET] = route.secret.length;
    m[at + BACKEND] = ((this.backendRef(route.backendId) + 1) << 1) | (route.static ? 1 : 0);
  }

  delete(hash: string): boolean {
    if (!this.decode(hash)) return false;
    const slot = this.findSlot();
    if (slot === -1) return false;
    const r = this.slots[slot]! - 1;
    this.slots[slot] = TOMBSTONE;
    this.tombstones++;
    this.count--;
    this.release(r);
    this.meta[r * STRIDE + BACKEND] = 0;
    this.freeRecords.push(r);
    return true;
  }

  /** The digest of `hash` into `scratch`; false when it cannot be a token hash. */
  private decode(hash: string): boolean {
    return hash.length === HASH_CHARS && this.scratch.write(hash, 0, DIGEST, 'base64url') === DIGEST;
  }

  private find(hash: string): number {
    if (!this.decode(hash)) return -1;
    const slot = this.findSlot();
    return slot === -1 ? -1 : this.slots[slot]! - 1;
  }

  /** The slot holding the digest in `scratch`, or -1. */
  private findSlot(): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const key = this.scratchWords;
    const d = this.digests;
    for (let i = key[0]! & mask; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === EMPTY) return -1;
      if (v === TOMBSTONE) continue;
      const at = (v - 1) * (DIGEST / 4);
      if (d[at] === key[0] && d[at + 1] === key[1] && d[at + 2] === key[2] && d[at + 3] === key[3] && d[at + 4] === key[4] && d[at + 5] === key[5] && d[at + 6] === key[6] && d[at + 7] === key[7]) {
        return i;
      }
    }
  }

  private insertSlot(r: number): void {
    // Keep the table at most half full (tombstones count: they lengthen probes too).
    if ((this.count + this.tombstones + 1) * 2 > this.slots.length) this.rehash();
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.digests[r * (DIGEST / 4)]! & mask;
    while (slots[i] !== EMPTY && slots[i] !== TOMBSTONE) i = (i + 1) & mask;
    if (slots[i] === TOMBSTONE) this.tombstones--;
    slots[i] = r + 1;
  }

  private rehash(): void {
    let size = MIN_SLOTS;
    while (size < (this.count + 1) * 2) size *= 2;
    const old = this.slots;
    this.slots = new Uint32Array(size);
    this.tombstones = 0;
    const mask = size - 1;
    for (const v of old) {
      if (v === EMPTY || v === TOMBSTONE) continue;
      let i = this.digests[(v - 1) * (DIGEST / 4)]! & mask;
      while (this.slots[i] !== EMPTY) i = (i + 1) & mask;
      this.slots[i] = v;
    }
  }

  private newRecord(): number {
    const reused = this.freeRecords.pop();
    if (reused !== undefined) return reused;
    if (this.records * STRIDE === this.meta.length) {
      const meta = new Uint32Array(this.meta.length * 2);
      meta.set(this.meta);
      this.meta = meta;
      const digests = new Uint32Array(this.digests.length * 2);
      digests.set(this.digests);
      this.digests = digests;
    }
    return this.records++;
  }

  /** Forget a record's bytes and backend reference (before it is rewritten or freed). */
  private release(r: number): void {
    const at = r * STRIDE;
    const m = this.meta;
    const userLen = m[at + USER]!;
    this.garbage += (userLen === NO_USER ? 0 : userLen) + m[at + DATA]! + m[at + SECRET]!;
    const b = (m[at + BACKEND]! >>> 1) - 1;
    if (--this.backendRefs[b]! === 0) {
      this.backendIndex.delete(this.backendIds[b]!);
      this.backendIds[b] = '';
      this.freeBackends.push(b);
    }
  }

  private backendRef(id: string): number {
    let b = this.backendIndex.get(id);
    if (b === undefined) {
      b = this.freeBackends.pop() ?? this.backendIds.length;
      this.backendIds[b] = id;
      this.backendRefs[b] = 0;
      this.backendIndex.set(id, b);
    }
    this.backendRefs[b]!++;
    return b;
  }

  /** Room for `need` more bytes: compact when garbage dominates, otherwise grow. */
  private reserve(need: number): void {
    if (this.used + need <= this.bytes.length) return;
    const live = this.used - this.garbage;
    let size = this.bytes.length;
    while (size < (live + need) * 2) size *= 2;
    const next = Buffer.alloc(size);
    let used = 0;
    const m = this.meta;
    for (let r = 0; r < this.records; r++) {
      const at = r * STRIDE;
      if (m[at + BACKEND] === 0) continue;
      const userLen = m[at + USER]!;
      const len = (userLen === NO_USER ? 0 : userLen) + m[at + DATA]! + m[at + SECRET]!;
      this.bytes.copy(next, used, m[at + OFF]!, m[at + OFF]! + len);
      m[at + OFF] = used;
      used += len;
    }
    this.bytes = next;
    this.used = used;
    this.garbage = 0;
  }
}
