export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { startHealthServer, type HealthServerOptions } from './health.js';
export { createRegistry, Counter, Gauge, Histogram, type Registry } from './metrics.js';
export { onShutdownSignal } from './shutdown.js';
