/**
 * Every timing constant of the system, in milliseconds, with the invariants between them
 * (checked by `timing.test.ts`). Components take these as defaults and may be configured otherwise.
 */
const DEFAULTS = {
  /** Drone heartbeat cadence (Plane: 5 s). */
  heartbeatIntervalMs: 5_000,
  /** A drone not heard from for this long gets no new work (Plane: 45 s; we are quicker). */
  droneUnhealthyAfterMs: 15_000,
  /** A drone not heard from for this long is lost: its backends are terminated `lost`. */
  droneLostAfterMs: 30_000,
  /** Key lease: the drone renews this long after the last renewal. */
  keyRenewAfterMs: 30_000,
  /** Key lease: the drone soft-terminates if not renewed by then. */
  keySoftTerminateAfterMs: 40_000,
  /** Key lease: the drone hard-terminates if not renewed by then. */
  keyHardTerminateAfterMs: 50_000,
  /** Key lease: the key may be taken over this long after the last renewal. */
  keyExpirationMs: 60_000,
  /** Soft terminate: SIGTERM, then SIGKILL after this grace period (Plane: 30 s). */
  softTerminateGraceMs: 30_000,
  /** A backend that does not answer on its port by then ends `startuptimeout` (Plane: 300 s). */
  startupTimeoutMs: 300_000,
  /** Readiness probe retry interval. */
  readinessProbeIntervalMs: 100,
  /** How long the proxy holds a request for a backend that is not ready yet. */
  proxyWaitForReadyMs: 30_000,
  /** Proxy activity reports to the idle sweeper are coalesced over this window. */
  activityReportIntervalMs: 5_000,
  /** Idle and lifetime sweep cadence. */
  sweepIntervalMs: 1_000,
  /** A key whose backend record never appeared (controller died mid-connect) is stale after this. */
  orphanKeyAfterMs: 30_000,
  /** Request-reply timeout for CLI and internal requests. */
  requestTimeoutMs: 10_000,
  /** Drones publish each backend's latest CPU/memory sample at most this often (coalesced). */
  backendStatsIntervalMs: 5_000,
  /** How long a drone waits for a backend's last output to be handed to NATS before recording its end. */
  backendOutputFlushMs: 2_000,
  /** Key lease: after a failed renewal the drone tries again this often (until its deadlines). */
  keyRenewRetryMs: 1_000,
  /** How long a controller waits for a drone to answer a liveness inspection. */
  droneInspectTimeoutMs: 2_000,
};
export type Timing = { readonly [K in keyof typeof DEFAULTS]: number };
export const Timing: Timing = Object.freeze(DEFAULTS);

/** The ordering every lease and liveness rule relies on; returns the violated rule, if any. */
export function timingViolations(t: Timing): string[] {
  const rules: Array<[boolean, string]> = [
    [t.heartbeatIntervalMs > 0, 'heartbeat > 0'],
    [t.droneUnhealthyAfterMs > t.heartbeatIntervalMs, 'unhealthy > heartbeat'],
    [t.droneLostAfterMs > t.droneUnhealthyAfterMs, 'lost > unhealthy'],
    [t.keyRenewAfterMs > 0, 'renew > 0'],
    [t.keySoftTerminateAfterMs > t.keyRenewAfterMs, 'soft > renew'],
    [t.keyHardTerminateAfterMs > t.keySoftTerminateAfterMs, 'hard > soft'],
    [t.keyExpirationMs > t.keyHardTerminateAfterMs, 'expiration > hard'],
    // The drone fences itself one heartbeat before the controllers' verdict (see the drone's selfFenceAfterMs).
    [t.droneLostAfterMs - t.heartbeatIntervalMs > t.heartbeatIntervalMs, 'lost - heartbeat > heartbeat (self-fence)'],
    [t.keyRenewRetryMs > 0 && t.keyRenewRetryMs < t.keySoftTerminateAfterMs - t.keyRenewAfterMs, '0 < renew retry < soft - renew'],
    [t.sweepIntervalMs > 0, 'sweep > 0'],
    [t.activityReportIntervalMs > 0, 'activity report > 0'],
    [t.softTerminateGraceMs > 0, 'soft terminate grace > 0'],
  ];
  return rules.filter(([ok]) => !ok).map(([, rule]) => rule);
}

/**
 * With default settings, how long after a drone's death a connect for one of its keys can spawn
 * elsewhere: the drone is declared lost (its backends fenced themselves a heartbeat earlier), and the
 * next sweep frees their keys. Bounded by the key lease as well: an expired lease frees the key too.
 */
export function respawnAfterDroneDeathMs(t: Timing): number {
  return Math.min(t.droneLostAfterMs, t.keyExpirationMs) + t.sweepIntervalMs;
}

/**
 * Overrides from JSON text (`--timing '{"heartbeatIntervalMs": 250}'` / `JETPLANE_TIMING`): only known
 * names with positive finite numbers. Throws with a readable message otherwise. Meant for tests and tuning.
 */
export function timingFromJson(text: string): Partial<Timing> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('timing: not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('timing: expected a JSON object');
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(DEFAULTS, name)) throw new Error(`timing: unknown setting ${JSON.stringify(name)}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error(`timing: ${name} must be a positive number of ms`);
    out[name] = value;
  }
  return out as Partial<Timing>;
}
