#!/usr/bin/env bash
# `make dev`'s config watcher: publishes CONFIG to the local config store in STATE at start and on every save
# (checked first: a file with errors is never stored, the worker keeps the last good version, and the errors are
# printed with their lines). A broken save does not stop it: the next good save is published.
#   scripts/watch-config.sh CONFIG STATE
# No errexit here: a refused publish is an answer to print, not a reason to stop watching.
set -uo pipefail
cd "$(dirname "$0")/.."
CONFIG=$1
STATE=$2
CLI="${CARGO_TARGET_DIR:-target}/release/capi-edge"

publish() {
  "$CLI" publish "$CONFIG" --local --persist-to "$STATE" --if-changed --by "make dev" --message "$1" 2>&1 \
    | sed -u 's/^/[publish] /'
}

# The content, not the modification time: an editor's save of an unchanged file publishes nothing, and two saves
# within a second are both seen.
fingerprint() { sha256sum "$CONFIG" 2>/dev/null | cut -d' ' -f1; }

[ -x "$CLI" ] || cargo build -q --release --bin capi-edge
seen=$(fingerprint)
publish "make dev started"
while sleep 0.5; do
  now=$(fingerprint)
  if [ -n "$now" ] && [ "$now" != "$seen" ]; then
    seen=$now
    publish "saved in make dev"
  fi
done
