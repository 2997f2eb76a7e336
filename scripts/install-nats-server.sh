#!/usr/bin/env bash
# Make sure a nats-server binary (2.9+, with JetStream) is available, without downloading any binary:
#   - already there (JETPLANE_NATS_SERVER_BIN, PATH, /usr/sbin, ...): print its path, exit 0;
#   - root with apt-get: install Debian's `nats-server` package, print its path, exit 0;
#   - otherwise: print one line saying what to install, exit 1.
set -euo pipefail

find_nats_server() {
  if [[ -n "${JETPLANE_NATS_SERVER_BIN:-}" && -x "${JETPLANE_NATS_SERVER_BIN}" ]]; then
    printf '%s\n' "${JETPLANE_NATS_SERVER_BIN}"
    return 0
  fi
  local found
  if found="$(command -v nats-server 2>/dev/null)" && [[ -n "$found" ]]; then
    printf '%s\n' "$found"
    return 0
  fi
  local dir
  for dir in /usr/sbin /usr/local/sbin /usr/local/bin /usr/bin /sbin; do
    if [[ -x "$dir/nats-server" ]]; then
      printf '%s\n' "$dir/nats-server"
      return 0
    fi
  done
  return 1
}

if find_nats_server; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >&2 && apt-get install -y -qq nats-server >&2 && find_nats_server; then
    exit 0
  fi
fi

echo 'jetplane: nats-server not found; install it (Debian/Ubuntu: sudo apt-get install nats-server) or set JETPLANE_NATS_SERVER_BIN'
exit 1
