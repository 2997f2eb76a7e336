import { describe, it, expect, afterEach } from 'vitest';
import { controllerCommand, type ControllerCliOptions } from './index.js';

async function parse(args: string[]): Promise<ControllerCliOptions> {
  let seen: ControllerCliOptions | undefined;
  const cmd = controllerCommand().exitOverride().configureOutput({ writeErr: () => undefined });
  cmd.action((opts: ControllerCliOptions) => void (seen = opts)); // replace the real action: parse only
  await cmd.parseAsync(args, { from: 'user' });
  return seen!;
}

const ENV = ['JETPLANE_NATS', 'JETPLANE_PORT', 'JETPLANE_DEFAULT_CLUSTER', 'JETPLANE_NATS_REPLICAS'];
afterEach(() => {
  for (const name of ENV) delete process.env[name];
});

describe('controller command', () => {
  it('has Plane-like defaults', async () => {
    const opts = await parse(['--nats', 'nats://127.0.0.1:4222']);
    expect(opts).toMatchObject({ nats: 'nats://127.0.0.1:4222', host: '127.0.0.1', port: 8080, natsReplicas: 1 });
  });

  it('reads every flag from JETPLANE_<FLAG>', async () => {
    process.env.JETPLANE_NATS = 'nats://a:1,nats://b:2';
    process.env.JETPLANE_PORT = '0';
    process.env.JETPLANE_DEFAULT_CLUSTER = 'localhost:9090';
    process.env.JETPLANE_NATS_REPLICAS = '3';
    expect(await parse([])).toMatchObject({ nats: 'nats://a:1,nats://b:2', port: 0, defaultCluster: 'localhost:9090', natsReplicas: 3 });
  });

  it('requires --nats and validates numbers', async () => {
    await expect(parse([])).rejects.toThrow(/nats/);
    await expect(parse(['--nats', 'x', '--port', '70000'])).rejects.toThrow(/integer/);
  });
});
