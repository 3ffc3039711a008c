"""stedi_glue: the runtime shared by the Spark / AWS Glue jobs that `stedi-tui emit glue` writes.

Every job script of this folder imports it (on Glue: pass it with --extra-py-files). It holds the
catalog the jobs share (landing schemas, reference views, table folders, stage order), all copied
from the queries folder by the emitter, and the code that reads the job arguments, opens the Spark
session, reads and writes the S3 zone layout as Parquet, and provides what the SQL expects of its
engine, as stedi-tui does for DuckDB:

- the landing tables with their declared types (the landing job writes them, typed, as Parquet),
  and <table>_rejected for the records that do not fit;
- erased_customers(email) from DATA/_erasure_list.json (empty without one); as_of(epoch_ms), the job's time;
- the reference views, getvariable('pseudonym_key') (the key argument or STEDI_PSEUDONYM_KEY,
  never printed), zone_columns(table_name, column_name, data_type) and <table>_with_keys.

Arguments: --data (landing data: DATA/<dataset>/landing/), --out (zone tables: OUT/customer/trusted/,
...), and for the checks --strict, --expect FILE, --report FILE. On Glue they come from
getResolvedOptions (job parameters --data, --out, ...), elsewhere from the command line.
Exit codes: 0 done, 1 an error-severity check failed, 2 bad arguments, input or SQL.

Generated code: edit the SQL under queries/ and emit again rather than editing this folder.
"""
import argparse
import json
import os
import sys
import time

# @@CATALOG@@

OPTIONS = ("data", "out", "pseudonym_key", "expect", "report", "strict")
KEY_ENV = "STEDI_PSEUDONYM_KEY"
MIN_KEY_CHARS = 16
MISSING_KEY = (
    "strict mode needs a pseudonym key: set STEDI_PSEUDONYM_KEY or pass --pseudonym-key KEY "
    "(at least 16 characters)"
)
ERASURE_LIST = "_erasure_list.json"
LANDING_GLOB = "*.{json,jsonl,ndjson,json.gz,jsonl.gz,ndjson.gz}"
CORRUPT = "_corrupt_record"
# Checks run this many at a time (STEDI_CHECK_THREADS overrides).
CHECK_THREADS = int(os.environ.get("STEDI_CHECK_THREADS", "4"))
# Y-MM-DD with a 1 to 4 digit year, as stedi-tui accepts (the real data has birthdays in year 993).
DATE_FORMAT = "y-MM-dd"


class JobError(Exception):
    """Bad arguments, missing input or SQL that fails: one line on stderr, exit 2."""


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def parse_args(argv=None):
    """The job arguments as a dict: from Glue's getResolvedOptions on AWS Glue, else argparse."""
    try:
        from awsglue.utils import getResolvedOptions  # only importable on AWS Glue
    except ImportError:
        getResolvedOptions = None
    if getResolvedOptions is not None:
        full = sys.argv if argv is None else [sys.argv[0]] + list(argv)
        present = [name for name in OPTIONS if "--" + name in full]
        found = getResolvedOptions(full, present)
        args = {name: found.get(name) for name in OPTIONS}
        args["strict"] = str(args.get("strict") or "").lower() in ("1", "true", "yes")
    else:
        parser = argparse.ArgumentParser(description="stedi-tui Spark job (" + MODE + " mode)")
        parser.add_argument("--data", default=DEFAULT_DATA, help="landing data: DATA/<dataset>/landing/")
        parser.add_argument("--out", default=DEFAULT_OUT, help="zone tables as Parquet: OUT/customer/trusted/, ...")
        parser.add_argument("--pseudonym-key", "--pseudonym_key", dest="pseudonym_key",
                            help="key of the strict ML table's pseudonyms (prefer " + KEY_ENV + ")")
        parser.add_argument("--expect", help='checks: JSON {"table": rows} adds a row_count.<table> check')
        parser.add_argument("--report", help="checks: write the results as JSON to this local file")
        parser.add_argument("--strict", action="store_true", help="checks: every warning counts as an error")
        args = vars(parser.parse_args(sys.argv[1:] if argv is None else argv))
    if not args.get("data") or not args.get("out"):
        raise JobError("--data and --out are required (DATA holds <dataset>/landing/, OUT gets the zones)")
    key = args.get("pseudonym_key") or os.environ.get(KEY_ENV) or None
    if key is not None and len(key) < MIN_KEY_CHARS:
        raise JobError("the pseudonym key is too short: it needs at least %d characters" % MIN_KEY_CHARS)
    # As stedi-tui's PseudonymKey::new: whitespace does not count, and a few different characters.
    solid = [c for c in (key or "") if not c.isspace()]
    if key is not None and len(solid) < MIN_KEY_CHARS:
        raise JobError("the pseudonym key is mostly whitespace: it needs at least %d characters that are not spaces"
                       % MIN_KEY_CHARS)
    if key is not None and len(set(solid)) < 4:
        raise JobError("the pseudonym key repeats too few characters: it needs at least 4 different ones")
    if MODE == "strict" and key is None:
        raise JobError(MISSING_KEY)
    args["pseudonym_key"] = key
    return args


