#!/usr/bin/env bash
# The end-to-end comparison of issue 5 in one command: builds the benchmark servers and the
# harness, then runs `loadgen suite` with the arguments given here (e.g. `--quick`).
#
#   benches/load/run.sh            # full run: 3 rounds, about 20 minutes
#   benches/load/run.sh --quick    # 1 round, short windows, small client counts: about a minute
#   SKIP_BUILD=1 benches/load/run.sh --servers ours,raw --scenarios echo
#   benches/load/run.sh --scenarios broadcast,xnode --servers ours,socketioxide,node \
#       --bcast-clients 1000 --xnode-clients 1000   # cross-node (two servers + Redis each)
#
# Results: benches/results/results.md, results.json, broadcast.svg (and logs/ of the servers).
# loadgen pins itself to CPU 1 and starts every server under `taskset -c 0` (util-linux).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
benches="$(dirname "$here")"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --manifest-path "$benches/servers/Cargo.toml"
    node_dir="$benches/servers/node"
    if [ -f "$node_dir/package.json" ] && command -v npm >/dev/null; then
        # npm ci only when node_modules is missing or older than the lock file.
        if [ ! -d "$node_dir/node_modules" ] ||
            [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
            npm ci --prefix "$node_dir" --no-audit --no-fund
        fi
    fi
    cargo build --release --manifest-path "$here/Cargo.toml"
fi

if ! command -v taskset >/dev/null && [[ " $* " != *" --no-pin "* ]]; then
    echo "run.sh: taskset not found (apt-get install util-linux), or pass --no-pin" >&2
    exit 1
fi

exec "$here/target/release/loadgen" suite "$@"
