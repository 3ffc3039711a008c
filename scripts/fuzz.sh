#!/usr/bin/env bash
# Fuzz the landing record validator for a bounded time (default 60 s). Not part of CI.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain use them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
mkdir -p fuzz/corpus/landing_validate
head -c 4000 sample_data/customer/landing/*.json > fuzz/corpus/landing_validate/customers.json || true
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz landing_validate fuzz/corpus/landing_validate -- -max_total_time="$seconds"
