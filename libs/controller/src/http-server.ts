/**
 * The fastify app: body parsing (JSON only, empty allowed), one validator compiler for every
 * schema, every error as `{id, kind, message}`, CORS on `/pub/*` like Plane, request logs at debug.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, MAX_REQUEST_BODY_BYTES } from '@jetplane/protocol';
import type { Logger } from '@jetplane/observability';
import { logApiError, toApiError } from './errors.js';
import type { ControllerMetrics } from './metrics.js';
import { registerRoutes } from './http-routes.js';
import { registerLivenessRoutes } from './liveness.js';
import type { ControllerApi } from './service.js';
import { typeboxValidatorCompiler } from './validate.js';

export interface HttpServerOptions {
  api: ControllerApi;
  metrics: ControllerMetrics;
  log: Logger;
  /** SSE keep-alive period (tests shorten it). */
  keepAliveMs?: number;
}

export interface HttpServer {
  app: FastifyInstance;
  /** End open SSE streams (they would otherwise hold `close()` open), then close the server. */
  close(): Promise<void>;
}

/** Plane's CORS policy for the public routes. */
export const PUBLIC_CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'content-type',
});

/** Set on routes whose body is ignored (terminate, drain): any content type, or none, is accepted. */
export interface RouteFlags {
  anyBody?: boolean;
}

export function sendApiError(reply: FastifyReply, error: ApiError): void {
  if (error.retryAfter !== undefined) void reply.header('retry-after', String(Math.ceil(error.retryAfter)));
  void reply.code(error.status).type('application/json').send(error.toBody());
}

export function buildHttpServer(opts: HttpServerOptions): HttpServer {
  const { log } = opts;
  const app = Fastify({
    // Requests are logged by our own hook (at debug, through the redacting logger).
    logger: false,
    bodyLimit: MAX_REQUEST_BODY_BYTES,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);

  installBodyParsers(app);
  // Callback-style hooks: an async hook costs every request a promise and a trip through fastify's
  // promise handling, for work that is synchronous.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.url.startsWith('/pub/')) void reply.headers(PUBLIC_CORS_HEADERS);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (log.isLevelEnabled('debug')) {
      log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    }
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const error = toApiError(err);
    logApiError(log, error, { method: req.method, url: req.url });
    sendApiError(reply, error);
  });
  app.setNotFoundHandler((req, reply) => {
    sendApiError(reply, new ApiError('NotFound', `No route for ${req.method} ${req.url.split('?')[0]}.`));
  });

  const streams = new Set<() => void>();
  registerRoutes(app, { ...opts, streams });
  registerLivenessRoutes(app, opts.api.liveness?.bind(opts.api));

  return {
    app,
    close: async () => {
      for (const stop of streams) stop();
      await app.close();
    },
  };
}

function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'ignore');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    // An empty JSON body is "no body" (terminate with `content-type: application/json`).
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    json(req, text, done);
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req: FastifyRequest, _body, done) => {
    if ((req.routeOptions.config as RouteFlags).anyBody) return done(null, undefined);
    done(new ApiError('InvalidRequest', 'Unsupported Content-Type: send application/json.'), undefined);
  });
}
