#!/usr/bin/env bash
# Makes sure nats-server is installed: the tests and the demo start real ones. On Debian it is
# installed with apt-get when that is usable (root, or passwordless sudo); otherwise this stops
# with the exact command to run.
set -euo pipefail

if [ -n "${PGC_NATS_SERVER:-}" ] && [ -x "${PGC_NATS_SERVER}" ]; then exit 0; fi
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then exit 0; fi

install_cmd="apt-get update && apt-get install -y nats-server"
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "nats-server not found; installing it: $install_cmd" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    exit 0
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "nats-server not found; installing it: sudo $install_cmd" >&2
    sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    exit 0
  fi
  echo "nats-server is required (the tests and the demo start real ones). Install it with:" >&2
  echo "  sudo sh -c '$install_cmd'" >&2
else
  echo "nats-server is required (the tests and the demo start real ones)." >&2
  echo "Install it from your distribution or https://github.com/nats-io/nats-server/releases," >&2
  echo "then put it on PATH or set PGC_NATS_SERVER=/path/to/nats-server." >&2
fi
exit 1
