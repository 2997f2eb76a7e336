import { describe, expect, it } from 'vitest';
import { buildUpstreamHeaders, connectionHasUpgrade, filterResponseHeaders, HAS_BODY, isVerifiedHeader, type VerifiedIdentity } from './header-policy.js';

const ID: VerifiedIdentity = { user: 'alice', userDataHeader: '{"role":"admin"}', secret: 'sekret', backendId: 'b1' };
const TOKEN = 'tok';

function build(raw: string[], opts: { id?: VerifiedIdentity; ip?: string | undefined; upgrade?: boolean } = {}): { headers: [string, string][]; flags: number } {
  const out: string[] = [];
  const flags = buildUpstreamHeaders(raw, opts.id ?? ID, TOKEN, 'ip' in opts ? opts.ip : '10.0.0.9', opts.upgrade ?? false, out);
  const headers: [string, string][] = [];
  for (let i = 0; i < out.length; i += 2) headers.push([out[i]!, out[i + 1]!]);
  return { headers, flags };
}

const values = (headers: [string, string][], name: string): string[] =>
  headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
const names = (headers: [string, string][]): string[] => headers.map(([n]) => n.toLowerCase());

describe('buildUpstreamHeaders', () => {
  const dropped: Array<[string, string[]]> = [
    ['x-verified-* in any case', ['X-Verified-Username', 'mallory', 'x-VERIFIED-secret', 'x', 'X-VERIFIED-', 'y']],
    ['hop-by-hop', ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'X', 'Proxy-Connection', 'keep-alive']],
    ['upgrade on a plain request', ['Upgrade', 'websocket']],
    ['proxy credentials and expect', ['Proxy-Authorization', 'Basic x', 'Expect', '100-continue']],
    ['transfer-encoding (re-framed upstream)', ['Transfer-Encoding', 'chunked']],
    ['names listed in Connection', ['Connection', 'close, X-Hop, foo', 'X-Hop', '1', 'Foo', '2']],
  ];
  it.each(dropped)('drops %s', (_, raw) => {
    const { headers } = build(['Host', 'example.com', ...raw, 'Accept', '*/*']);
    const got = names(headers);
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      // Our own x-verified-* headers are expected; the inbound values must be gone.
      if (name.startsWith('x-verified-')) expect(values(headers, name)).not.toContain(raw[i + 1]);
      else expect(got).not.toContain(name);
    }
    expect(values(headers, 'host')).toEqual(['example.com']);
    expect(values(headers, 'accept')).toEqual(['*/*']);
  });

  it('sets the verified identity, once each, after removing spoofed values', () => {
    const { headers } = build(['x-verified-username', 'mallory', 'X-Verified-User-Data', '{}', 'X-Verified-Path', '/x/']);
    expect(values(headers, 'x-verified-username')).toEqual(['alice']);
    expect(values(headers, 'x-verified-user-data')).toEqual(['{"role":"admin"}']);
    expect(values(headers, 'x-verified-secret')).toEqual(['sekret']);
    expect(values(headers, 'x-verified-backend')).toEqual(['b1']);
    expect(values(headers, 'x-verified-path')).toEqual(['/tok/']);
  });

  it('omits x-verified-username when the user is null (static tokens: data null, secret empty)', () => {
    const { headers } = build([], { id: { user: null, userDataHeader: 'null', secret: '', backendId: 'b2' } });
    expect(names(headers)).not.toContain('x-verified-username');
    expect(values(headers, 'x-verified-user-data')).toEqual(['null']);
    expect(values(headers, 'x-verified-secret')).toEqual(['']);
  });

  const forwarded: Array<[string, string[], string | undefined, string[], string[]]> = [
    ['no inbound headers', [], '10.0.0.9', ['10.0.0.9'], ['http']],
    ['appends to an existing x-forwarded-for', ['X-Forwarded-For', '1.1.1.1'], '10.0.0.9', ['1.1.1.1, 10.0.0.9'], ['http']],
    ['merges repeated x-forwarded-for', ['x-forwarded-for', '1.1.1.1', 'X-Forwarded-For', '2.2.2.2'], '10.0.0.9', ['1.1.1.1, 2.2.2.2, 10.0.0.9'], ['http']],
    ['keeps an existing proto', ['X-Forwarded-Proto', 'https'], '10.0.0.9', ['10.0.0.9'], ['https']],
    ['keeps inbound xff when the client ip is unknown', ['X-Forwarded-For', '1.1.1.1'], undefined, ['1.1.1.1'], ['http']],
  ];
  it.each(forwarded)('x-forwarded-*: %s', (_, raw, ip, xff, proto) => {
    const { headers } = build(raw, { ip });
    expect(values(headers, 'x-forwarded-for')).toEqual(xff);
    expect(values(headers, 'x-forwarded-proto')).toEqual(proto);
  });

  it('never lets Connection remove Host or framing headers', () => {
    const { headers, flags } = build(['Host', 'h', 'Content-Length', '3', 'Connection', 'host, content-length']);
    expect(values(headers, 'host')).toEqual(['h']);
    expect(values(headers, 'content-length')).toEqual(['3']);
    expect(flags & HAS_BODY).toBe(HAS_BODY);
  });

  const bodies: Array<[string, string[], number]> = [
    ['no body headers', [], 0],
    ['content-length 0', ['Content-Length', '0'], 0],
    ['content-length > 0', ['Content-Length', '12'], HAS_BODY],
    ['chunked', ['Transfer-Encoding', 'chunked'], HAS_BODY],
  ];
  it.each(bodies)('body flag: %s', (_, raw, flags) => {
    expect(build(raw).flags).toBe(flags);
  });

  it('keeps only the first Host and Content-Length', () => {
    const { headers } = build(['Host', 'a', 'host', 'b', 'Content-Length', '1', 'content-length', '1']);
    expect(values(headers, 'host')).toEqual(['a']);
    expect(values(headers, 'content-length')).toEqual(['1']);
  });

  it('upgrade requests keep Upgrade and send Connection: upgrade', () => {
    const raw = ['Host', 'h', 'Connection', 'keep-alive, Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k', 'Sec-WebSocket-Version', '13'];
    const { headers } = build(raw, { upgrade: true });
    expect(values(headers, 'upgrade')).toEqual(['websocket']);
    expect(values(headers, 'connection')).toEqual(['upgrade']);
    expect(values(headers, 'sec-websocket-key')).toEqual(['k']);
  });
});

