/**
 * Header rules of the external contract (§5), applied to raw header arrays so the request path never
 * builds Node's lazy `req.headers` object: inbound `x-verified-*` (any case) and hop-by-hop headers
 * (RFC 9110 §7.6.1, plus the names the Connection header lists) are dropped, the verified identity and
 * `x-forwarded-*` are set. Host passes through unchanged.
 */

/** What the policy needs to know about the route; a `Route` satisfies it. */
export interface VerifiedIdentity {
  readonly user: string | null;
  readonly userDataHeader: string;
  readonly secret: string;
  readonly backendId: string;
}

/** Flag returned by {@link buildUpstreamHeaders}: the request carries a body (length > 0 or chunked). */
export const HAS_BODY = 1;

const KEEP = 0;
const DROP = 1;
const HOST = 2;
const CONTENT_LENGTH = 3;
const XFF = 4;
const XFP = 5;
const UPGRADE = 6;
const CONNECTION = 7;
const TRANSFER_ENCODING = 8;

/** Same-length, case-insensitive compare; `toLowerCase` returns the string itself when already lower. */
function is(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

const VERIFIED = 'x-verified-';

/** `x-verified-` prefix, any case, without allocating (`| 0x20` lowercases ASCII letters, keeps '-'). */
export function isVerifiedHeader(name: string): boolean {
  if (name.length < VERIFIED.length) return false;
  for (let i = 0; i < VERIFIED.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== VERIFIED.charCodeAt(i)) return false;
  }
  return true;
}

/** Classify an inbound request header name; switch on length first so most names cost one compare. */
function classifyRequest(name: string): number {
  switch (name.length) {
    case 2:
      if (is(name, 'te')) return DROP;
      break;
    case 4:
      if (is(name, 'host')) return HOST;
      break;
    case 6:
      // Node's server already answered `100-continue`; undici refuses to forward Expect.
      if (is(name, 'expect')) return DROP;
      break;
    case 7:
      if (is(name, 'upgrade')) return UPGRADE;
      if (is(name, 'trailer')) return DROP;
      break;
    case 10:
      if (is(name, 'connection')) return CONNECTION;
      if (is(name, 'keep-alive')) return DROP;
      break;
    case 14:
      if (is(name, 'content-length')) return CONTENT_LENGTH;
      break;
    case 15:
      if (is(name, 'x-forwarded-for')) return XFF;
      break;
    case 16:
      if (is(name, 'proxy-connection')) return DROP;
      break;
    case 17:
      if (is(name, 'transfer-encoding')) return TRANSFER_ENCODING;
      if (is(name, 'x-forwarded-proto')) return XFP;
      break;
    case 19:
      // Credentials for a proxy (this one takes none), never for the backend.
      if (is(name, 'proxy-authorization')) return DROP;
      break;
  }
  return isVerifiedHeader(name) ? DROP : KEEP;
}

/** Tokens of Connection header values that name other headers (close/keep-alive/upgrade excluded). */
function nominatedHeaders(raw: readonly string[]): Set<string> | null {
  let names: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || !is(name, 'connection')) continue;
    names = collectTokens(raw[i + 1]!, names);
  }
  return names;
}

/** Whether a Connection header value lists the `upgrade` option (comma list, any case). */
export function connectionHasUpgrade(value: string | undefined): boolean {
  if (!value) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === 'upgrade') return true;
  return false;
}

/**
 * Fill `out` (flat `[name, value, …]`, the shape undici and `http.request` take) with the headers for
 * the backend. `upgrade`: keep `Upgrade` and send `Connection: Upgrade`. Returns {@link HAS_BODY} flags.
 */
export function buildUpstreamHeaders(
  raw: readonly string[],
  identity: VerifiedIdentity,
  token: string,
  clientIp: string | undefined,
  upgrade: boolean,
  out: string[],
): number {
  const nominated = nominatedHeaders(raw);
  let flags = 0;
  let forwardedFor: string | null = null;
  let hasProto = false;
  let hasHost = false;
  let hasLength = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const kind = classifyRequest(name);
    if (kind === DROP || kind === CONNECTION) continue;
    // Names listed in Connection are hop-by-hop too; framing and Host are never removed that way.
    if (nominated !== null && (kind === KEEP || kind === XFF || kind === XFP) && nominated.has(name.toLowerCase())) continue;
    switch (kind) {
      case HOST:
        if (hasHost) continue; // duplicates would be refused by undici; the first one is the host
        hasHost = true;
        break;
      case CONTENT_LENGTH:
        if (hasLength) continue;
        hasLength = true;
        if (value !== '0') flags |= HAS_BODY;
        break;
      case TRANSFER_ENCODING:
        flags |= HAS_BODY; // the body is re-framed upstream (chunked again), so the header is not copied
        continue;
      case XFF:
        forwardedFor = forwardedFor === null ? value : forwardedFor + ', ' + value;
        continue;
      case XFP:
        hasProto = true;
        break;
      case UPGRADE:
        if (!upgrade) continue;
        break;
    }
    out.push(name, value);
  }
  if (upgrade) out.push('connection', 'upgrade');
  if (identity.user !== null) out.push('x-verified-username', identity.user);
  out.push(
    'x-verified-user-data',
    identity.userDataHeader,
    'x-verified-secret',
    identity.secret,
    'x-verified-backend',
    identity.backendId,
    'x-verified-path',
    '/' + token + '/',
  );
  if (clientIp !== undefined) out.push('x-forwarded-for', forwardedFor === null ? clientIp : forwardedFor + ', ' + clientIp);
  else if (forwardedFor !== null) out.push('x-forwarded-for', forwardedFor);
  if (!hasProto) out.push('x-forwarded-proto', 'http');
  return flags;
}

/** Hop-by-hop response header names (connection-specific; Node frames the response itself). */
function isHopByHopResponse(name: string): boolean {
  switch (name.length) {
    case 2:
      return is(name, 'te');
    case 7:
      return is(name, 'trailer') || is(name, 'upgrade');
    case 10:
      return is(name, 'connection') || is(name, 'keep-alive');
    case 16:
      return is(name, 'proxy-connection');
    case 17:
      return is(name, 'transfer-encoding');
    default:
      return false;
  }
}

/**
 * Fill `out` with the backend's response headers minus hop-by-hop ones, converting undici's raw
 * Buffers to latin1 strings (bytes preserved: Node writes header strings back as latin1). Strings
 * (Node's `rawHeaders`) pass as they are.
 */
export function filterResponseHeaders(raw: readonly (Buffer | string)[], out: string[]): void {
  let nominated: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    if (isHopByHopResponse(name)) {
      if (name.length === 10 && is(name, 'connection')) nominated = collectTokens(latin1(raw[i + 1]!), nominated);
      continue;
    }
    out.push(name, latin1(raw[i + 1]!));
  }
  if (nominated !== null) {
    // Rare: the backend named extra connection-specific headers; remove them afterwards.
    let w = 0;
    for (let r = 0; r < out.length; r += 2) {
      if (nominated.has(out[r]!.toLowerCase())) continue;
      out[w++] = out[r]!;
      out[w++] = out[r + 1]!;
    }
    out.length = w;
  }
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** Header names a Connection value lists, added to `into`; the usual single options cost no split. */
function collectTokens(value: string, into: Set<string> | null): Set<string> | null {
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return into;
  }
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token === '' || token === 'close' || token === 'keep-alive' || token === 'upgrade') continue;
    (into ??= new Set()).add(token);
  }
  return into;
}