def spark_session(app_name):
    """The Spark session: Glue's, spark-submit's, or a local one (pip install pyspark)."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.appName(app_name)
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    # Dates before 1582 (the real data has birthdays in the year 967) are written as they are.
    for mode in ("datetimeRebaseModeInWrite", "datetimeRebaseModeInRead", "int96RebaseModeInWrite",
                 "int96RebaseModeInRead"):
        spark.conf.set("spark.sql.parquet." + mode, "CORRECTED")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # A date the parser cannot read is a rejected record, never a failed job (Spark's default
    # EXCEPTION policy aborts when the pre-3.0 parser would have read it differently).
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    if spark.sparkContext.master.startswith("local"):
        spark.conf.set("spark.sql.shuffle.partitions", os.environ.get("STEDI_SHUFFLE_PARTITIONS", "4"))
        spark.sparkContext.setLogLevel("WARN")
    return spark


def join_path(root, *parts):
    return "/".join([root.rstrip("/")] + [p.strip("/") for p in parts])


def quote(name):
    return "`" + name.replace("`", "``") + "`"


# DuckDB's names for Spark's types, so zone_columns reads the same in both engines.
DUCKDB_TYPES = {
    "string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
    "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE", "timestamp_ntz": "TIMESTAMP", "binary": "BLOB",
}


class Context:
    """One Spark session and the job arguments; registers the tables and views the SQL reads."""

    def __init__(self, spark, args):
        self.spark = spark
        self.args = args
        self.data = args["data"]
        self.out = args["out"]
        self._variables_set = False

    # -- files ---------------------------------------------------------------------------------
    def _fs_path(self, path):
        jvm = self.spark.sparkContext._jvm
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        return hpath.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), hpath

    def exists(self, path):
        fs, hpath = self._fs_path(path)
        return fs.exists(hpath)

    def read_text(self, path):
        """A small file's text, through Hadoop's file system (local, s3://): Spark's readers skip
        names that start with `_`, such as _erasure_list.json."""
        fs, hpath = self._fs_path(path)
        stream = fs.open(hpath)
        try:
            scanner = self.spark.sparkContext._jvm.java.util.Scanner(stream, "UTF-8").useDelimiter("\\A")
            return scanner.next() if scanner.hasNext() else ""
        finally:
            stream.close()

    # -- landing -------------------------------------------------------------------------------
    def read_landing_json(self, table):
        """The landing table's records with the declared types, and the records that do not fit."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        source = join_path(self.data, table["dataset"], "landing")
        if not self.exists(source):
            raise JobError("%s: landing folder not found" % source)
        parsed = (self.spark.read.schema(table["schema"] + ", " + CORRUPT + " STRING")
                  .option("mode", "PERMISSIVE")
                  .option("columnNameOfCorruptRecord", CORRUPT)
                  .option("dateFormat", DATE_FORMAT)
                  .option("recursiveFileLookup", "true")
                  .option("pathGlobFilter", LANDING_GLOB)
                  .json(source))
        if not parsed.inputFiles():
            raise JobError("%s: no landing files (*.json, *.jsonl, *.ndjson, optionally .gz)" % source)
        columns = [c for c, _ in table["columns"]]
        reason = "CASE WHEN %s IS NOT NULL THEN 'malformed JSON, or a value that does not fit its declared type'" % CORRUPT
        for column in table["required"]:
            reason += " WHEN %s IS NULL THEN 'missing required field %s'" % (quote(column), column)
        reason += " END"
        parsed = (parsed.withColumn("_source_file", F.input_file_name())
                  .withColumn("_reason", F.expr(reason))
                  .persist(StorageLevel.MEMORY_AND_DISK))
        good = parsed.where("_reason IS NULL").select(*[quote(c) for c in columns])
        rejected = parsed.where("_reason IS NOT NULL").select(
            F.col("_source_file").alias("source_file"),
            F.lit(None).cast("bigint").alias("line"),
            F.coalesce(F.col(CORRUPT), F.to_json(F.struct(*[F.col(quote(c)) for c in columns]))).alias("raw_record"),
            F.col("_reason").alias("reason"),
        )
        return parsed, good, rejected

    def landing_job(self):
        """Read every landing folder with its declared types; write the typed tables and rejects."""
        result = {}
        for table in LANDING:
            parsed, good, rejected = self.read_landing_json(table)
            rows = self.write(table["name"], good, table["folder"])
            rejects = self.write(table["name"] + "_rejected", rejected, table["rejected_folder"])
            parsed.unpersist()
            result[table["name"]] = {"rows": rows, "rejected": rejects}
        return result

    def register_landing(self):
        for table in LANDING:
            self.register_parquet(table["name"], table["folder"], "the landing job")
            self.register_parquet(table["name"] + "_rejected", table["rejected_folder"], "the landing job")

    # -- tables and views ----------------------------------------------------------------------
    def register_parquet(self, name, folder, made_by):
        path = join_path(self.out, folder)
        if not self.exists(path):
            raise JobError("%s: %s not found; run %s first" % (path, name, made_by))
        self.spark.read.parquet(path).createOrReplaceTempView(name)

    def write(self, name, df, folder):
        """Write a table as Parquet to OUT/<folder>/ (replacing it); return its rows as written."""
        path = join_path(self.out, folder)
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path).count()

    def register_erased(self):
        """erased_customers(email): DATA/_erasure_list.json, a JSON array of emails (none without it)."""
        path = join_path(self.data, ERASURE_LIST)
        emails = []
        if self.exists(path):
            try:
                emails = json.loads(self.read_text(path))
            except ValueError as e:
                raise JobError("%s: the erasure list must be a JSON array of emails: %s" % (path, e))
            if not isinstance(emails, list) or not all(isinstance(e, str) and e.strip() for e in emails):
                raise JobError("%s: the erasure list must be a JSON array of non-empty emails" % path)
        self.spark.createDataFrame([(e,) for e in emails], "email STRING").createOrReplaceTempView("erased_customers")

    def register_as_of(self):
        """as_of(epoch_ms): the job's time, which consent is judged at (a consent dated later is not
        consent yet), as stedi-tui provides it for DuckDB."""
        now_ms = int(time.time() * 1000)
        self.spark.createDataFrame([(now_ms,)], "epoch_ms BIGINT").createOrReplaceTempView("as_of")

    def register_variables(self):
        """getvariable('pseudonym_key'), as DuckDB's: the key, or NULL without one. Never printed."""
        if self._variables_set:
            return
        from pyspark.sql.types import StringType

        values = {"pseudonym_key": self.args.get("pseudonym_key")}
        self.spark.udf.register("getvariable", lambda name: values.get(name), StringType())
        self._variables_set = True

    def register_references(self):
        self.register_variables()
        for name, sql in REFERENCE_VIEWS:
            self.sql(sql, "reference/%s.sql" % name).createOrReplaceTempView(name)

    def register_stages(self, names):
        for name in names:
            stage = STAGE_BY_NAME[name]
            self.register_parquet(name, stage["folder"], stage["module"] + ".py")

    def prepare(self, stages=()):
        """Everything a stage or check may read: landing, erased_customers, references, these stages."""
        self.register_landing()
        self.register_erased()
        self.register_as_of()
        self.register_references()
        self.register_stages(stages)

    def register_check_views(self, tables):
        """zone_columns and <table>_with_keys over `tables`, as stedi-tui provides them for DuckDB."""
        rows = []
        for table in tables:
            schema = self.spark.table(quote(table)).schema
            have = {f.name.lower() for f in schema.fields}
            for f in schema.fields:
                kind = f.dataType.simpleString()
                rows.append((table, f.name, DUCKDB_TYPES.get(kind, kind.upper())))
            padding = "".join(", CAST(NULL AS STRING) AS %s" % quote(k) for k in KEY_COLUMNS if k.lower() not in have)
            self.spark.sql("SELECT *%s FROM %s" % (padding, quote(table))).createOrReplaceTempView(table + "_with_keys")
        self.spark.createDataFrame(rows, "table_name STRING, column_name STRING, data_type STRING") \
            .createOrReplaceTempView("zone_columns")

    def sql(self, text, file):
        try:
            return self.spark.sql(text)
        except Exception as e:  # pyspark's AnalysisException / ParseException
            raise JobError("%s: %s" % (file, _first_line(e)))

    # -- stages --------------------------------------------------------------------------------
    def stage_job(self, name, sql, reads):
        stage = STAGE_BY_NAME[name]
        self.prepare(reads)
        return self.write(name, self.sql(sql, stage["file"]), stage["folder"])

    # -- checks --------------------------------------------------------------------------------
    def check_instances(self, checks, expected):
        targets = {"tables": TABLES, "landing": [t["name"] for t in LANDING], "expected": expected}
        for check in checks:
            each = check["for_each"]
            if each is None:
                yield check, check["id"], check["sql"], check["description"]
                continue
            for table in targets[each] if isinstance(each, str) else each:
                # {columns}: the table's columns, backquoted, as stedi-tui fills it in (checks.rs).
                columns = ", ".join("`%s`" % c.replace("`", "``") for c in self.spark.table(table).columns) \
                    if "{columns}" in check["sql"] else ""
                sql = check["sql"].replace("{table}", table).replace("{columns}", columns)
                yield check, check["id"].replace("{table}", table), sql, check["description"].replace("{table}", table)

    def register_expected(self):
        """expected_row_counts from --expect (a local JSON file or a path Spark reads)."""
        path = self.args.get("expect")
        if not path:
            return []
        try:
            text = open(path).read() if os.path.exists(path) else self.read_text(path)
            expect = json.loads(text)
        except Exception as e:
            raise JobError("%s: expected a JSON object of table -> row count: %s" % (path, _first_line(e)))
        unknown = [t for t in expect if t not in TABLES]
        if unknown:
            raise JobError("%s: names unknown table %s" % (path, json.dumps(unknown[0])))
        rows = [(t, int(n)) for t, n in sorted(expect.items())]
        self.spark.createDataFrame(rows, "table_name STRING, expected_rows BIGINT") \
            .createOrReplaceTempView("expected_row_counts")
        return [t for t, _ in rows]

    def checks_job(self, checks):
        """Run every check instance; print one line each (never a row: they hold personal data)."""
        self.prepare([s["name"] for s in STAGES])
        self.register_check_views(TABLES)
        expected = self.register_expected()
        strict = bool(self.args.get("strict")) or MODE == "strict"
        # The reference views are one row per customer and read by most checks: compute them once.
        for name, _ in REFERENCE_VIEWS:
            self.spark.catalog.cacheTable(name)
        instances = list(self.check_instances(checks, expected))

        def count(instance):
            check, check_id, sql, _ = instance
            started = time.time()
            try:
                return self.spark.sql(sql).count(), time.time() - started
            except Exception as e:
                raise JobError("%s: check %s: %s" % (check["file"], check_id, _first_line(e)))

        # A few checks at once: on small data Spark's time is mostly planning and scheduling.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
            counts = list(pool.map(count, instances))
        results = []
        for (check, check_id, _, description), (failing, seconds) in zip(instances, counts):
            severity = "error" if strict else check["severity"]
            status = "PASS" if failing == 0 else ("FAIL" if severity == "error" else "WARN")
            print("%-4s %-5s %-45s %9d  %s" % (status, severity, check_id, failing, description), flush=True)
            results.append({"id": check_id, "severity": severity, "declared_severity": check["severity"],
                            "status": status, "failing_rows": failing, "file": check["file"],
                            "seconds": round(seconds, 3)})
        if results:
            self.spark.createDataFrame([(json.dumps(r),) for r in results], "value STRING") \
                .coalesce(1).write.mode("overwrite").text(join_path(self.out, "_checks"))
        return results


