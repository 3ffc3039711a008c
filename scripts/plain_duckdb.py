#!/usr/bin/env python3
"""The stedi-tui pipeline done by plain DuckDB (the `duckdb` Python package), as the baseline for
scripts/bench.sh. It reads the same queries/ folder, so it always runs the same SQL:

  1. landing: every queries/landing/*.sql (CREATE TABLE), then ONE statement per table over all of
     its files: INSERT INTO t SELECT * FROM read_json([files], format = 'auto', columns = {declared
     types, read back from duckdb_columns() as the engine does});
  2. reference: CREATE VIEW name AS <queries/reference/name.sql>. What the engine makes itself and
     the SQL reads is made too, as the engine makes it for clean data: `<table>_rejected` (empty:
     plain read_json loads every record or fails), `erased_customers` (from DATA/_erasure_list.json,
     empty without one), the `sha2(x, 256)` macro, and after the stages the views `zone_columns`
     and `<table>_with_keys` (src/engine/dialect.rs);
  3. stages: CREATE TABLE name AS <queries/{trusted,curated}/name.sql>, in the engine's order
     (dependencies first, then trusted before curated, then file order);
  4. checks (unless --no-checks): every queries/checks/*.sql, `for_each: tables` ones once per table
     (landing, then stages in run order; `{columns}` filled in as the engine does), `for_each:
     landing` once per landing table, a listed
     `for_each` once per table listed, `for_each: expected` ones skipped (no --expect):
     SELECT count(*) FROM (<check>) and, when it finds rows, the first 5 of them.

Prints one JSON object on stdout: DuckDB version, row counts per table, failing rows per check,
seconds per phase (load / stages / checks) and per check. Usage:

  scripts/plain_duckdb.py DATA_DIR [--queries DIR] [--threads N] [--memory-limit SIZE]
                          [--temp-dir DIR] [--no-checks]
"""
import argparse
import json
import os
import re
import sys
import time

try:
    import duckdb
except ImportError:
    sys.exit("plain_duckdb.py: the duckdb Python package is missing (pip install duckdb)")

EXTENSIONS = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


def sql_files(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".sql"))


def read_sql(path):
    with open(path, encoding="utf-8") as f:
        return re.sub(r"[;\s]+$", "", f.read())


def stem(path):
    return os.path.basename(path)[: -len(".sql")]


def landing_files(folder):
    """Every landing file under folder, recursively, sorted (the engine's walkdir order)."""
    files = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in names:
            if not name.startswith(".") and name.lower().endswith(EXTENSIONS):
                files.append(os.path.join(root, name))
    return sorted(files)


def header(sql):
    fields = {}
    for line in sql.splitlines():
        line = line.strip()
        if not line.startswith("--"):
            if line:
                break
            continue
        key, _, value = line[2:].partition(":")
        if value:
            fields[key.strip()] = value.strip()
    return fields


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def strip_comments(sql):
    return re.sub(r"--[^\n]*", "", sql)


