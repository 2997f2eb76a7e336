/**
 * Docker helpers for the docker executor's end-to-end tests: is a daemon reachable, the locally built
 * test image (no registry needed), container inspection through the `docker` client, and cleanup of
 * the containers a test environment's drones leave.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.js';

/** The daemon the tests (and the drones they start) use: `DOCKER_HOST`, else the default socket. */
export function dockerHost(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Drone arguments selecting that daemon. */
export function dockerDroneArgs(): string[] {
  return ['--docker-socket', dockerHost()];
}

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the `docker` client against {@link dockerHost} (never throws; a missing client is code 127). */
export function docker(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_HOST: dockerHost(), ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? err.message : '') });
      },
    );
  });
}

/** `undefined` when a daemon answers, else why the docker tests cannot run (for `describe.skipIf`). */
export async function dockerUnavailableReason(): Promise<string | undefined> {
  const info = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
  if (info.code === 0 && info.stdout.trim()) return undefined;
  const why = (info.stderr || info.stdout).trim().split('\n')[0] ?? 'no answer';
  return `no Docker daemon reachable at ${dockerHost()} (${why}); start one with scripts/start-dockerd.sh`;
}

export const TEST_IMAGE_SCRIPT = join(REPO_ROOT, 'test', 'fixtures', 'docker', 'build-image.sh');

/**
 * Build (or reuse) the test backend's image from this Node binary and return its reference.
 * See test/fixtures/docker/backend/server.mjs for what the backend does.
 */
export function buildTestImage(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [TEST_IMAGE_SCRIPT],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, DOCKER_HOST: dockerHost(), NODE: process.execPath } },
      (err, stdout, stderr) => {
        const image = String(stdout).trim().split('\n').pop() ?? '';
        if (err || !image) reject(new Error(`building the test image failed: ${String(stderr).trim() || err?.message}`));
        else resolve(image);
      },
    );
  });
}

/** The subset of `docker inspect` the tests read. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; ExitCode: number };
  Config: { Env: string[] | null; Labels: Record<string, string> | null; Image: string };
  HostConfig: {
    NetworkMode: string;
    Memory: number;
    CpuPeriod: number;
    CpuQuota: number;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
    Binds: string[] | null;
  };
}

/** `docker inspect` of a container, or undefined when there is none by that name or id. */
export async function inspectContainer(nameOrId: string): Promise<ContainerInspect | undefined> {
  const res = await docker(['container', 'inspect', nameOrId]);
  if (res.code !== 0) return undefined;
  return (JSON.parse(res.stdout) as ContainerInspect[])[0];
}

/** Ids of every container (running or not) carrying `label` (`key` or `key=value`). */
export async function containersWithLabel(label: string): Promise<string[]> {
  const res = await docker(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${label}`]);
  if (res.code !== 0) throw new Error(`docker ps failed: ${res.stderr.trim()}`);
  return res.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

/** Force-remove every container of these drones (test teardown: nothing may outlive a test file). */
export async function removeDroneContainers(droneNames: string[]): Promise<void> {
  for (const drone of droneNames) {
    const ids = await containersWithLabel(`dev.jetplane.drone=${drone}`).catch(() => []);
    if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
  }
}
