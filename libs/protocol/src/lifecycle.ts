/**
 * Messages of the idle/lifetime machinery and of the "why is it still alive" inspection. Every
 * duration is relative (ms ago / ms from now) on the clock of the component that measured it, so no
 * reader ever compares two machines' clocks.
 */

/** One backend's use as one proxy saw it during one report interval. */
export interface BackendActivity {
  backend_id: string;
  /** Open right now through this proxy: HTTP requests in flight plus upgraded (WebSocket) connections. */
  connections: number;
  /** Requests (and upgrades) started since this proxy's previous report. */
  requests: number;
}

/**
 * A proxy's coalesced report for the backends of one drone, published on `jetplane.activity.<drone>`
 * (core NATS, at most once) every `interval_ms`. Backends with nothing open and no request are left
 * out, except once right after they became quiet (so their open count drops to 0 promptly).
 */
export interface ActivityReport {
  /** The proxy's name (`px-…`). */
  proxy: string;
  /** This proxy's report cadence: the drone forgets its counts after 3 intervals without a report. */
  interval_ms: number;
  backends: BackendActivity[];
}

/** `jetplane.drone.<name>.inspect` request. */
export interface LivenessRequest {
  backend_id: string;
}

/** What a drone knows about a backend it runs, measured on the drone's own clock. */
export interface DroneLiveness {
  /** Open proxied connections (HTTP in flight + WebSockets), summed over the proxies reporting. */
  open_connections: number;
  /** Since the last proxied request or open connection seen (or since ready / the drone's reconnect). */
  last_activity_ms_ago: number | null;
  /** When `max_idle_seconds` ends it if nothing happens; null without a limit or while connections are open. */
  idle_deadline_in_ms: number | null;
  /** When `lifetime_limit_seconds` ends it (even with open connections); null without a limit. */
  lifetime_deadline_in_ms: number | null;
  /** Since the drone sent the last successful renewal of the backend's key lease. */
  lease_renewed_ms_ago: number | null;
  /** If the lease is not renewed again, the drone soft-terminates the backend in this long (never negative). */
  lease_soft_deadline_in_ms: number | null;
}

/** The drone's answer: `running: false` when it does not run that backend (any more). */
export type DroneLivenessReply = ({ running: true } & DroneLiveness) | { running: false };

/**
 * `GET /ctrl/b/:backend/liveness` (and the `/c/:cluster` and `/pub` forms): why a backend is still
 * alive. Drone fields are null when the backend is not running on its drone (e.g. terminated).
 */
export interface BackendLiveness {
  backend_id: string;
  drone: string;
  status: string;
  /** The drone answered that it runs the backend. */
  running: boolean;
  max_idle_seconds: number | null;
  lifetime_limit_seconds: number | null;
  open_connections: number | null;
  last_activity_ms_ago: number | null;
  idle_deadline_in_ms: number | null;
  lifetime_deadline_in_ms: number | null;
  lease_renewed_ms_ago: number | null;
  lease_soft_deadline_in_ms: number | null;
  /** Human-readable reasons it is still alive (or why it is not). */
  why: string[];
}
