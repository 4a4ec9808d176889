#!/usr/bin/env bash
# Runs the fuzz targets with AFL++ (cargo-afl, stable toolchain) and reports, for each,
# executions, speed, coverage and crashes.
#
#   fuzz/run.sh TARGET SECONDS     one target
#   fuzz/run.sh all SECONDS        every target, one after the other
#
# Needs cargo-afl (`cargo install cargo-afl`; it builds AFL++ once, with
# `cargo afl config --build`). Each run starts from the committed seeds (corpus/TARGET) and
# writes AFL++'s state under fuzz/out/TARGET (not committed). A crash is copied into
# regressions/TARGET/, which `cargo test` in this crate replays: fix it, then add a unit test
# beside the decoder. Never run by CI.
set -euo pipefail
cd "$(dirname "$0")"

targets=(engine_packet polling_payload socketio_packet json msgpack redis_message)
usage() { echo "usage: $0 TARGET|all SECONDS (targets: ${targets[*]})" >&2; exit 2; }
[[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || usage
if [[ $1 == all ]]; then
  selected=("${targets[@]}")
else
  [[ " ${targets[*]} " == *" $1 "* ]] || usage
  selected=("$1")
fi
seconds=$2

command -v cargo-afl >/dev/null || { echo "cargo-afl is missing: cargo install cargo-afl" >&2; exit 1; }
cargo afl build --release --features afl --bins --quiet

# AFL++ on a shared machine: no CPU binding, no frequency check, and crashes are found by
# their exit status even when the kernel's core pattern pipes core dumps elsewhere.
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1 AFL_QUIET=1

stat() { grep -E "^$1 " "$2" | sed 's/.*: //'; }

printf '%-16s %12s %10s %9s %14s %8s\n' target executions execs/s bitmap edges crashes
for t in "${selected[@]}"; do
  out="out/$t"
  rm -rf "$out"
  mkdir -p out
  # -V: stop after SECONDS; -t: 1 s per input.
  cargo afl fuzz -i "corpus/$t" -o "$out" -V "$seconds" -t 1000 "target/release/$t" \
    >"out-$t.log" 2>&1 || { echo "afl-fuzz failed for $t, see fuzz/out-$t.log" >&2; exit 1; }
  stats="$out/default/fuzzer_stats"
  crashes=$(stat saved_crashes "$stats")
  printf '%-16s %12s %10s %9s %14s %8s\n' "$t" "$(stat execs_done "$stats")" \
    "$(stat execs_per_sec "$stats")" "$(stat bitmap_cvg "$stats")" \
    "$(stat edges_found "$stats")/$(stat total_edges "$stats")" "$crashes"
  if [[ $crashes != 0 ]]; then
    mkdir -p "regressions/$t"
    for f in "$out"/default/crashes/id*; do
      cp "$f" "regressions/$t/$(basename "$f" | cut -d, -f1 | tr : -)-$(date +%s)"
    done
    echo "  crashes copied to fuzz/regressions/$t/" >&2
  fi
  rm -f "out-$t.log"
done
