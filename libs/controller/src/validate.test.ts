import { describe, it, expect } from 'vitest';
import { ApiError, TerminateRequest } from '@jetplane/protocol';
import { describeErrors, fieldName, validateConnectRequest, validatorFor } from './validate.js';

function messageOf(body: unknown): string {
  try {
    validateConnectRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).kind).toBe('InvalidRequest');
    expect((err as ApiError).status).toBe(400);
    return (err as ApiError).message;
  }
  throw new Error('expected a validation error');
}

describe('validateConnectRequest', () => {
  it('accepts Plane-shaped requests', () => {
    const ok = {
      key: { name: 'k', namespace: 'ns', tag: 't' },
      spawn_config: { cluster: 'localhost:9090', executable: { command: ['node', 'server.js'], env: { A_B: '1' } }, use_static_token: true },
      user: 'u',
      auth: { role: 'admin' },
    };
    expect(validateConnectRequest(ok)).toBe(ok);
    expect(validateConnectRequest({ spawn_config: { executable: { image: 'ghcr.io/x/y:1' } } })).toBeTruthy();
    expect(validateConnectRequest({})).toEqual({});
  });

  it('names the field of a bad process executable', () => {
    expect(messageOf({ spawn_config: { executable: { command: [] } } })).toMatch(/^spawn_config\.executable\.command: /);
    expect(messageOf({ spawn_config: { executable: { command: [''] } } })).toMatch(/^spawn_config\.executable\.command\[0\]: /);
    expect(messageOf({ spawn_config: { executable: { command: ['a'], foo: 1 } } })).toBe(
      'spawn_config.executable.foo: is not an allowed field',
    );
  });

  it('judges an executable by its shape', () => {
    expect(messageOf({ spawn_config: { executable: {} } })).toMatch(/^spawn_config\.executable: must have "command".*"image"/);
    expect(messageOf({ spawn_config: { executable: 'node' } })).toBe('spawn_config.executable: must be an object');
    expect(messageOf({ spawn_config: { executable: { image: '' } } })).toMatch(/^spawn_config\.executable\.image: /);
    expect(messageOf({ spawn_config: { executable: { image: 'x', pull_policy: 'Sometimes' } } })).toMatch(
      /^spawn_config\.executable\.pull_policy: /,
    );
  });

  it('names missing and mistyped fields', () => {
    expect(messageOf({ spawn_config: {} })).toBe('spawn_config.executable: is required');
    expect(messageOf({ key: {} })).toBe('key.name: is required');
    expect(messageOf({ key: 'k' })).toBe('key: must be object');
    expect(messageOf({ auth: 5 })).toBe('auth: must be object');
    expect(messageOf({ spawn_config: { executable: { image: 'x' }, pool: 'A B' } })).toMatch(/^spawn_config\.pool: /);
    expect(messageOf({ spawn_config: { executable: { image: 'x' }, lifetime_limit_seconds: 0 } })).toMatch(
      /^spawn_config\.lifetime_limit_seconds: /,
    );
    expect(messageOf(null)).toBe('body: must be object');
    expect(messageOf(undefined)).toBe('body: must be object');
  });

  it('checks what the schema cannot express', () => {
    expect(messageOf({ spawn_config: { executable: { command: ['x'], env: { '1BAD': 'x' } } } })).toBe(
      'spawn_config.executable.env.1BAD: is not a valid environment variable name',
    );
    expect(messageOf({ spawn_config: { executable: { image: 'x' }, subdomain: '-bad' } })).toMatch(/^spawn_config\.subdomain: /);
  });
});

describe('validatorFor', () => {
  it('is compiled once per schema and shared', () => {
    expect(validatorFor(TerminateRequest)).toBe(validatorFor(TerminateRequest));
    expect(() => validatorFor(TerminateRequest)({ backend_id: 'Not Valid' })).toThrow(/^backend_id: /);
    expect(validatorFor(TerminateRequest)({ backend_id: 'abc', hard: true })).toEqual({ backend_id: 'abc', hard: true });
  });
});

describe('describeErrors', () => {
  it('prefers the deepest error and ignores union bookkeeping', () => {
    expect(
      describeErrors([
        { keyword: 'type', instancePath: '/key', message: 'must be object', params: { type: 'object' } },
        { keyword: 'type', instancePath: '/key', message: 'must be null', params: { type: 'null' } },
        { keyword: 'anyOf', instancePath: '/key', message: 'must match a schema in anyOf', params: {} },
      ]),
    ).toBe('key: must be object');
    expect(describeErrors([])).toBe('body: is invalid');
  });

  it('renders JSON pointers as field names', () => {
    expect(fieldName('')).toBe('');
    expect(fieldName('/a/b/0/c')).toBe('a.b[0].c');
    expect(fieldName('/env/A~1B', 'x')).toBe('x.env.A/B');
  });
});
