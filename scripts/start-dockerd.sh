#!/usr/bin/env bash
# Make sure a Docker daemon answers, for the docker executor's tests:
#   - one already answers (DOCKER_HOST, else /var/run/docker.sock): print nothing, exit 0;
#   - otherwise start `dockerd` in the background, with every piece of state under one directory
#     ($JETPLANE_DOCKERD_DIR, default /tmp/jetplane-dockerd: data-root, exec-root, pidfile, log), wait
#     until it answers, print the path of its pidfile on stdout, exit 0. `scripts/stop-dockerd.sh`
#     stops exactly that daemon (and nothing else);
#   - dockerd missing or failing to come up: say why on stderr, exit 1.
# Networking is left alone (--bridge=none, no iptables): tests use host networking on 127.0.0.1.
# Needs root (dockerd does). Progress goes to stderr so `pidfile="$(start-dockerd.sh)"` works.
set -euo pipefail

dir="${JETPLANE_DOCKERD_DIR:-/tmp/jetplane-dockerd}"
host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
timeout_s="${JETPLANE_DOCKERD_TIMEOUT:-60}"

answers() {
  timeout 10 docker -H "$host" info >/dev/null 2>&1
}

if ! command -v docker >/dev/null 2>&1; then
  echo 'jetplane: the docker client is not installed (Debian/Ubuntu: apt-get install docker.io)' >&2
  exit 1
fi
if answers; then
  echo "jetplane: a Docker daemon already answers on $host; not starting one" >&2
  exit 0
fi
if [[ "$host" != unix://* ]]; then
  echo "jetplane: DOCKER_HOST=$host does not answer, and only a unix socket daemon can be started here" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo 'jetplane: dockerd is not installed (Debian/Ubuntu: apt-get install docker.io)' >&2
  exit 1
fi
if [[ "$(id -u)" -ne 0 ]]; then
  echo 'jetplane: starting dockerd needs root' >&2
  exit 1
fi

socket="${host#unix://}"
mkdir -p "$dir/data" "$dir/exec" "$(dirname "$socket")"
pidfile="$dir/pid"
# A pidfile whose process is gone (a crashed earlier run) would make dockerd refuse to start.
if [[ -f "$pidfile" ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
# Likewise a socket file nobody listens on (we checked above that nothing answers on it).
if [[ -S "$socket" ]]; then rm -f "$socket"; fi

echo "jetplane: starting dockerd on $host (state in $dir, log $dir/dockerd.log)" >&2
nohup dockerd \
  --host "$host" \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --pidfile "$pidfile" \
  --bridge=none --iptables=false --ip6tables=false \
  >"$dir/dockerd.log" 2>&1 </dev/null &
pid=$!

for ((i = 0; i < timeout_s * 4; i++)); do
  if answers; then
    echo "jetplane: dockerd is up (pid $pid)" >&2
    printf '%s\n' "$pidfile"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "jetplane: dockerd exited while starting; last lines of $dir/dockerd.log:" >&2
    tail -n 20 "$dir/dockerd.log" >&2 || true
    exit 1
  fi
  sleep 0.25
done

echo "jetplane: dockerd did not answer within ${timeout_s}s; stopping it. Last lines of $dir/dockerd.log:" >&2
tail -n 20 "$dir/dockerd.log" >&2 || true
kill "$pid" 2>/dev/null || true
exit 1
