/** The controller's HTTP routes (Plane 0.4 paths, with and without the `/c/:cluster` segment). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConnectRequest, ListQuery, VERSION, type TerminationKind } from '@jetplane/protocol';
import type { HttpServerOptions, RouteFlags } from './http-server.js';
import { registerLogRoutes } from './logs.js';
import { measureConnect } from './metrics.js';
import { parseLastEventId, streamStatus } from './status-stream.js';
import { TurnBatch } from './turn-batch.js';

export interface RouteOptions extends HttpServerOptions {
  /** Stoppers of the open SSE streams, so shutdown can end them. */
  streams: Set<() => void>;
}

interface BackendParams {
  cluster?: string;
  backend: string;
}

const ANY_BODY: { config: RouteFlags } = { config: { anyBody: true } };
const BACKEND_PREFIXES = { ctrl: ['/ctrl/c/:cluster/b/:backend', '/ctrl/b/:backend'], pub: ['/pub/c/:cluster/b/:backend', '/pub/b/:backend'] };
const KINDS: TerminationKind[] = ['soft', 'hard'];

export function registerRoutes(app: FastifyInstance, opts: RouteOptions): void {
  const { api, metrics } = opts;

  const connects = new TurnBatch();
  app.post('/ctrl/connect', { schema: { body: ConnectRequest } }, async (req) =>
    measureConnect(metrics, 'http', () => connects.run(() => api.connect(req.body as ConnectRequest))),
  );

  for (const prefix of BACKEND_PREFIXES.ctrl) {
    for (const kind of KINDS) {
      app.post<{ Params: BackendParams }>(`${prefix}/${kind}-terminate`, ANY_BODY, async (req, reply) => {
        await api.terminate({ backendId: req.params.backend, kind, cluster: req.params.cluster });
        // Plane answers JSON `null`.
        return reply.type('application/json').send('null');
      });
    }
  }

  app.post<{ Params: { cluster: string; drone: string } }>('/ctrl/c/:cluster/d/:drone/drain', ANY_BODY, async (req) =>
    api.drain(req.params.cluster, req.params.drone),
  );

  app.get('/ctrl/drones', { schema: { querystring: ListQuery } }, async (req) => api.listDrones(req.query as ListQuery));
  app.get('/ctrl/backends', { schema: { querystring: ListQuery } }, async (req) => api.listBackends(req.query as ListQuery));

  for (const prefix of BACKEND_PREFIXES.pub) {
    app.get<{ Params: BackendParams }>(`${prefix}/status`, async (req) => api.status(req.params.backend, req.params.cluster));
    app.get<{ Params: BackendParams }>(`${prefix}/status-stream`, (req, reply) => statusStream(opts, req, reply));
  }
  registerLogRoutes(app, opts);
  // CORS preflight for the public routes (headers come from the onRequest hook).
  app.options('/pub/*', async (_req, reply) => reply.code(204).send());

  app.get('/ctrl/status', async () => ({ status: 'ok', version: VERSION }));
  app.get('/healthz', async (_req, reply) => {
    const ok = api.healthy();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' });
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}

/** SSE: errors before the stream starts (unknown backend → 404) go through the error handler. */
async function statusStream(opts: RouteOptions, req: FastifyRequest<{ Params: BackendParams }>, reply: FastifyReply): Promise<void> {
  const { api, metrics, streams, log } = opts;
  const watch = await api.watchStatus(req.params.backend, req.params.cluster);
  reply.hijack();
  const res = reply.raw;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const stop = (): void => watch.stop();
  streams.add(stop);
  metrics.sseStreams.inc();
  const backendLog = log.child({ backend_id: req.params.backend });
  void streamStatus({
    watch,
    lastEventId: parseLastEventId(req.headers['last-event-id']),
    ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
    log: backendLog,
    sink: {
      write: (chunk) => {
        if (!res.writableEnded && !res.destroyed) res.write(chunk);
      },
      end: () => {
        if (!res.writableEnded) res.end();
      },
      onClose: (callback) => void res.once('close', callback),
    },
  })
    .catch((err: unknown) => {
      backendLog.warn({ err }, 'status stream failed');
      if (!res.writableEnded) res.end();
    })
    .finally(() => {
      streams.delete(stop);
      metrics.sseStreams.dec();
    });
}
