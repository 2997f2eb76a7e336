/**
 * Names, ids and token formats. Generation uses Web Crypto (`globalThis.crypto`) so this
 * module stays runtime-neutral; every id a user can pass in is validated with the regexes here.
 */

const ALPHANUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Length of the random part of every generated name (Plane: 14 chars of [a-z0-9]). */
export const RANDOM_NAME_LENGTH = 14;
/** Longest accepted name, prefix included (Plane's limit). */
export const MAX_NAME_LENGTH = 45;
/** Bytes of CSPRNG output behind a connection token or secret (256 bits). */
export const TOKEN_BYTES = 32;
/** base64url without padding of {@link TOKEN_BYTES} bytes. */
export const TOKEN_LENGTH = 43;
export const STATIC_TOKEN_PREFIX = 's.';

export const NamePrefix = {
  controller: 'co',
  drone: 'dr',
  proxy: 'px',
  randomKey: 'lk',
  error: '',
} as const;

/** Backend ids, drone names, pools: lowercase alphanumerics and dashes, safe in NATS subjects and KV keys. */
export const NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,44}$';
const NAME_RE = new RegExp(NAME_PATTERN);
const TOKEN_RE = /^(s\.)?[A-Za-z0-9_-]{43}$/;

export function randomString(length = RANDOM_NAME_LENGTH): string {
  // 252 is the largest multiple of 36 below 256: rejecting bytes above it keeps the choice uniform.
  let out = '';
  while (out.length < length) {
    const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 252 && out.length < length) out += ALPHANUM[b % 36];
    }
  }
  return out;
}

export function prefixedName(prefix: string): string {
  return prefix ? `${prefix}-${randomString()}` : randomString();
}

export const newBackendId = (): string => randomString();
export const newDroneName = (): string => prefixedName(NamePrefix.drone);
export const newProxyName = (): string => prefixedName(NamePrefix.proxy);
export const newControllerName = (): string => prefixedName(NamePrefix.controller);
export const newRandomKeyName = (): string => prefixedName(NamePrefix.randomKey);
export const newErrorId = (): string => randomString();

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

/** base64url (no padding) of bytes, without Buffer so the module stays runtime-neutral. */
export function base64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/** A 256-bit CSPRNG token, base64url: used for connection tokens and their secrets. */
export function randomToken(): string {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

export const newConnectionToken = (): string => randomToken();
export const newSecretToken = (): string => randomToken();
export const newStaticToken = (): string => STATIC_TOKEN_PREFIX + randomToken();

export function isStaticToken(token: string): boolean {
  return token.startsWith(STATIC_TOKEN_PREFIX);
}

/** Shape check only: a well-formed token may still be unknown. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_RE.test(token);
}
