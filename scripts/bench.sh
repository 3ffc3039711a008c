#!/usr/bin/env bash
# Speed and memory of `stedi-tui --check --format json` against plain DuckDB doing the same work
# (scripts/plain_duckdb.py: the same queries/ folder, the same read_json column types, the same
# stages in the same order, the same checks counted) on generated data; then the warm-start cache:
# a cold run that writes it, a warm run with no file changed, a run after one accelerometer file
# changed, and the TUI's start -> first frame on the warm cache. A benchmark, not a test.
#
# Usage: scripts/bench.sh [SCALE...]            (default: 1 10 100)
# Environment:
#   BENCH_DIR   data and results (default /tmp/stedi-bench): DATA for scale F is $BENCH_DIR/f<F>,
#               generated once (`stedi-tui generate --scale F --seed 1`) and reused
#   RUNS        runs per side and scale, alternating sides; medians are reported (default 3)
#   PYTHON      the Python with the duckdb package (default: a venv in $BENCH_DIR with the duckdb
#               package of the DuckDB version stedi-tui bundles, when pip can install it; else python3,
#               pip-installing duckdb if missing)
#   QUERIES     the SQL folder both sides run (default queries)
#   STEDI_ARGS  extra stedi-tui options, e.g. "--threads 2 --memory-limit 4GB"
#   PLAIN_ARGS  extra plain_duckdb.py options, e.g. "--threads 2 --memory-limit 4GB"
#   CACHE       0 skips the warm-start part (default 1)
#   QUIET_WAIT  before each run, wait up to this many seconds for the CPU to be idle (under 10% busy
#               over 2 s), so other work on a shared machine disturbs fewer runs (default 120; 0: off)
set -euo pipefail
cd "$(dirname "$0")/.."
# Every cache run below uses the default cache (DATA/.stedi), whatever the caller's shell chose.
unset STEDI_TUI_CACHE
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stedi-tui/target}"
bench_dir="${BENCH_DIR:-/tmp/stedi-bench}"
runs="${RUNS:-3}"
python="${PYTHON:-}"
queries="${QUERIES:-queries}"
read -r -a stedi_args <<<"${STEDI_ARGS:-}"
read -r -a plain_args <<<"${PLAIN_ARGS:-}"
quiet_wait="${QUIET_WAIT:-120}"
with_cache="${CACHE:-1}"
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(1 10 100)

cargo build --release --quiet
cargo build --release --quiet --example tui_latency