describe('connectionHasUpgrade', () => {
  const cases: Array<[string | undefined, boolean]> = [
    ['Upgrade', true],
    ['keep-alive, Upgrade', true],
    ['upgrade,keep-alive', true],
    [' UPGRADE ', true],
    ['keep-alive', false],
    ['upgraded', false],
    ['', false],
    [undefined, false],
  ];
  it.each(cases)('%j → %s', (value, expected) => {
    expect(connectionHasUpgrade(value)).toBe(expected);
  });
});

describe('isVerifiedHeader', () => {
  it.each([
    ['x-verified-username', true],
    ['X-VERIFIED-x', true],
    ['X-Verified-', true],
    ['x-verified', false],
    ['x-verifiedx', false],
    ['x_verified-user', false],
  ])('%s → %s', (name, expected) => expect(isVerifiedHeader(name)).toBe(expected));
});

describe('filterResponseHeaders', () => {
  it('drops hop-by-hop and Connection-listed headers, keeps repeats (set-cookie)', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Private', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Private', 'p'].map((s) => Buffer.from(s, 'latin1'));
    const out: string[] = [];
    filterResponseHeaders(raw, out);
    expect(out).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2']);
  });

  it('preserves non-ASCII bytes as latin1', () => {
    const out: string[] = [];
    filterResponseHeaders([Buffer.from('X-Name'), Buffer.from('é', 'utf8')], out);
    expect(Buffer.from(out[1]!, 'latin1').toString('utf8')).toBe('é');
  });
});
