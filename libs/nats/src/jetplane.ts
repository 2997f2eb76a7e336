/** Everything a component needs from NATS, opened in one call. */
import { connectNats, type NatsHandle } from './connection.js';
import { ensureInfrastructure, type JetPlaneStreams } from './infrastructure.js';
import { TokenStore } from './tokens.js';
import { BackendStore } from './backends.js';
import { KeyStore } from './keys.js';
import { DroneStore } from './drones.js';
import { EventPublisher } from './events.js';
import { WorkQueue } from './work.js';

export interface JetPlane extends NatsHandle {
  streams: JetPlaneStreams;
  tokens: TokenStore;
  backends: BackendStore;
  keys: KeyStore;
  drones: DroneStore;
  events: EventPublisher;
  work: WorkQueue;
}

export async function openJetPlane(opts: { servers: string[]; name: string; replicas: number }): Promise<JetPlane> {
  const handle = await connectNats({ servers: opts.servers, name: opts.name });
  try {
    const streams = await ensureInfrastructure(handle.nc, { replicas: opts.replicas });
    return {
      ...handle,
      streams,
      tokens: new TokenStore(streams.tokens),
      backends: new BackendStore(streams.backends),
      keys: new KeyStore(streams.keys),
      drones: new DroneStore(streams.drones),
      events: new EventPublisher(streams.js),
      work: new WorkQueue(streams.js, streams.jsm),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
