import { describe, it, expect } from 'vitest';
import { statusEntry } from './status.js';

describe('statusEntry', () => {
  it('shows only status and time while live (never the address)', () => {
    expect(statusEntry({ status: 'ready', time: 5, address: '127.0.0.1:4000' })).toEqual({ status: 'ready', time: 5 });
  });

  it('adds the reason and kind while terminating', () => {
    expect(
      statusEntry({ status: 'terminating', time: 6, last_status: 'ready', termination_kind: 'soft', termination_reason: 'external' }),
    ).toEqual({ status: 'terminating', time: 6, termination_reason: 'external', termination_kind: 'soft' });
  });

  it('reports exit_error and exit_code once terminated', () => {
    expect(statusEntry({ status: 'terminated', time: 7, termination_reason: 'exit', exit_code: 3 })).toEqual({
      status: 'terminated',
      time: 7,
      termination_reason: 'exit',
      exit_error: true,
      exit_code: 3,
    });
    expect(statusEntry({ status: 'terminated', time: 7, termination_reason: 'exit', exit_code: 0 })).toMatchObject({
      exit_error: false,
      exit_code: 0,
    });
    expect(statusEntry({ status: 'terminated', time: 7, termination_reason: 'lost', termination_kind: 'hard' })).toEqual({
      status: 'terminated',
      time: 7,
      termination_reason: 'lost',
      termination_kind: 'hard',
      exit_error: false,
      exit_code: null,
    });
  });

  it('explains a failed start', () => {
    expect(statusEntry({ status: 'terminated', time: 8, termination_reason: 'failed', exit_code: null, message: 'image x is missing' })).toMatchObject({
      termination_reason: 'failed',
      message: 'image x is missing',
    });
  });

  it('ignores termination fields on a live status', () => {
    expect(statusEntry({ status: 'loading', time: 1, termination_reason: 'exit', exit_code: 1 })).toEqual({ status: 'loading', time: 1 });
  });
});
