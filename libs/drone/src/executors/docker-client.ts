/** Connecting to the Docker Engine API: which daemon (`--docker-socket`, `DOCKER_HOST`) and a bounded ping. */
import Docker from 'dockerode';
import { dockerMessage } from './docker-errors.js';

const PING_TIMEOUT_MS = 10_000;

/**
 * A client for `socket`: a path or `unix://path`, or `tcp://host:port` (plain HTTP). Without it,
 * dockerode follows `DOCKER_HOST` (and `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH`), else
 * `/var/run/docker.sock`.
 */
export function createDockerClient(socket?: string): Docker {
  if (!socket) return new Docker();
  if (socket.startsWith('tcp://') || socket.startsWith('http://')) {
    const url = new URL(socket.replace(/^tcp:/, 'http:'));
    return new Docker({ host: url.hostname, port: url.port || '2375', protocol: 'http' });
  }
  return new Docker({ socketPath: socket.replace(/^unix:\/\//, '') });
}

/** Describes where a client connects, for logs and error messages. */
export function describeDockerTarget(socket?: string): string {
  return socket ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Thrown by the drone's start when its docker executor cannot reach the daemon. */
export class DockerUnavailableError extends Error {
  readonly kind = 'docker-unavailable' as const;
  constructor(target: string, reason: string) {
    super(`the docker executor cannot reach Docker at ${target}: ${reason}`);
    this.name = 'DockerUnavailableError';
  }
}

/** Resolves with the daemon's API version, or rejects with a `DockerUnavailableError`. */
export async function pingDocker(docker: Docker, target: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
    const version = (await Promise.race([docker.version(), timeout])) as { ApiVersion?: string; Version?: string };
    return version.Version ?? version.ApiVersion ?? 'unknown';
  } catch (err) {
    throw new DockerUnavailableError(target, err instanceof Error && !('statusCode' in err) ? err.message : dockerMessage(err));
  } finally {
    clearTimeout(timer);
  }
}
