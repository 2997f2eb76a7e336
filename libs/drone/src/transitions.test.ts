import { describe, expect, it } from 'vitest';
import { backendRecord } from './fakes.fixture.js';
import { exitCodeOf, statusEventId, toEnded, toLiveStatus, toLoading, toLost } from './transitions.js';

describe('toLoading', () => {
  it('accepts only a scheduled record addressed to this drone', () => {
    expect(toLoading(backendRecord('b'), 'dr-test', 5)).toEqual({ status: 'loading', time: 5 });
    expect(toLoading(backendRecord('b'), 'dr-other', 5)).toBeUndefined();
    expect(toLoading(backendRecord('b', { state: { status: 'loading', time: 1 } }), 'dr-test', 5)).toBeUndefined();
  });
});

describe('toLiveStatus', () => {
  it('moves forward while live, with the address', () => {
    expect(toLiveStatus({ status: 'starting', time: 1 }, 'waiting', 2, 'h:1')).toEqual({ status: 'waiting', time: 2, address: 'h:1' });
    expect(toLiveStatus({ status: 'loading', time: 1 }, 'starting', 2)).toEqual({ status: 'starting', time: 2 });
  });

  it('never moves back or revives a backend that is going away', () => {
    expect(toLiveStatus({ status: 'ready', time: 1 }, 'waiting', 2)).toBeUndefined();
    expect(toLiveStatus({ status: 'terminating', time: 1, termination_kind: 'soft', termination_reason: 'external' }, 'ready', 2)).toBeUndefined();
  });
});

describe('toEnded', () => {
  it('a natural exit is reason exit with its code', () => {
    expect(toEnded({ status: 'ready', time: 1 }, 9, { exitCode: 3, request: null, fallbackReason: 'exit' })).toEqual({
      status: 'terminated',
      time: 9,
      exit_code: 3,
      last_status: 'ready',
      termination_reason: 'exit',
    });
  });

  it('keeps the recorded terminate reason and kind', () => {
    const current = { status: 'terminating' as const, time: 2, last_status: 'ready' as const, termination_kind: 'soft' as const, termination_reason: 'swept' as const };
    expect(toEnded(current, 9, { exitCode: 0, request: { kind: 'soft', reason: 'swept' }, fallbackReason: 'exit' })).toMatchObject({
      status: 'terminated',
      last_status: 'ready',
      termination_kind: 'soft',
      termination_reason: 'swept',
      exit_code: 0,
    });
  });

  it('uses a local terminate request whose terminating write was lost', () => {
    expect(toEnded({ status: 'waiting', time: 1 }, 9, { exitCode: 137, request: { kind: 'hard', reason: 'startuptimeout' }, fallbackReason: 'exit' })).toMatchObject({
      status: 'terminated',
      last_status: 'waiting',
      termination_kind: 'hard',
      termination_reason: 'startuptimeout',
    });
  });

  it('reports a start failure with its message', () => {
    expect(toEnded({ status: 'starting', time: 1 }, 9, { exitCode: null, request: null, fallbackReason: 'failed', message: 'no such file' })).toEqual({
      status: 'terminated',
      time: 9,
      exit_code: null,
      last_status: 'starting',
      termination_reason: 'failed',
      message: 'no such file',
    });
  });

  it('leaves a terminated record alone', () => {
    expect(toEnded({ status: 'terminated', time: 1 }, 9, { exitCode: 0, request: null, fallbackReason: 'exit' })).toBeUndefined();
    expect(toLost({ status: 'terminated', time: 1 }, 9)).toBeUndefined();
  });
});

describe('toLost', () => {
  it('ends a backend nobody runs', () => {
    expect(toLost({ status: 'loading', time: 1 }, 9)).toEqual({ status: 'terminated', time: 9, exit_code: null, last_status: 'loading', termination_reason: 'lost' });
  });
});

describe('exitCodeOf', () => {
  it('maps signals like Docker does', () => {
    expect(exitCodeOf({ exitCode: 2, signal: null })).toBe(2);
    expect(exitCodeOf({ exitCode: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ exitCode: null, signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeOf({ exitCode: null, signal: null })).toBeNull();
  });
});

describe('statusEventId', () => {
  it('is derived from the backend and status; soft and hard terminating differ', () => {
    expect(statusEventId(backendRecord('b', { state: { status: 'ready', time: 1 } }))).toBe('b:ready');
    expect(statusEventId(backendRecord('b', { state: { status: 'terminating', time: 1, termination_kind: 'soft' } }))).toBe('b:terminating:soft');
    expect(statusEventId(backendRecord('b', { state: { status: 'terminating', time: 1, termination_kind: 'hard' } }))).toBe('b:terminating:hard');
  });
});
