/** `--help` of the `jetplane` executable and every subcommand: exit 0 and the contract's flags (contract §2). */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, stopAllProcesses } from '@jetplane/testing';

afterAll(async () => {
  await stopAllProcesses();
});

/** Subcommand → flags its help must mention (contract §2 table). */
const SUBCOMMANDS: Record<string, string[]> = {
  dev: ['--controller-port', '--proxy-port', '--nats-port', '--data-dir', '--drones', '--executor'],
  controller: ['--nats', '--host', '--port', '--default-cluster'],
  drone: ['--nats', '--cluster', '--pool', '--name', '--executor', '--max-backends', '--health-port'],
  proxy: ['--nats', '--cluster', '--host', '--port', '--health-port'],
  connect: ['--json'],
  status: ['--json'],
  terminate: ['--json'],
  events: ['--json'],
  drones: ['--json'],
  backends: ['--json'],
  drain: ['--json'],
};

describe('jetplane --help', () => {
  it('jetplane --help lists every subcommand and exits 0', async () => {
    const res = await runCli(['--help']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/usage/i);
    for (const sub of Object.keys(SUBCOMMANDS)) expect(res.stdout, `jetplane --help mentions ${sub}`).toMatch(new RegExp(`\\b${sub}\\b`));
  });

  for (const [sub, flags] of Object.entries(SUBCOMMANDS)) {
    it(`jetplane ${sub} --help exits 0 and documents ${flags.join(' ')}`, async () => {
      const res = await runCli([sub, '--help']);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/usage/i);
      for (const flag of flags) expect(res.stdout, `jetplane ${sub} --help mentions ${flag}`).toContain(flag);
      if (['connect', 'status', 'terminate', 'events', 'drones', 'backends', 'drain'].includes(sub)) {
        expect(res.stdout).toMatch(/--controller|--nats/);
      }
    });
  }
});
