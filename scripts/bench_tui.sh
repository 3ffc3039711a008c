#!/usr/bin/env bash
# TUI responsiveness at scale: generates ~10 million accelerometer readings (scale 123 of the real
# data) once, then measures load -> first frame and PageDown -> redrawn page (see
# examples/tui_latency.rs). Usage: scripts/bench_tui.sh [SCALE] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stedi-tui/target}"
scale="${1:-123}"
dir="${2:-/tmp/stedi-bench-f$scale}"
cargo build --release --quiet --example tui_latency
bin="$CARGO_TARGET_DIR/release/stedi-tui"
cargo build --release --quiet
if [ ! -d "$dir/accelerometer" ]; then
  echo "generating scale $scale into $dir" >&2
  "$bin" generate --scale "$scale" --seed 1 --out "$dir" >/dev/null
fi
du -sh "$dir" >&2
# Cold (no cache), then twice with the cache: the first of those builds it, the second is the
# warm start a person reopening the TUI gets.
STEDI_TUI_CACHE=off "$CARGO_TARGET_DIR/release/examples/tui_latency" "$dir" accelerometer_landing
"$bin" cache clear --data "$dir" >/dev/null 2>&1 || true
"$CARGO_TARGET_DIR/release/examples/tui_latency" "$dir" accelerometer_landing
"$CARGO_TARGET_DIR/release/examples/tui_latency" "$dir" accelerometer_landing
