/**
 * Every process group the drone started and that may still be alive, so that none outlives the drone:
 * on any exit of the drone's own process (crash included) they are all killed synchronously.
 */
const live = new Set<number>();
let hooked = false;

/** Signal a whole process group; `false` when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllGroups);
  }
}

export function untrackGroup(pgid: number): void {
  live.delete(pgid);
}

export function killAllGroups(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}

export function trackedGroups(): number[] {
  return [...live];
}
