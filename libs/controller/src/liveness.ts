/**
 * `GET /ctrl/b/:backend/liveness` (also `/ctrl/c/:cluster/b/...` and the `/pub/...` forms): why a backend
 * is still alive. The controller asks the backend's drone (`jetplane.drone.<name>.inspect`, request-reply)
 * and answers with what the drone measured on its own clock, as relative durations (no clocks compared).
 * Unknown backend: 404. The drone does not answer in time: 503 `Unavailable`.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, Subjects, isValidName, type BackendLiveness, type BackendRecord, type DroneLivenessReply } from '@jetplane/protocol';
import { decodeJson, encodeJson, type BackendStore, type NatsConnection } from '@jetplane/nats';
import { backendNotFound } from './status.js';

export interface LivenessDeps {
  backends: Pick<BackendStore, 'get'>;
  nc: Pick<NatsConnection, 'request'>;
  timeoutMs: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function describe(record: BackendRecord, drone: DroneLivenessReply | null): string[] {
  const { state } = record;
  if (state.status === 'terminated') return [`terminated (${state.termination_reason ?? 'unknown reason'})`];
  if (!drone || !drone.running) {
    return state.status === 'scheduled' ? [`scheduled: waiting for drone ${record.drone} to take it`] : [`its drone ${record.drone} does not run it`];
  }
  const why: string[] = [];
  if (state.status === 'terminating') why.push(`terminating (${state.termination_kind ?? 'hard'}, ${state.termination_reason ?? 'unknown reason'})`);
  if (drone.open_connections > 0) why.push(`${drone.open_connections} open connection(s)`);
  if (drone.last_activity_ms_ago !== null) why.push(`last activity ${seconds(drone.last_activity_ms_ago)} ago`);
  if (drone.idle_deadline_in_ms !== null) why.push(`idle limit in ${seconds(drone.idle_deadline_in_ms)}`);
  else if (record.max_idle_seconds !== null && drone.open_connections > 0) why.push('idle limit paused while connections are open');
  else if (record.max_idle_seconds === null) why.push('no idle limit');
  if (drone.lifetime_deadline_in_ms !== null) why.push(`lifetime limit in ${seconds(drone.lifetime_deadline_in_ms)}`);
  else if (record.lifetime_limit_seconds === null) why.push('no lifetime limit');
  if (drone.lease_renewed_ms_ago !== null) why.push(`key lease renewed ${seconds(drone.lease_renewed_ms_ago)} ago`);
  return why;
}

export async function backendLiveness(deps: LivenessDeps, backendId: string, cluster?: string): Promise<BackendLiveness> {
  if (!isValidName(backendId)) throw backendNotFound();
  const found = await deps.backends.get(backendId);
  if (!found || (cluster && found.value.cluster !== cluster)) throw backendNotFound();
  const record = found.value;
  let drone: DroneLivenessReply | null = null;
  if (record.state.status !== 'terminated') {
    try {
      const reply = await deps.nc.request(Subjects.droneInspect(record.drone), encodeJson({ backend_id: backendId }), { timeout: deps.timeoutMs });
      drone = decodeJson<DroneLivenessReply>(reply.data);
    } catch (err) {
      throw new ApiError('Unavailable', `Drone ${record.drone} did not answer.`, { cause: err, retryAfter: 1 });
    }
  }
  const running = drone?.running === true ? drone : null;
  return {
    backend_id: record.id,
    drone: record.drone,
    status: record.state.status,
    running: running !== null,
    max_idle_seconds: record.max_idle_seconds,
    lifetime_limit_seconds: record.lifetime_limit_seconds,
    open_connections: running?.open_connections ?? null,
    last_activity_ms_ago: running?.last_activity_ms_ago ?? null,
    idle_deadline_in_ms: running?.idle_deadline_in_ms ?? null,
    lifetime_deadline_in_ms: running?.lifetime_deadline_in_ms ?? null,
    lease_renewed_ms_ago: running?.lease_renewed_ms_ago ?? null,
    lease_soft_deadline_in_ms: running?.lease_soft_deadline_in_ms ?? null,
    why: describe(record, drone),
  };
}

const PREFIXES = ['/ctrl/c/:cluster/b/:backend', '/ctrl/b/:backend', '/pub/c/:cluster/b/:backend', '/pub/b/:backend'];

/** Register the four liveness routes; they answer 404 when the controller has no liveness source. */
export function registerLivenessRoutes(app: FastifyInstance, liveness: ((backendId: string, cluster?: string) => Promise<BackendLiveness>) | undefined): void {
  for (const prefix of PREFIXES) {
    app.get<{ Params: { cluster?: string; backend: string } }>(`${prefix}/liveness`, async (req) => {
      if (!liveness) throw new ApiError('NotFound', 'Liveness is not available on this controller.');
      return liveness(req.params.backend, req.params.cluster);
    });
  }
}
