import { describe, expect, it } from 'vitest';
import { Timing } from '@jetplane/protocol';
import { resolveDroneConfig } from './config.js';

describe('resolveDroneConfig', () => {
  it('fills in defaults', () => {
    const result = resolveDroneConfig({ servers: ['nats://127.0.0.1:4222'], cluster: 'localhost:9090' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({ pool: '', executors: ['process'], maxBackends: null, backendHost: '127.0.0.1', replicas: 1, healthPort: null });
    expect(result.config.name).toMatch(/^dr-[a-z0-9]{14}$/);
    expect(result.config.timing.softTerminateGraceMs).toBe(Timing.softTerminateGraceMs);
    expect(result.config.timing.selfFenceAfterMs).toBeLessThan(Timing.droneLostAfterMs);
  });

  it('takes timing overrides but ignores undefined ones', () => {
    const result = resolveDroneConfig({ servers: ['x'], cluster: 'c.example', timing: { startupTimeoutMs: 5, softTerminateGraceMs: undefined } });
    expect(result.ok && result.config.timing.startupTimeoutMs).toBe(5);
    expect(result.ok && result.config.timing.softTerminateGraceMs).toBe(Timing.softTerminateGraceMs);
  });

  it('takes both executors and docker settings (host networking by default)', () => {
    const result = resolveDroneConfig({ servers: ['x'], cluster: 'c.example', executors: ['process', 'docker', 'docker'], docker: { mountBase: '/srv/data' } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.executors).toEqual(['process', 'docker']);
    expect(result.config.docker).toMatchObject({ mountBase: '/srv/data', networkMode: 'host', socket: undefined });
  });

  it('refuses a relative mount base and an unknown network mode', () => {
    const result = resolveDroneConfig({
      servers: ['x'],
      cluster: 'c.example',
      executors: ['docker'],
      docker: { mountBase: 'data', networkMode: 'overlay' as 'host' },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContain('the mount base must be an absolute path');
    expect(result.problems.some((p) => p.startsWith('invalid docker network mode'))).toBe(true);
  });

  it('refuses unknown executors and bad names', () => {
    const result = resolveDroneConfig({ servers: ['x'], cluster: 'bad cluster', name: 'Bad_Name', executors: ['vm' as 'docker'], maxBackends: 0 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContain('unknown executor: vm');
    expect(result.problems.some((p) => p.startsWith('invalid cluster name'))).toBe(true);
    expect(result.problems.some((p) => p.startsWith('invalid drone name'))).toBe(true);
    expect(result.problems).toContain('max backends must be a positive integer');
  });
});
