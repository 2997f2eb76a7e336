/** The environment a process backend runs with. */

/**
 * Inherited from the drone: enough to find programs and behave like a normal login environment.
 * Anything else (notably the drone's own `JETPLANE_*` settings) stays with the drone.
 */
const INHERITED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM']);
const INHERITED_PREFIXES = ['LC_', 'NODE_'];

export function inheritedEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (INHERITED.has(key) || INHERITED_PREFIXES.some((p) => key.startsWith(p))) out[key] = value;
  }
  return out;
}

/** Later layers win: the inherited base, then the executable's env, then JetPlane's own variables. */
export function backendEnv(opts: {
  inherited: Record<string, string>;
  executableEnv: Record<string, string> | undefined;
  sessionEnv: Record<string, string>;
  port: number;
}): Record<string, string> {
  return { ...opts.inherited, ...(opts.executableEnv ?? {}), ...opts.sessionEnv, PORT: String(opts.port) };
}
