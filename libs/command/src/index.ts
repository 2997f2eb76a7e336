export { envNameFor, flag, JetPlaneCommand, optionsWithoutEnv, integer, port, seconds, clusterName, timingJson } from './options.js';
export { componentCommand, componentLogger, type ComponentFlags } from './component.js';