results="$bench_dir/results"
mkdir -p "$results"
rm -f "$results"/*.json "$results"/*.time "$results"/*.load "$results"/*.kb
# Every run uses this build, even if the tree is rebuilt meanwhile.
bin="$results/stedi-tui"
cp "$CARGO_TARGET_DIR/release/stedi-tui" "$bin"
tui_latency="$results/tui_latency"
cp "$CARGO_TARGET_DIR/release/examples/tui_latency" "$tui_latency"

# The DuckDB version stedi-tui bundles, as a cache it writes records it (`cache info`).
probe="$bench_dir/duckdb-version-probe"
rm -rf "$probe"
bundled=""
if "$bin" generate --customers 3 --seed 1 --out "$probe/data" >/dev/null 2>&1; then
  "$bin" --check --quiet --data "$probe/data" --cache "$probe/cache" >/dev/null 2>&1 || true
  bundled=$("$bin" cache info --data "$probe/data" --cache "$probe/cache" 2>/dev/null | awk '$1 == "duckdb" { print $2 }') || bundled=""
fi
rm -rf "$probe"
bundled="${bundled#v}"
echo "${bundled:-unknown}" >"$results/bundled-duckdb"
# Plain DuckDB of the same version, in its own venv, when pip can install it (PYTHON overrides).
if [ -z "$python" ]; then
  python=python3
  venv="$bench_dir/venv-duckdb-$bundled"
  if [ -n "$bundled" ] && [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    python="$venv/bin/python"
  elif [ -n "$bundled" ] &&
    python3 -m pip download --quiet --no-deps --dest "$bench_dir/pip-duckdb-$bundled" "duckdb==$bundled" >/dev/null 2>&1; then
    echo "installing duckdb $bundled (stedi-tui's DuckDB) into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --no-index --find-links "$bench_dir/pip-duckdb-$bundled" "duckdb==$bundled"
    python="$venv/bin/python"
  fi
fi
if ! "$python" -c 'import duckdb' 2>/dev/null; then
  echo "installing the duckdb Python package" >&2
  "$python" -m pip install --quiet duckdb
fi
plain_version=$("$python" -c 'import duckdb; print(duckdb.__version__)')
if [ "$plain_version" != "$bundled" ]; then
  echo "plain DuckDB is duckdb $plain_version ($python), not stedi-tui's DuckDB ${bundled:-(unknown)}:" \
    "pip cannot install duckdb==${bundled:-?} here, or PYTHON chose another" >&2
fi

# Percent of CPU time the whole machine was busy over the last 2 s.
cpu_busy() {
  local a b i total=0 idle
  read -r -a a </proc/stat
  sleep 2
  read -r -a b </proc/stat
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $((100 - 100 * idle / (total > 0 ? total : 1)))
}

# Wait (at most QUIET_WAIT s) for an idle machine; record the load average and busy % at the start.
before_run() {
  local busy=0 waited=0
  if [ "$quiet_wait" -gt 0 ]; then
    while busy=$(cpu_busy) && [ "$busy" -ge 10 ] && [ "$waited" -lt "$quiet_wait" ]; do
      sleep 3
      waited=$((waited + 5))
    done
  fi
  echo "$(cut -d' ' -f1 /proc/loadavg) $busy" >"$1"
}

# The Python interpreter's own share of the plain side's figures.
/usr/bin/time -f '%e %M %U %S' -o "$results/python.time" "$python" -c 'import duckdb; duckdb.connect()'

for scale in "${scales[@]}"; do
  data="$bench_dir/f$scale"
  if [ ! -f "$data/.generated" ]; then
    echo "generating scale $scale into $data" >&2
    rm -rf "$data"
    "$bin" generate --scale "$scale" --seed 1 --out "$data" >/dev/null
    touch "$data/.generated"
  fi
  for run in $(seq "$runs"); do
    echo "scale $scale, run $run of $runs" >&2
    before_run "$results/f$scale-stedi-$run.load"
    status=0
    /usr/bin/time -f '%e %M %U %S' -o "$results/f$scale-stedi-$run.time" \
      "$bin" --check --format json --quiet --no-cache --data "$data" --queries "$queries" "${stedi_args[@]}" \
      >"$results/f$scale-stedi-$run.json" || status=$?
    if [ "$status" -gt 1 ]; then
      echo "stedi-tui failed (exit $status) on $data" >&2
      exit 1
    fi
    before_run "$results/f$scale-plain-$run.load"
    /usr/bin/time -f '%e %M %U %S' -o "$results/f$scale-plain-$run.time" \
      "$python" scripts/plain_duckdb.py "$data" --queries "$queries" "${plain_args[@]}" \
      >"$results/f$scale-plain-$run.json"
  done
  [ "$with_cache" = 1 ] || continue
  # One accelerometer file is "changed" by appending a copy of its first record (restored after).
  changed=$(find "$data/accelerometer/landing" -type f -name '*.json' | sort | head -n 1)
  for run in $(seq "$runs"); do
    echo "scale $scale, cache run $run of $runs" >&2
    "$bin" cache clear --data "$data" >/dev/null 2>&1
    for step in cold warm changed; do
      if [ "$step" = changed ]; then
        cp -p "$changed" "$results/changed.orig"
        head -n 1 "$changed" >>"$changed"
      fi
      before_run "$results/f$scale-$step-$run.load"
      /usr/bin/time -f '%e %M %U %S' -o "$results/f$scale-$step-$run.time" \
        "$bin" --check --format json --quiet --data "$data" --queries "$queries" "${stedi_args[@]}" \
        >"$results/f$scale-$step-$run.json" || [ $? -le 1 ]
      if [ "$step" = changed ]; then
        # What a run without the cache finds on the same changed data (once: the change is the same
        # every run), for "same results".
        if [ "$run" = 1 ]; then
          "$bin" --check --format json --quiet --no-cache --data "$data" --queries "$queries" "${stedi_args[@]}" \
            >"$results/f$scale-changed-nocache.json" || [ $? -le 1 ]
        fi
        mv "$results/changed.orig" "$changed"
      fi
    done
    du -sk "$data/.stedi" | cut -f1 >"$results/f$scale-cache-$run.kb"
  done
  # The TUI on the warm cache (rebuilt for the restored file first), start -> first frame.
  "$bin" --check --quiet --data "$data" --queries "$queries" >/dev/null || true
  before_run "$results/f$scale-tui.load"
  "$tui_latency" "$data" accelerometer_landing >"$results/f$scale-tui.json"
done

"$python" - "$results" "$runs" "$bench_dir" "${scales[@]}" <<'EOF'
import json, os, statistics, sys

results, runs, bench_dir, scales = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
median = statistics.median


def timed(name):
    wall, rss, user, system = open(os.path.join(results, name + ".time")).read().split()[-4:]
    return float(wall), int(rss) / 1024, float(user) + float(system)


def size(path):
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs if "/.stedi" not in r)
    return f"{total / 1e6:,.0f} MB" if total >= 1e6 else f"{total / 1e3:,.0f} kB"


header = ("F", "input", "stedi s", "stedi MB", "duckdb s", "duckdb MB", "time ratio", "mem ratio",
          "sql ratio", "cpu ratio", "load s", "stages s", "checks s", "checks %", "loadavg")
rows, mismatches, versions = [], [], set()
for scale in scales:
    s = [timed(f"f{scale}-stedi-{r}") for r in range(1, runs + 1)]
    p = [timed(f"f{scale}-plain-{r}") for r in range(1, runs + 1)]
    reports = [json.load(open(os.path.join(results, f"f{scale}-stedi-{r}.json"))) for r in range(1, runs + 1)]
    plains = [json.load(open(os.path.join(results, f"f{scale}-plain-{r}.json"))) for r in range(1, runs + 1)]
    loads = [float(open(os.path.join(results, f"f{scale}-{side}-{r}.load")).read().split()[0])
             for side in ("stedi", "plain") for r in range(1, runs + 1)]
    versions.update(pl["duckdb"] for pl in plains)
    t = {k: median(r["summary"]["timings"][k] for r in reports) for k in ("load", "stages", "checks")}
    pipeline = median(sum(r["summary"]["timings"].values()) for r in reports)
    checks_share = median(r["summary"]["timings"]["checks"] / sum(r["summary"]["timings"].values()) for r in reports)
    plain_pipeline = median(sum(pl["timings"].values()) for pl in plains)
    sw, sm, sc = (median(x[i] for x in s) for i in range(3))
    pw, pm, pc = (median(x[i] for x in p) for i in range(3))
    rows.append((scale, size(f"{bench_dir}/f{scale}"), f"{sw:.2f}", f"{sm:,.0f}", f"{pw:.2f}", f"{pm:,.0f}",
                 f"{sw / pw:.2f}", f"{sm / pm:.2f}", f"{pipeline / plain_pipeline:.2f}", f"{sc / pc:.2f}",
                 f"{t['load']:.2f}", f"{t['stages']:.2f}", f"{t['checks']:.2f}", f"{100 * checks_share:.0f}%",
                 f"{min(loads):.1f}-{max(loads):.1f}"))
    tables = {t["name"]: t["rows"] for t in reports[0]["tables"]}
    checks = {c["id"]: c["failing_rows"] for c in reports[0]["checks"]}
    if tables != plains[0]["tables"] or checks != plains[0]["checks"]:
        diff = sorted(set(tables.items()) ^ set(plains[0]["tables"].items()))
        diff += sorted(set(checks.items()) ^ set(plains[0]["checks"].items()))
        mismatches.append(f"F={scale}: {diff}")

widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
for line in [header, ["-" * w for w in widths], *rows]:
    print("  ".join(str(x).rjust(w) for x, w in zip(line, widths)))
pw, pm, _ = timed("python")
print(f"\nmedians of {runs} runs per side; s = wall seconds of the whole process, MB = its peak RSS (/usr/bin/time);")
print("time, mem ratio = stedi-tui / DuckDB of those; sql ratio = the same of load + stages + checks as each side")
print("times them itself (no process start, no report); cpu ratio = of user+sys CPU seconds (less sensitive")
print("to other work on the machine than wall time); load/stages/checks = stedi-tui's split (JSON report")
print("summary.timings), checks % = checks / (load + stages + checks);")
print("loadavg = 1-minute load average before each run (min-max; 2 cores here means 2.0 is a full machine).")
bundled = open(os.path.join(results, "bundled-duckdb")).read().strip()
print(f"plain DuckDB: Python duckdb {', '.join(sorted(versions))} (stedi-tui bundles DuckDB {bundled}); its figures "
      f"include the interpreter ({pw:.2f} s, {pm:,.0f} MB for `import duckdb` alone).")
cache_rows = []
for scale in scales:
    if not os.path.exists(os.path.join(results, f"f{scale}-cold-1.time")):
        continue
    step = {k: [timed(f"f{scale}-{k}-{r}") for r in range(1, runs + 1)] for k in ("cold", "warm", "changed")}
    reports = {k: [json.load(open(os.path.join(results, f"f{scale}-{k}-{r}.json"))) for r in range(1, runs + 1)]
               for k in ("cold", "warm", "changed")}
    nocache = median(x[0] for x in (timed(f"f{scale}-stedi-{r}") for r in range(1, runs + 1)))
    cold, warm, changed = (median(x[0] for x in step[k]) for k in ("cold", "warm", "changed"))
    mem = max(x[1] for k in step for x in step[k])
    parsed = reports["changed"][0]["summary"]["cache"]
    tui = json.load(open(os.path.join(results, f"f{scale}-tui.json")))
    kb = median(int(open(os.path.join(results, f"f{scale}-cache-{r}.kb")).read()) for r in range(1, runs + 1))
    def counts(report):
        return ([(t["name"], t["rows"]) for t in report["tables"]],
                [(c["id"], c["failing_rows"]) for c in report["checks"]])
    changed_nocache = json.load(open(os.path.join(results, f"f{scale}-changed-nocache.json")))
    same = (all(counts(r) == counts(reports["cold"][0]) for r in reports["warm"])
            and all(counts(r) == counts(changed_nocache) for r in reports["changed"]))
    cache_rows.append((scale, f"{nocache:.2f}", f"{cold:.2f}", f"{warm:.2f}", f"{100 * warm / cold:.0f}%",
                       f"{changed:.2f}", f"{100 * changed / cold:.0f}%",
                       f"{parsed['files_parsed']}/{parsed['files_parsed'] + parsed['files_reused']}",
                       f"{parsed['checks_run']}/{parsed['checks_run'] + parsed['checks_reused']}",
                       f"{kb / 1024:,.0f}", f"{mem:,.0f}", f"{tui['start_to_first_frame_s']:.2f}",
                       "yes" if same else "NO"))
if cache_rows:
    header = ("F", "no cache s", "cold s", "warm s", "warm/cold", "1 changed s", "changed/cold", "files parsed",
              "checks rerun", "cache MB", "peak MB", "TUI 1st frame s", "same results")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *cache_rows)]
    print("\nwarm start (stedi-tui --check --format json with its default cache, DATA/.stedi/):")
    for line in [header, ["-" * w for w in widths], *cache_rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths)))
    print("cold = cache cleared (the run parses everything and writes the cache); warm = nothing changed;")
    print("1 changed = one accelerometer file got one more line; files parsed / checks rerun are of that run;")
    print("TUI 1st frame = examples/tui_latency, start (engine open) to first frame on the warm cache;")
    print("same results = every warm run's table rows and failing rows equal the cold run's, and every")
    print("1 changed run's equal those of a --no-cache run on the same changed data.")

if mismatches:
    print("\nWARNING: the two sides disagree (table rows or failing rows):", *mismatches, sep="\n  ")
else:
    print("Both sides found the same rows in every table and the same failing rows for every check.")
EOF
