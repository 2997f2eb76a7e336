/** Controller configuration and the resolved timing it runs with. */
import { Timing, timingViolations } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';

export interface ControllerConfig {
  /** NATS server URLs (several for a NATS cluster). */
  servers: string[];
  /** Address the HTTP API binds (Plane: 127.0.0.1). */
  host: string;
  /** HTTP port; 0 picks a free one (the actual port is in the returned `url`). */
  port: number;
  /** Base URL put into `status_url`; defaults to `http://<host>:<port>`. */
  publicUrl?: string;
  /** Cluster used when `spawn_config.cluster` is missing. */
  defaultCluster?: string;
  /** JetStream replicas for buckets and streams this controller creates. */
  replicas: number;
  /** Overrides of the protocol's timing defaults (tests shorten them). */
  timing?: Partial<Timing>;
  logger: Logger;
}

/** Protocol defaults with `overrides` applied; rejects a combination that breaks the lease/liveness ordering. */
export function resolveTiming(overrides: Partial<Timing> = {}): Timing {
  const timing: Timing = Object.freeze({ ...Timing, ...overrides });
  const violations = timingViolations(timing);
  if (violations.length > 0) throw new Error(`invalid timing: ${violations.join(', ')}`);
  return timing;
}

/** `status_url` base: no trailing slash so paths can be appended. */
export function resolvePublicUrl(publicUrl: string | undefined, listenUrl: string): string {
  return (publicUrl ?? listenUrl).replace(/\/+$/, '');
}
