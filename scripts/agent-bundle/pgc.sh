#!/bin/sh
# pgc from a self-contained agent bundle (scripts/package-agent.mjs): runs the Node runtime the
# bundle ships on the bundled code, so the host needs no Node of its own.
#
# It finds the bundle through symlinks (readlink -f), so it may be linked from anywhere on the
# PATH, e.g. ln -s ~/pgc-agent-0.1.0/bin/pgc ~/bin/pgc. The kernel hands a script found on the
# PATH its full path as $0, so $0 always names this file.
set -e
self=$(readlink -f -- "$0")
bin_dir=${self%/*}
root=${bin_dir%/*}
exec "$root/runtime/bin/node" "$root/dist/cli/main.js" "$@"