def failed_errors(results):
    return [r["id"] for r in results if r["status"] == "FAIL"]


def write_report(path, report):
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
            f.write("\n")


def _run(jobs, app_name):
    """Run `jobs` (modules with NAME and run(ctx)) in one Spark session; return the exit code."""
    started = time.time()
    try:
        args = parse_args()
    except JobError as e:
        print("stedi-glue: error: %s" % e, file=sys.stderr)
        return 2
    spark = spark_session(app_name)
    ctx = Context(spark, args)
    report = {"mode": MODE, "generated_by": GENERATED_BY, "tables": {}, "rejected": {}, "checks": [],
              "seconds": {}}
    code = 0
    try:
        for job in jobs:
            job_started = time.time()
            result = job.run(ctx)
            seconds = round(time.time() - job_started, 3)
            report["seconds"][job.NAME] = seconds
            if job.KIND == "landing":
                for name, counts in result.items():
                    report["tables"][name] = counts["rows"]
                    report["rejected"][name] = counts["rejected"]
                    print("%s: %d rows, %d rejected" % (name, counts["rows"], counts["rejected"]), flush=True)
            elif job.KIND == "stage":
                report["tables"][job.NAME] = result
                print("%s: %d rows in %.1fs" % (job.NAME, result, seconds), flush=True)
            else:
                report["checks"] = result
                failed = failed_errors(result)
                if failed:
                    print("stedi-glue: failed: %s" % ", ".join(failed), file=sys.stderr)
                    code = 1
    except JobError as e:
        print("stedi-glue: error: %s" % e, file=sys.stderr)
        code = 2
    report["seconds"]["total"] = round(time.time() - started, 3)
    write_report(args.get("report"), report)
    spark.stop()
    return code


def main(job):
    """A job script's entry point: run it alone (on Glue, or `python job.py --data D --out O`)."""
    sys.exit(_run([job], "stedi-%s-%s" % (MODE, job.NAME)))


def main_all(jobs):
    """run_all.py: every job in the engine's order, in one Spark session."""
    sys.exit(_run(jobs, "stedi-%s-run_all" % MODE))
