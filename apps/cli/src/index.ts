export { buildProgram, run, subcommandOf } from './program.js';
export { buildConnectRequest, connectRequestOf, describeConnectResponse, type ConnectFlags } from './connect.js';
