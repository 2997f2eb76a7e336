/**
 * The NATS request-reply surface, in the controllers' queue group so one controller answers each
 * request. Same validators and operations as HTTP; failures reply `{error: {id, kind, message}, status}`.
 * Nothing a client sends can throw out of a handler.
 */
import { ApiError, DrainRequest, QueueGroups, Subjects, TerminateRequest, type ApiErrorBody } from '@jetplane/protocol';
import { decodeJson, encodeJson, type NatsConnection } from '@jetplane/nats';
import type { Logger } from '@jetplane/observability';
import { logApiError, toApiError } from './errors.js';
import { measureConnect, type ControllerMetrics } from './metrics.js';
import type { ControllerApi } from './service.js';
import { validateConnectRequest, validatorFor } from './validate.js';

export interface NatsHandlersOptions {
  nc: NatsConnection;
  api: ControllerApi;
  metrics: ControllerMetrics;
  log: Logger;
}

type Handler = (body: unknown) => Promise<unknown>;

/** The protocol's `NatsErrorReply` (whose `kind` currently types as `never`, reported). */
export interface ErrorReply {
  error: ApiErrorBody;
  status: number;
}

export function errorReply(error: ApiError): ErrorReply {
  return { error: error.toBody(), status: error.status };
}

/** Parse a request body; an empty one is `undefined` (the validator then names what is missing). */
export function parseBody(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  try {
    return decodeJson<unknown>(data);
  } catch {
    throw new ApiError('InvalidRequest', 'body: is not valid JSON');
  }
}

/** Subscribe the three control subjects; returns a stopper that drains the subscriptions. */
export function startNatsHandlers(opts: NatsHandlersOptions): { stop(): Promise<void> } {
  const { nc, api, metrics, log } = opts;
  const validateTerminate = validatorFor(TerminateRequest);
  const validateDrain = validatorFor(DrainRequest);

  const handlers: Record<string, Handler> = {
    [Subjects.connect]: (body) => measureConnect(metrics, 'nats', () => api.connect(validateConnectRequest(body))),
    [Subjects.terminate]: async (body) => {
      const req = validateTerminate(body);
      await api.terminate({ backendId: req.backend_id, kind: req.hard ? 'hard' : 'soft', ...(req.cluster ? { cluster: req.cluster } : {}) });
      return { ok: true };
    },
    [Subjects.drain]: async (body) => {
      const req = validateDrain(body);
      return api.drain(req.cluster, req.drone);
    },
  };

  const subs = Object.entries(handlers).map(([subject, handle]) =>
    nc.subscribe(subject, {
      queue: QueueGroups.controllers,
      callback: (err, msg) => {
        if (err) {
          log.warn({ err, subject }, 'subscription error');
          return;
        }
        void (async () => {
          let reply: unknown;
          try {
            reply = await handle(parseBody(msg.data));
          } catch (thrown) {
            const error = toApiError(thrown);
            logApiError(log, error, { subject });
            reply = errorReply(error);
          }
          // Fire-and-forget requests have no reply subject.
          if (msg.reply) msg.respond(encodeJson(reply));
        })().catch((thrown: unknown) => log.warn({ err: thrown, subject }, 'could not reply'));
      },
    }),
  );

  return {
    stop: async () => {
      await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
    },
  };
}
