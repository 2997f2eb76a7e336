// Machine and versions, recorded with every run.
import os from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { natsServerVersion } from './nats-server.mjs';
import { chpVersion } from './chp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
const requireRoot = createRequire(path.join(REPO, 'package.json'));

function cmd(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error ? String(r.error.message) : '?');
}
function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(requireRoot.resolve(`${name}/package.json`), 'utf8')).version;
  } catch {
    try {
      return JSON.parse(readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  }
}

export function machineInfo() {
  const cpus = os.cpus();
  let virt = '';
  try {
    virt = readFileSync('/sys/class/dmi/id/product_name', 'utf8').trim();
  } catch {
    // not exposed
  }
  let osName = '';
  try {
    osName = (readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="([^"]+)"/) ?? [])[1] ?? '';
  } catch {
    // ignore
  }
  let git = '';
  try {
    git = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'libs', 'apps'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    if (dirty) git += ` + ${dirty} uncommitted paths under libs/ and apps/`;
  } catch {
    // not a checkout
  }
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? '?',
    cpuMHz: cpus[0]?.speed ?? 0,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: osName,
    virt,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    nofile: cmd('/bin/bash', ['-c', 'ulimit -n']),
    git,
    versions: {
      node: process.version,
      nginx: cmd('/usr/sbin/nginx', ['-v']).replace('nginx version: ', ''),
      wrk: cmd('/usr/bin/wrk', ['-v']).split('\n')[0].split(' Copyright')[0],
      'nats-server': natsServerVersion(),
      'configurable-http-proxy': chpVersion(),
      ws: pkgVersion('ws'),
      undici: pkgVersion('undici'),
      '@nats-io/transport-node': pkgVersion('@nats-io/transport-node'),
      '@nats-io/jetstream': pkgVersion('@nats-io/jetstream'),
      '@nats-io/kv': pkgVersion('@nats-io/kv'),
      jetplane: pkgVersion('@jetplane/cli') === '?' ? JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version : pkgVersion('@jetplane/cli'),
    },
    jetplaneCli: existsSync(path.join(REPO, 'apps', 'cli', 'bin', 'jetplane.js')),
  };
}

export function machineMarkdown(m) {
  const v = Object.entries(m.versions)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');
  return [
    `- **Date:** ${m.date}${m.git ? ` (repo at ${m.git})` : ''}`,
    `- **Machine:** ${m.cores} cores (${m.cpuModel}${m.cpuMHz ? `, ${m.cpuMHz} MHz` : ''}), ${m.memGiB} GiB RAM, ${m.os}, kernel ${m.kernel}${m.virt ? `, ${m.virt}` : ''}; load average at start ${m.loadavg}; open-files limit ${m.nofile}`,
    `- **Versions:** ${v}`,
  ].join('\n');
}
