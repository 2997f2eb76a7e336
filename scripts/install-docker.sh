#!/usr/bin/env bash
# Make sure the Docker engine (dockerd + docker client) is installed, without downloading binaries:
#   - already there: exit 0;
#   - root with apt-get: install Debian's `docker.io` package (dockerd, containerd, runc, client), exit 0;
#   - otherwise: print one line saying what to install, exit 1.
# Starting the daemon is scripts/start-dockerd.sh's job (a package install may or may not start it).
set -euo pipefail

if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
  exit 0
fi
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Debian's docker.io starts its service through systemd when it can; a container without systemd
  # just gets the files, which is all we need.
  if apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends docker.io >&2 \
    && command -v dockerd >/dev/null 2>&1; then
    exit 0
  fi
fi
echo 'jetplane: Docker not found; install it (Debian/Ubuntu: sudo apt-get install docker.io)' >&2
exit 1
