import { describe, expect, it } from 'vitest';
import type { BackendState } from '@jetplane/protocol';
import { adoptLeftoverContainers, containersToSweep } from './docker-leftovers.js';
import type { LabelledContainer } from './executors/docker.js';
import { backendRecord, silentLog } from './fakes.fixture.js';

function containers(list: LabelledContainer[]) {
  const removed: string[] = [];
  return {
    removed,
    docker: {
      containers: async (scope: 'mine' | 'all') => list.filter((c) => scope === 'all' || c.drone === 'dr-test'),
      remove: async (id: string) => void removed.push(id),
    },
  };
}

function backends(states: Record<string, { drone?: string; state: BackendState }>) {
  return {
    get: async (id: string) => {
      const s = states[id];
      return s ? { value: backendRecord(id, { drone: s.drone ?? 'dr-test', state: s.state }), revision: 1 } : null;
    },
  };
}

const c = (id: string, backendId: string, drone = 'dr-test', running = true): LabelledContainer => ({ id, backendId, drone, running });

describe('adoptLeftoverContainers', () => {
  it('adopts running containers of live backends of this drone and removes every other one of its containers', async () => {
    const { docker, removed } = containers([
      c('c-ready', 'b-ready'),
      c('c-terminating', 'b-terminating'),
      c('c-stopped', 'b-stopped', 'dr-test', false),
      c('c-ended', 'b-ended'),
      c('c-moved', 'b-moved'),
      c('c-unknown', 'b-unknown'),
      c('c-refused', 'b-refused'),
      c('c-other-drone', 'b-other', 'dr-other'),
    ]);
    const adoptedCalls: string[] = [];
    const adopted = await adoptLeftoverContainers({
      docker,
      backends: backends({
        'b-ready': { state: { status: 'ready', time: 1 } },
        'b-terminating': { state: { status: 'terminating', time: 1, termination_kind: 'soft' } },
        'b-stopped': { state: { status: 'ready', time: 1 } },
        'b-ended': { state: { status: 'terminated', time: 1 } },
        'b-moved': { drone: 'dr-else', state: { status: 'ready', time: 1 } },
        'b-refused': { state: { status: 'waiting', time: 1 } },
      }),
      drone: 'dr-test',
      log: silentLog,
      adopt: async (record, containerId) => {
        adoptedCalls.push(containerId);
        return record.id !== 'b-refused';
      },
    });
    expect([...adopted].sort()).toEqual(['b-ready', 'b-terminating']);
    expect(adoptedCalls).toEqual(['c-ready', 'c-terminating', 'c-refused']);
    expect(removed.sort()).toEqual(['c-ended', 'c-moved', 'c-refused', 'c-stopped', 'c-unknown']);
  });
});

describe('containersToSweep', () => {
  it("removes this drone's unfollowed containers and other drones' only once their backend is recorded terminated", async () => {
    const doomed = await containersToSweep(
      {
        docker: containers([]).docker,
        backends: backends({
          'b-other-live': { drone: 'dr-other', state: { status: 'ready', time: 1 } },
          'b-other-ended': { drone: 'dr-other', state: { status: 'terminated', time: 1 } },
        }),
        drone: 'dr-test',
        log: silentLog,
        followed: (id) => id === 'b-followed',
      },
      [c('1', 'b-followed'), c('2', 'b-orphan'), c('3', 'b-other-live', 'dr-other'), c('4', 'b-other-ended', 'dr-other'), c('5', 'b-foreign', 'dr-other')],
    );
    expect(doomed.map((d) => d.id)).toEqual(['2', '4']);
  });
});
