/**
 * Container exits from Docker's event stream (`die`, with the exit code), for the containers of one
 * drone. The stream is reopened when it breaks (daemon restart, socket hiccup); an exit that happened
 * while it was down is then found by inspecting every awaited container.
 */
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '@jetplane/observability';
import { DOCKER_LABELS } from './docker-spec.js';
import { isNotFound } from './docker-errors.js';
import { forEachLine } from './lines.js';

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

interface Waiter {
  exited: Promise<number | null>;
  resolve(code: number | null): void;
}

const REOPEN_MIN_MS = 500;
const REOPEN_MAX_MS = 10_000;

export class ContainerExitWatch {
  private readonly waiters = new Map<string, Waiter>();
  private stream: Readable | undefined;
  private stopped = false;
  private reopenDelay = REOPEN_MIN_MS;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Dockerode,
    private readonly drone: string,
    private readonly log: Logger,
  ) {}

  /** Open the event stream; rejects when Docker cannot be reached (the drone must not start then). */
  async start(): Promise<void> {
    await this.open();
  }

  /**
   * Resolves with the exit code once the container has exited (null if it vanished without one).
   * Call before starting the container, so its exit cannot be missed.
   */
  wait(containerId: string): Promise<number | null> {
    let waiter = this.waiters.get(containerId);
    if (!waiter) {
      let resolve!: (code: number | null) => void;
      const exited = new Promise<number | null>((r) => (resolve = r));
      waiter = {
        exited,
        resolve: (code) => {
          this.waiters.delete(containerId);
          resolve(code);
        },
      };
      this.waiters.set(containerId, waiter);
    }
    return waiter.exited;
  }

  /** Stop awaiting a container that never ran (its create or start failed). */
  forget(containerId: string): void {
    this.waiters.delete(containerId);
  }

  /** Check one container now (after adopting it, or when the stream may have missed its exit). */
  async check(containerId: string): Promise<void> {
    const waiter = this.waiters.get(containerId);
    if (!waiter) return;
    try {
      const info = await this.docker.getContainer(containerId).inspect();
      if (!info.State.Running && !info.State.Restarting && info.State.Status !== 'created') waiter.resolve(info.State.ExitCode);
    } catch (err) {
      if (isNotFound(err)) waiter.resolve(null);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    this.stream?.destroy();
  }

  private async open(): Promise<void> {
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], event: ['die'], label: [`${DOCKER_LABELS.drone}=${this.drone}`] },
    })) as unknown as Readable;
    if (this.stopped) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    forEachLine(stream, (line) => this.onLine(line));
    let broken = false;
    const onBreak = (): void => {
      if (broken || this.stopped) return;
      broken = true;
      this.log.warn('Docker event stream ended; reopening');
      this.scheduleReopen();
    };
    stream.on('end', onBreak);
    stream.on('close', onBreak);
    stream.on('error', onBreak);
  }

  private onLine(line: string): void {
    let event: DockerEvent;
    try {
      event = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    if ((event.Action ?? event.status) !== 'die') return;
    const id = event.Actor?.ID ?? event.id;
    if (!id) return;
    const code = Number(event.Actor?.Attributes?.exitCode);
    this.waiters.get(id)?.resolve(Number.isInteger(code) ? code : null);
  }

  private scheduleReopen(): void {
    this.reopenTimer = setTimeout(() => {
      this.open()
        .then(() => {
          this.reopenDelay = REOPEN_MIN_MS;
          this.log.info('Docker event stream reopened');
          // Exits that happened while the stream was down.
          return Promise.all([...this.waiters.keys()].map((id) => this.check(id)));
        })
        .catch((err: unknown) => {
          if (this.stopped) return;
          this.log.warn({ err }, 'cannot reopen the Docker event stream; retrying');
          this.reopenDelay = Math.min(this.reopenDelay * 2, REOPEN_MAX_MS);
          this.scheduleReopen();
        });
    }, this.reopenDelay);
    this.reopenTimer.unref();
  }
}
