/** What drones publish about a running backend besides its status: output lines and resource use. */

export type BackendOutputStream = 'stdout' | 'stderr';

/** One line a backend wrote, on `jetplane.logs.<backend>` (stream `JETPLANE_LOGS`). */
export interface BackendLogLine {
  backend_id: string;
  stream: BackendOutputStream;
  /** The line without its line ending (very long lines arrive cut into pieces). */
  line: string;
  /** Epoch ms on the drone's clock when the drone read the line. */
  time: number;
}

/** A backend's resource use, on `jetplane.stats.<backend>` (stream `JETPLANE_STATS`, latest kept). */
export interface BackendStats {
  backend_id: string;
  /** Share of one CPU (100 = one full core; can exceed 100 on several cores). */
  cpu_percent: number;
  /** Memory in use, page cache that can be reclaimed excluded (Docker's `usage - inactive_file`). */
  memory_bytes: number;
  /** The memory limit the backend runs under, when it has one. */
  memory_limit_bytes?: number | null;
  /** Epoch ms on the drone's clock when the sample was taken. */
  time: number;
}

/** The resource use shown with a backend's status and listing row. */
export type BackendUsage = Omit<BackendStats, 'backend_id'>;

/** One event of `GET /ctrl/b/:backend/logs` (SSE `data:`; the SSE `id:` is `seq`). */
export interface BackendLogEntry extends BackendLogLine {
  /** Stream sequence: pass it back as `Last-Event-ID` to resume after this line. */
  seq: number;
}
