// Child processes of the bench: every process is started here, its PID kept, and stopped by PID
// (its descendants too, found through /proc), on success, on failure and on exit.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** pid -> handle of every process we started and have not seen exit. */
const live = new Map();

/** All descendants of `pid` (children, grandchildren, ...), from /proc/<n>/stat's ppid. Synchronous. */
export function descendants(pid) {
  const children = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'latin1');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(e));
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPids(pids, signal) {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/**
 * Start a process with stdout+stderr going to `logFile` (written by the child directly, so a chatty
 * process costs the bench runner nothing). Returns a handle with waitFor/stop.
 */
export function start(name, cmd, args, { logDir, env, cwd, stdin = 'ignore' } = {}) {
  if (logDir && !existsSync(logDir)) mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir ?? '/tmp', `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(cmd, args, {
    stdio: [stdin, fd, fd],
    env: { ...process.env, ...env },
    cwd,
  });
  closeSync(fd);
  if (!child.pid) throw new Error(`${name}: could not start ${cmd}`);
  const handle = {
    name,
    pid: child.pid,
    child,
    logFile,
    exited: false,
    exitCode: null,
    /** Resolves with the first match of `re` in the log (polling), rejects on exit or timeout. */
    async waitFor(re, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = readFileSync(logFile, 'utf8');
        const m = text.match(re);
        if (m) return m;
        if (handle.exited) throw new Error(`${name} exited (code ${handle.exitCode}) before ${re}; log ${logFile}:\n${text.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`${name}: timeout waiting for ${re}; log ${logFile}:\n${text.slice(-2000)}`);
        await sleep(25);
      }
    },
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    /** SIGTERM (or `signal`), then SIGKILL to it and every descendant after `graceMs`. */
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (handle.exited) {
        killPids(descendants(handle.pid), 'SIGKILL');
        return;
      }
      const family = descendants(handle.pid);
      killPids([handle.pid], signal);
      const deadline = Date.now() + graceMs;
      while (!handle.exited && Date.now() < deadline) await sleep(20);
      // Whatever is left of it (e.g. nginx workers, drone backends) goes by PID.
      const left = [...new Set([...family, ...descendants(handle.pid)])].filter(alive);
      if (!handle.exited) killPids([handle.pid], 'SIGKILL');
      killPids(left, 'SIGKILL');
      while (!handle.exited) await sleep(10);
    },
  };
  live.set(child.pid, handle);
  child.on('exit', (code, sig) => {
    handle.exited = true;
    handle.exitCode = code ?? sig;
    live.delete(child.pid);
  });
  return handle;
}

/** Stop everything still running (reverse start order), by PID. */
export async function stopAll() {
  const handles = [...live.values()].reverse();
  for (const h of handles) await h.stop().catch(() => {});
}

/** Synchronous last resort: SIGKILL every process we started and its descendants. */
function killAllSync() {
  for (const pid of live.keys()) {
    const family = descendants(pid);
    killPids([pid, ...family], 'SIGKILL');
  }
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping child processes`);
    killAllSync();
    process.exit(130);
  });
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Wait until something accepts TCP connections on 127.0.0.1:port. */
export async function waitPort(port, timeoutMs = 20_000, handle) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (handle?.exited) throw new Error(`${handle.name} exited (code ${handle.exitCode}):\n${handle.log().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Run a process to completion (bounded by `timeoutMs`, then SIGKILL); resolves with its log text. */
export async function runToEnd(name, cmd, args, { logDir, env, timeoutMs = 120_000 } = {}) {
  const h = start(name, cmd, args, { logDir, env });
  const deadline = Date.now() + timeoutMs;
  while (!h.exited && Date.now() < deadline) await sleep(20);
  if (!h.exited) await h.stop('SIGKILL', 1000);
  return { code: h.exitCode, text: h.log(), pid: h.pid };
}
