/** @jetplane/testing: real nats-server, real component processes and clients for end-to-end tests. */
export { delay, waitFor, withTimeout, StopWaiting, type WaitOptions } from './wait.js';
export { uniqueName } from './names.js';
export { freePort, freePorts, isPortOpen } from './ports.js';
export { descendants, identityOf, isAlive, type ProcessIdentity } from './proc-tree.js';
export {
  REPO_ROOT,
  CLI_PATH,
  ManagedProcess,
  spawnManaged,
  spawnCli,
  startComponent,
  runCli,
  isReadyLine,
  describeExit,
  runningProcesses,
  stopAllProcesses,
  type LogLine,
  type ExitInfo,
  type SpawnOptions,
  type ComponentKind,
  type CliResult,
} from './processes.js';
export {
  natsServerBinary,
  startNatsServer,
  startNatsCluster,
  type NatsServer,
  type NatsServerOptions,
  type NatsCluster,
  type NatsClusterNode,
} from './nats-server.js';
export {
  httpRequest,
  jsonOf,
  getJson,
  postJson,
  openSse,
  type HttpResponse,
  type HttpRequestOptions,
  type SseEvent,
  type SseStream,
} from './http.js';
export { openInspector, type Inspector, type StoredEvent } from './jetstream.js';
export {
  ECHO_SERVER_PATH,
  echoExecutable,
  startJetPlane,
  listOf,
  isBackendOutput,
  type EchoReply,
  type JetPlaneEnv,
  type JetPlaneOptions,
  type DroneHandle,
  type ApiResult,
  type ProcessExecutableSpec,
} from './cluster.js';
