#!/bin/sh
# bin/ccm of a release: runs the CLI from this release's sources with its own tsx.
# Resolves its real location, so /opt/ccm/current/bin/ccm runs the release the symlink
# pointed at when the process started (a symlink flip affects the next start only).
# CCM_NODE: node binary to use (default: `node` on PATH; needs Node >= 20.10).
set -eu
self=$(readlink -f -- "$0")
root=$(dirname -- "$(dirname -- "$self")")
exec "${CCM_NODE:-node}" --import "file://$root/apps/cli/node_modules/tsx/dist/loader.mjs" "$root/apps/cli/src/main.ts" "$@"
