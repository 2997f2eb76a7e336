#!/usr/bin/env bash
# Stop the dockerd that scripts/start-dockerd.sh started, and only that one: the PID comes from its
# pidfile (argument, else $JETPLANE_DOCKERD_DIR/pid, default /tmp/jetplane-dockerd/pid) and must
# belong to a dockerd using that pidfile. No pidfile (the daemon was already running before, or is
# already stopped): nothing to do. SIGTERM first (dockerd stops its containers and its containerd),
# SIGKILL after $JETPLANE_DOCKERD_STOP_TIMEOUT seconds (default 30).
set -euo pipefail

pidfile="${1:-${JETPLANE_DOCKERD_DIR:-/tmp/jetplane-dockerd}/pid}"
timeout_s="${JETPLANE_DOCKERD_STOP_TIMEOUT:-30}"

if [[ ! -f "$pidfile" ]]; then
  echo "jetplane: no $pidfile: no dockerd of ours to stop" >&2
  exit 0
fi
pid="$(cat "$pidfile")"
if [[ ! "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
  echo "jetplane: dockerd $pid from $pidfile is not running" >&2
  rm -f "$pidfile"
  exit 0
fi
# Never signal a PID that was reused by something else.
if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "dockerd.*--pidfile $pidfile"; then
  echo "jetplane: process $pid is not the dockerd started with $pidfile; leaving it alone" >&2
  exit 1
fi

echo "jetplane: stopping dockerd (pid $pid)" >&2
kill -TERM "$pid"
for ((i = 0; i < timeout_s * 4; i++)); do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pidfile"
    echo 'jetplane: dockerd stopped' >&2
    exit 0
  fi
  sleep 0.25
done
echo "jetplane: dockerd did not stop within ${timeout_s}s; killing it" >&2
kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
