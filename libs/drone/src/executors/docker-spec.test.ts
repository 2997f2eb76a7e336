import { describe, expect, it } from 'vitest';
import type { DockerExecutable } from '@jetplane/protocol';
import { buildContainerSpec, mountSource, type ContainerSpecInput } from './docker-spec.js';
import { dockerMessage, dockerStatus, isNothingToDo } from './docker-errors.js';
import { registryOf } from './docker-image.js';

function input(executable: Partial<DockerExecutable> = {}, extra: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    backendId: 'b1',
    drone: 'dr-1',
    executable: { image: 'example/app:1', ...executable },
    sessionEnv: { SESSION_BACKEND_ID: 'b1', SESSION_BACKEND_KEY: 'my-key', SESSION_BACKEND_FENCING_TOKEN: '7' },
    keyName: 'my-key',
    networkMode: 'host',
    hostPort: 41000,
    mountBase: undefined,
    diskLimitSupported: true,
    ...extra,
  };
}

function build(executable: Partial<DockerExecutable> = {}, extra: Partial<ContainerSpecInput> = {}) {
  const result = buildContainerSpec(input(executable, extra));
  if (!result.ok) throw new Error(result.message);
  return result.spec;
}

describe('buildContainerSpec', () => {
  it('names and labels the container; host networking listens on the drone-picked port', () => {
    const spec = build();
    expect(spec.options.name).toBe('jetplane-b1');
    expect(spec.options.Image).toBe('example/app:1');
    expect(spec.options.Labels).toEqual({ 'dev.jetplane.drone': 'dr-1', 'dev.jetplane.backend': 'b1' });
    expect(spec.options.HostConfig?.NetworkMode).toBe('host');
    expect(spec.options.HostConfig?.AutoRemove).toBe(false);
    expect(spec).toMatchObject({ port: 41000, ownAddress: false, network: 'host', memoryLimit: null, warnings: [] });
    expect(spec.options.ExposedPorts).toBeUndefined();
  });

  it("layers the env: the executable's, then Plane's variables, then PORT", () => {
    const spec = build({ env: { A: '1', SESSION_BACKEND_ID: 'spoofed', PORT: '1' } });
    expect(spec.options.Env).toEqual(expect.arrayContaining(['A=1', 'SESSION_BACKEND_ID=b1', 'SESSION_BACKEND_KEY=my-key', 'PORT=41000']));
    expect(spec.options.Env).not.toContain('SESSION_BACKEND_ID=spoofed');
    expect(spec.options.Env?.filter((e) => e.startsWith('PORT='))).toEqual(['PORT=41000']);
  });

  it('bridge mode and network_name give the container its own address on port 8080', () => {
    const bridge = build({}, { networkMode: 'bridge' });
    expect(bridge).toMatchObject({ port: 8080, ownAddress: true, network: 'bridge' });
    expect(bridge.options.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(bridge.options.Env).toContain('PORT=8080');
    expect(build({ network_name: 'sessions' })).toMatchObject({ network: 'sessions', ownAddress: true, port: 8080 });
    expect(build({ network_name: 'host' }, { networkMode: 'bridge' })).toMatchObject({ network: 'host', ownAddress: false, port: 41000 });
  });

  it("maps Plane's resource limits (µs periods, percent → quota, seconds → cpu ulimit, bytes)", () => {
    const spec = build({
      resource_limits: { cpu_period: 1_000_000, cpu_period_percent: 80, cpu_time_limit: 100, memory_limit_bytes: 10_000_000, disk_limit_bytes: 1_000_000_000 },
    });
    expect(spec.options.HostConfig).toMatchObject({
      CpuPeriod: 1_000_000,
      CpuQuota: 800_000,
      Ulimits: [{ Name: 'cpu', Soft: 100, Hard: 100 }],
      Memory: 10_000_000,
      StorageOpt: { size: '1000000000' },
    });
    expect(spec.memoryLimit).toBe(10_000_000);
  });

  it('uses the 100 ms default period when only the percentage is given', () => {
    expect(build({ resource_limits: { cpu_period_percent: 50 } }).options.HostConfig).toMatchObject({ CpuPeriod: 100_000, CpuQuota: 50_000 });
  });

  it('drops the disk limit with a warning when the storage driver cannot apply it', () => {
    const spec = build({ resource_limits: { disk_limit_bytes: 5 } }, { diskLimitSupported: false });
    expect(spec.options.HostConfig?.StorageOpt).toBeUndefined();
    expect(spec.warnings).toEqual([expect.stringContaining('disk_limit_bytes ignored')]);
  });

  it('mounts <mount base>/<key name> for true and <mount base>/<path> for a path, at /plane-data', () => {
    expect(build({ mount: true }, { mountBase: '/srv/jp' }).options.HostConfig?.Binds).toEqual(['/srv/jp/my-key:/plane-data']);
    expect(build({ mount: 'users/42' }, { mountBase: '/srv/jp/' }).options.HostConfig?.Binds).toEqual(['/srv/jp/users/42:/plane-data']);
    expect(build({ mount: false }, { mountBase: '/srv/jp' }).options.HostConfig?.Binds).toBeUndefined();
  });

  it('skips a mount with a warning without a mount base', () => {
    const spec = build({ mount: true });
    expect(spec.options.HostConfig?.Binds).toBeUndefined();
    expect(spec.warnings).toEqual([expect.stringContaining('no --mount-base')]);
  });

  it('refuses a mount (or key name) that leaves the mount base', () => {
    const bad = buildContainerSpec(input({ mount: true }, { mountBase: '/srv/jp', keyName: '../../etc' }));
    expect(bad).toEqual({ ok: false, message: 'mount path "../../etc" is not under the mount base' });
  });
});

describe('mountSource', () => {
  it.each(['..', '../x', 'a/../../..', './a', '/abs', '', 'a:b', 'a,b'])('refuses %j', (path) => {
    expect(mountSource('/base', path).ok).toBe(false);
  });
  it('joins plain components', () => {
    expect(mountSource('/base', 'a//b/')).toEqual({ ok: true, path: '/base/a/b' });
  });
});

describe('Docker errors and registries', () => {
  it("prefers Docker's own message and knows the nothing-to-do statuses", () => {
    const err = Object.assign(new Error('(HTTP code 404) no such image - No such image: x:latest '), { statusCode: 404, json: { message: 'No such image: x:latest' } });
    expect(dockerStatus(err)).toBe(404);
    expect(dockerMessage(err)).toBe('No such image: x:latest');
    expect(dockerMessage(Object.assign(new Error('(HTTP code 500) server error - boom '), { statusCode: 500 }))).toBe('boom');
    expect(dockerMessage(Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' }))).toBe('cannot reach the Docker daemon (ENOENT)');
    expect([304, 404, 409].every((statusCode) => isNothingToDo({ statusCode }))).toBe(true);
    expect(isNothingToDo({ statusCode: 500 })).toBe(false);
  });

  it('finds the registry of an image for its credentials', () => {
    expect(registryOf('ghcr.io/org/app:1')).toBe('ghcr.io');
    expect(registryOf('localhost:5000/app')).toBe('localhost:5000');
    expect(registryOf('org/app')).toBe('https://index.docker.io/v1/');
    expect(registryOf('app')).toBe('https://index.docker.io/v1/');
  });
});
