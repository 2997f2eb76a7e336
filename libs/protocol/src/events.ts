/** Events on `JETPLANE_EVENTS`. They never carry a full token, a secret or auth data. */
import type { BackendState } from './status.js';

interface EventBase {
  cluster: string;
  time: number;
}

export interface BackendStatusEvent extends EventBase {
  type: 'backend.status';
  backend_id: string;
  drone: string;
  status: BackendState['status'];
  state: BackendState;
}

export interface TokenEvent extends EventBase {
  type: 'token.issued' | 'token.revoked';
  backend_id: string;
  /** First 8 characters of the token's SHA-256 (base64url): enough to correlate, useless as a credential. */
  fingerprint: string;
  static: boolean;
  user?: string | null;
}

export interface DroneEvent extends EventBase {
  type: 'drone.up' | 'drone.draining' | 'drone.stopped' | 'drone.lost';
  drone: string;
  pool: string;
}

export type JetPlaneEvent = BackendStatusEvent | TokenEvent | DroneEvent;
export type JetPlaneEventType = JetPlaneEvent['type'];
