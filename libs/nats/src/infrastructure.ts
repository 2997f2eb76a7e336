/** Creates every stream and KV bucket JetPlane uses, idempotently, and opens them. */
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Buckets, Streams, Subjects } from '@jetplane/protocol';
import { LOG_RETENTION } from './backend-logs.js';
import { STATS_RETENTION } from './backend-stats.js';

export interface InfrastructureOptions {
  /** JetStream replicas for every bucket and stream (3 on a 3-node cluster). */
  replicas: number;
}

/** Open handles on everything in JetStream that components share. */
export interface JetPlaneStreams {
  js: JetStreamClient;
  jsm: JetStreamManager;
  tokens: KV;
  backends: KV;
  keys: KV;
  drones: KV;
}

const DAY_NS = 24 * 60 * 60 * 1e9;

/** How many past values of a backend record are kept: its status history, replayed by the SSE stream. */
export const BACKEND_HISTORY = 16;

/**
 * Create the stream when it is missing; an existing one is left as it is, so a component started
 * with another `--nats-replicas` never rescales shared streams (KV buckets behave the same way).
 */
async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config).catch(async (err: unknown) => {
      // Another component created it first.
      await jsm.streams.info(config.name).catch(() => {
        throw err;
      });
    });
  }
}

async function ensureBucket(kvm: Kvm, name: string, history: number, replicas: number): Promise<KV> {
  return kvm.create(name, { history, replicas, storage: StorageType.File });
}

/** Create (when missing) and open every bucket and stream. Safe to call from every component at start. */
export async function ensureInfrastructure(nc: NatsConnection, opts: InfrastructureOptions): Promise<JetPlaneStreams> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStream(jsm, {
    name: Streams.events,
    subjects: [Subjects.eventsAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 7 * DAY_NS,
    max_msgs: 5_000_000,
    num_replicas: opts.replicas,
    duplicate_window: 2 * 60 * 1e9,
  });
  await ensureStream(jsm, {
    name: Streams.work,
    subjects: [Subjects.workAll],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: DAY_NS,
    num_replicas: opts.replicas,
    duplicate_window: 2 * 60 * 1e9,
  });
  await ensureStream(jsm, {
    name: Streams.logs,
    subjects: [Subjects.logsAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs_per_subject: LOG_RETENTION.maxMsgsPerSubject,
    max_age: LOG_RETENTION.maxAgeMs * 1e6,
    max_bytes: LOG_RETENTION.maxBytes,
    max_msg_size: LOG_RETENTION.maxMsgSize,
    num_replicas: opts.replicas,
  });
  await ensureStream(jsm, {
    name: Streams.stats,
    subjects: [Subjects.statsAll],
    retention: RetentionPolicy.Limits,
    // Only the latest sample matters and it is replaced every few seconds: not worth disk writes.
    storage: StorageType.Memory,
    discard: DiscardPolicy.Old,
    max_msgs_per_subject: STATS_RETENTION.maxMsgsPerSubject,
    max_age: STATS_RETENTION.maxAgeMs * 1e6,
    num_replicas: opts.replicas,
  });
  const kvm = new Kvm(js);
  const [tokens, backends, keys, drones] = await Promise.all([
    ensureBucket(kvm, Buckets.tokens, 1, opts.replicas),
    ensureBucket(kvm, Buckets.backends, BACKEND_HISTORY, opts.replicas),
    ensureBucket(kvm, Buckets.keys, 1, opts.replicas),
    ensureBucket(kvm, Buckets.drones, 1, opts.replicas),
  ]);
  return { js, jsm, tokens, backends, keys, drones };
}