def order_stages(stages):
    """Kahn's algorithm, always taking the first ready stage: the engine's order."""
    names = [name.lower() for name, _ in stages]
    deps = []
    for i, (_, sql) in enumerate(stages):
        words = set(w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", strip_comments(sql)))
        deps.append([j for j, n in enumerate(names) if j != i and n in words])
    done, order = [False] * len(stages), []
    while len(order) < len(stages):
        ready = [i for i in range(len(stages)) if not done[i] and all(done[d] for d in deps[i])]
        if not ready:
            sys.exit("plain_duckdb.py: stages read each other in a cycle")
        done[ready[0]] = True
        order.append(stages[ready[0]])
    return order


KEY_COLUMNS = ("email", "user", "serialNumber", "customer_pseudonym", "device_pseudonym")


def create_check_views(con, tables):
    """zone_columns and <table>_with_keys, as src/engine/dialect.rs makes them."""
    for table in tables:
        have = [r[0].lower() for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND table_name = ? AND NOT internal", [table]).fetchall()]
        padding = "".join(f', CAST(NULL AS VARCHAR) AS "{k}"' for k in KEY_COLUMNS if k.lower() not in have)
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{table}_with_keys" AS SELECT *{padding} FROM "{table}"')
    names = ", ".join(quote_literal(t) for t in tables) or "NULL"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW zone_columns AS SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = current_schema() AND NOT internal "
        f"AND table_name IN ({names}) ORDER BY table_name, column_index"
    )


def fill(con, sql, table):
    """A generic check for one table: {table}, and {columns} as the engine spells it (checks.rs)."""
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name = ? AND NOT internal ORDER BY column_index",
        [table]).fetchall()]
    listed = ", ".join("`%s`" % c.replace("`", "``") for c in columns)
    return sql.replace("{table}", table).replace("{columns}", listed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data")
    parser.add_argument("--queries", default="queries")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--memory-limit")
    parser.add_argument("--temp-dir")
    parser.add_argument("--no-checks", action="store_true")
    args = parser.parse_args()
    q = args.queries

    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO sha2(value, bits) AS "
        "CASE WHEN bits = 256 THEN sha256(value) ELSE error('sha2: only 256 bits are supported') END"
    )
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = {quote_literal(args.memory_limit)}")
    if args.temp_dir:
        con.execute(f"SET temp_directory = {quote_literal(args.temp_dir)}")
    rows, seconds, checks, check_seconds = {}, {}, {}, {}

    started = time.perf_counter()
    tables = []
    for path in sql_files(os.path.join(q, "landing")):
        name = stem(path)
        dataset = name[: -len("_landing")]
        con.execute(read_sql(path))
        columns = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE table_name = ? AND NOT internal ORDER BY column_index",
            [name],
        ).fetchall()
        struct = "{" + ", ".join(f"{quote_literal(c)}: {quote_literal(t)}" for c, t in columns) + "}"
        files = [f for f in landing_files(os.path.join(args.data, dataset, "landing")) if os.path.getsize(f) > 0]
        file_list = "[" + ", ".join(quote_literal(f) for f in files) + "]"
        con.execute(f'INSERT INTO "{name}" SELECT * FROM read_json({file_list}, format = \'auto\', columns = {struct})')
        tables.append(name)
        con.execute(
            f'CREATE TABLE "{name}_rejected" (source_file VARCHAR, line BIGINT, raw_record VARCHAR, reason VARCHAR)'
        )
    erased = []
    erasure_list = os.path.join(args.data, "_erasure_list.json")
    if os.path.exists(erasure_list):
        with open(erasure_list, encoding="utf-8") as f:
            erased = json.load(f)
    con.execute("CREATE TABLE erased_customers (email VARCHAR NOT NULL)")
    for email in erased:
        con.execute("INSERT INTO erased_customers VALUES (?)", [email])
    landing = list(tables)
    # The run's clock, as src/engine/pipeline.rs makes it (consent dated later is not consent yet).
    con.execute("CREATE TABLE as_of (epoch_ms BIGINT NOT NULL)")
    con.execute("INSERT INTO as_of VALUES (?)", [int(time.time() * 1000)])
    # Reference views read each other (consent_by_email reads customer_records): in their order.
    for name, sql in order_stages([(stem(p), read_sql(p)) for p in sql_files(os.path.join(q, "reference"))]):
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {sql}')
    seconds["load"] = time.perf_counter() - started

    started = time.perf_counter()
    stages = [(stem(p), read_sql(p)) for zone in ("trusted", "curated") for p in sql_files(os.path.join(q, zone))]
    for name, sql in order_stages(stages):
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        tables.append(name)
    create_check_views(con, tables)
    seconds["stages"] = time.perf_counter() - started
    for name in tables:
        rows[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]

    started = time.perf_counter()
    if not args.no_checks:
        for path in sql_files(os.path.join(q, "checks")):
            sql = read_sql(path)
            fields = header(sql)
            for_each = fields.get("for_each")
            if for_each is None:
                instances = [(fields["id"], sql)]
            elif for_each == "tables":
                instances = [(fields["id"].replace("{table}", t), fill(con, sql, t)) for t in tables]
            elif for_each == "landing":
                instances = [(fields["id"].replace("{table}", t), fill(con, sql, t)) for t in landing]
            elif for_each == "expected":
                instances = []
            else:
                listed = [t.strip() for t in for_each.split(",") if t.strip()]
                instances = [(fields["id"].replace("{table}", t), fill(con, sql, t)) for t in listed]
            for check_id, check_sql in instances:
                check_started = time.perf_counter()
                failing = con.execute(f"SELECT count(*) FROM ({check_sql}) AS q").fetchone()[0]
                if failing:
                    con.execute(f"SELECT * FROM ({check_sql}) AS q LIMIT 5").fetchall()
                checks[check_id] = failing
                check_seconds[check_id] = time.perf_counter() - check_started
    seconds["checks"] = time.perf_counter() - started

    version = con.execute("SELECT version()").fetchone()[0]
    print(json.dumps({"duckdb": version, "tables": rows, "checks": checks, "timings": seconds, "check_seconds": check_seconds}, indent=2))


if __name__ == "__main__":
    main()
