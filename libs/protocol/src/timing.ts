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
  ];
  return rules.filter(([ok]) => !ok).map(([, rule]) => rule);
}
