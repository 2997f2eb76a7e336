/** The drone's entry in `jetplane_drones`: registration, heartbeat, and the final `stopped`. */
import { isRevisionConflict, type DroneStore, type EventPublisher } from '@jetplane/nats';
import { VERSION, type DroneEvent, type DroneRecord, type DroneState } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import type { ResolvedDroneConfig } from './config.js';

const MAX_CAS_ATTEMPTS = 5;

export interface RegistrationDeps {
  drones: DroneStore;
  events: Pick<EventPublisher, 'publish'>;
  config: ResolvedDroneConfig;
  log: Logger;
  /** Backends this drone runs that are not terminated. */
  backendCount(): number;
}

export class DroneRegistration {
  readonly startedAt = Date.now();
  private lastBeatAt = Date.now();
  private state: DroneState = 'ready';

  constructor(private readonly deps: RegistrationDeps) {}

  /** When the last heartbeat was stored (drone clock). */
  get lastHeartbeatAt(): number {
    return this.lastBeatAt;
  }

  get currentState(): DroneState {
    return this.state;
  }

  /**
   * Register as `ready` and announce `drone.up`. A restart clears an earlier `draining`: restarting a
   * drained drone is how an operator puts it back into service (there is no undrain API).
   */
  async register(): Promise<void> {
    await this.write(() => 'ready');
    await this.publish('drone.up');
  }

  /** Refresh the record, keeping a `draining` the controller may have set since the last beat. */
  async beat(): Promise<DroneState> {
    const state = await this.write((current) => (current?.state === 'draining' ? 'draining' : 'ready'));
    if (state === 'draining' && this.state !== 'draining') this.deps.log.info('drone is draining: no new backends will be scheduled here');
    this.state = state;
    return state;
  }

  async markStopped(): Promise<void> {
    this.state = await this.write(() => 'stopped');
    await this.publish('drone.stopped');
  }

  private record(state: DroneState): DroneRecord {
    const { config } = this.deps;
    return {
      name: config.name,
      cluster: config.cluster,
      pool: config.pool,
      executors: config.executors,
      state,
      backends: this.deps.backendCount(),
      max_backends: config.maxBackends,
      version: VERSION,
      started_at: this.startedAt,
      heartbeat_at: Date.now(),
    };
  }

  /** Revision-checked so a concurrent `draining` from the controller is never overwritten. */
  private async write(stateFrom: (current: DroneRecord | undefined) => DroneState): Promise<DroneState> {
    const { drones, config } = this.deps;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await drones.get(config.name);
      const state = stateFrom(current?.value);
      const record = this.record(state);
      try {
        if (current) await drones.update(record, current.revision);
        else await drones.create(record);
        this.lastBeatAt = Date.now();
        return state;
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new Error(`drone ${config.name}: too many concurrent registry updates`);
  }

  private async publish(type: DroneEvent['type']): Promise<void> {
    const { config } = this.deps;
    const event: DroneEvent = { type, cluster: config.cluster, time: Date.now(), drone: config.name, pool: config.pool };
    await this.deps.events.publish(event, `${config.name}:${type}:${this.startedAt}`);
  }
}
