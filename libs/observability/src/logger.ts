/** pino loggers: JSON lines on stdout, redaction of credentials, `--log-pretty` for humans. */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Component name, bound on every line (`controller`, `drone`, `proxy`, `cli`). */
  component: string;
  level?: string;
  pretty?: boolean;
}

/** Paths that may hold a credential anywhere a log call passes an object. */
const REDACT = [
  'token',
  'secret_token',
  'static_token',
  'auth',
  '*.token',
  '*.secret_token',
  '*.static_token',
  '*.auth',
  'req.headers.authorization',
  'credentials',
  '*.credentials',
  'env',
  '*.env',
];

export function createLogger(opts: LoggerOptions): Logger {
  return pino({
    level: opts.level ?? process.env.JETPLANE_LOG_LEVEL ?? 'info',
    base: { component: opts.component, pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(opts.pretty ? { transport: { target: 'pino-pretty', options: { destination: 1 } } } : {}),
  });
}
