//! `stedi-tui emit glue`: the stages and checks as PySpark jobs for AWS Glue. The SQL files are in
//! the dialect both engines accept; the emitted jobs embed them verbatim and run in the engine's
//! order; and on local Spark (pip install pyspark, Java 17) they give exactly stedi-tui's tables,
//! rows and check results, in both modes. Without Java or pyspark the Spark test says SKIPPED.
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use stedi_tui::engine::check_dialect;
use stedi_tui::engine::table_folder;
use stedi_tui::engine::{add_to_erasure_list, Catalog, CheckOptions, Engine, EngineOptions, Mode, PseudonymKey};
use stedi_tui::engine::{quote_ident, quote_literal};

const KEY: &str = "glue-test-pseudonym-key-0001";
const BUCKET: &str = "s3://stedi-lakehouse/zones";

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    // Tests share sample_data/ and run in parallel: no cache here (tests/cache.rs tests it).
    cmd.env("STEDI_TUI_CACHE", "off");
    cmd
}

fn emit(mode: Mode, out: &Path) {
    stedi()
        .args(["emit", "glue", "--mode", mode.as_str(), "--bucket", BUCKET, "--out"])
        .arg(out)
        .arg("--queries")
        .arg(common::queries_dir())
        .assert()
        .success()
        .stdout(format!("{}\n", out.join("run_all.py").display()));
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_stage_reference_and_check_file_is_in_the_shared_dialect() {
    for mode in [Mode::Rubric, Mode::Strict] {
        let catalog = Catalog::load_mode(common::queries_dir(), mode).unwrap();
        if let Err(e) = check_dialect(&catalog) {
            panic!("{e}");
        }
    }
}

#[test]
fn emit_writes_one_job_per_stage_in_the_engines_order_with_the_sql_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Rubric, Mode::Strict] {
        let out = dir.path().join(mode.as_str());
        emit(mode, &out);
        let catalog = Catalog::load_mode(common::queries_dir(), mode).unwrap();
        for stage in &catalog.stages {
            let job = read(&out.join(format!("job_{}.py", stage.name)));
            assert!(job.contains(&format!("SQL = r\"\"\"\n{}\n\"\"\"", stage.sql)), "{} verbatim", stage.name);
            assert!(job.contains(&format!("OUT/{}/", table_folder(&stage.name, stage.zone))), "{}", stage.name);
        }
        let checks = read(&out.join("job_checks.py"));
        for check in &catalog.checks {
            assert!(checks.contains(&check.sql), "{} verbatim", check.id);
        }
        let runtime = read(&out.join("stedi_glue.py"));
        assert!(runtime.contains(&format!("MODE = \"{}\"", mode.as_str())));
        assert!(runtime.contains(&format!("DEFAULT_DATA = \"{BUCKET}\"")));
        for view in &catalog.references {
            assert!(runtime.contains(&view.sql), "reference {} verbatim", view.name);
        }
        // run_all.py: landing, the stages in the catalog's (dependency) order, the checks.
        let mut order = vec!["\"job_landing\"".to_string()];
        order.extend(catalog.stages.iter().map(|s| format!("\"job_{}\"", s.name)));
        order.push("\"job_checks\"".to_string());
        assert!(read(&out.join("run_all.py")).contains(&format!("JOBS = [{}]", order.join(", "))));
        let jobs: serde_json::Value = serde_json::from_str(&read(&out.join("glue_jobs.json"))).unwrap();
        let ml = jobs["jobs"].as_array().unwrap().iter().find(|j| j["name"] == "machine_learning_curated").unwrap();
        assert_eq!(ml["writes"][0], "step_trainer/curated");
        let after: Vec<&str> = ml["after"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(after.contains(&"landing") && after.contains(&"step_trainer_trusted"), "{after:?}");
    }
    // Emitting again replaces the scripts; a folder holding anything else is refused.
    emit(Mode::Rubric, &dir.path().join("strict"));
    assert!(read(&dir.path().join("strict").join("stedi_glue.py")).contains("MODE = \"rubric\""));
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    stedi()
        .args(["emit", "glue", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("holds no previous emit"));
    // Every emitted file is valid Python (when a Python is there to say so).
    if let Some(python) = python() {
        for mode in ["rubric", "strict"] {
            let status =
                Process::new(&python).args(["-m", "compileall", "-q"]).arg(dir.path().join(mode)).status().unwrap();
            assert!(status.success(), "{mode}: emitted Python compiles");
        }
    }
}

#[test]
fn emit_refuses_sql_that_only_duckdb_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries");
    common::copy_tree(&common::queries_dir(), &queries);
    let stage = queries.join("curated").join("customer_curated.sql");
    let sql = read(&stage).replace("SELECT DISTINCT c.*", "SELECT DISTINCT c.* EXCLUDE (phone)");
    fs::write(&stage, sql).unwrap();
    stedi()
        .args(["emit", "glue", "--out"])
        .arg(dir.path().join("jobs"))
        .arg("--queries")
        .arg(&queries)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("customer_curated.sql"))
        .stderr(predicates::str::contains("not portable to Spark SQL: SELECT * EXCLUDE"));
    assert!(!dir.path().join("jobs").exists(), "nothing is written");
    stedi().args(["emit", "glue", "--bucket", "stedi-lakehouse", "--out"]).arg(dir.path().join("x")).assert().code(2);
}

/// The jobs' arguments on AWS Glue (getResolvedOptions, here a stand-in `awsglue` module) and
/// elsewhere (argparse), and strict mode's key rules, without starting Spark.
#[test]
fn job_arguments_come_from_glue_or_the_command_line_and_strict_jobs_need_a_key() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no python3");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    emit(Mode::Strict, &jobs);
    let glue = dir.path().join("glue");
    fs::create_dir_all(glue.join("awsglue")).unwrap();
    fs::write(glue.join("awsglue").join("__init__.py"), "").unwrap();
    // Glue's getResolvedOptions: every option asked for must be given as --name value.
    fs::write(
        glue.join("awsglue").join("utils.py"),
        "def getResolvedOptions(args, options):\n    \
         found = {a[2:]: b for a, b in zip(args, args[1:]) if a.startswith('--')}\n    \
         missing = [o for o in options if o not in found]\n    \
         assert not missing, missing\n    \
         return {o: found[o] for o in options}\n",
    )
    .unwrap();
    let parse = |path: &str, args: &[&str], key: Option<&str>| {
        let script = format!(
            "import json, sys, stedi_glue\ntry:\n    a = stedi_glue.parse_args({args:?})\n    \
             a['pseudonym_key'] = a['pseudonym_key'] is not None\n    print(json.dumps(a, sort_keys=True))\n\
             except stedi_glue.JobError as e:\n    print('JobError: %s' % e)\n"
        );
        let mut command = Process::new(&python);
        command.args(["-c", &script]).env("PYTHONPATH", path).env_remove(stedi_tui::engine::PSEUDONYM_KEY_ENV);
        if let Some(key) = key {
            command.env(stedi_tui::engine::PSEUDONYM_KEY_ENV, key);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let on_glue = format!("{}:{}", glue.display(), jobs.display());
    let local = jobs.display().to_string();
    let args = ["--JOB_NAME", "stedi", "--data", "s3://b/in", "--out", "s3://b/zones", "--strict", "true"];
    let expected = r#""data": "s3://b/in", "expect": null, "out": "s3://b/zones", "pseudonym_key": true, "report": null, "strict": true}"#;
    assert!(parse(&on_glue, &args, Some(KEY)).ends_with(expected), "{}", parse(&on_glue, &args, Some(KEY)));
    let args = ["--data", "d", "--out", "o", "--pseudonym-key", KEY];
    assert!(parse(&local, &args, None).contains(r#""pseudonym_key": true"#));
    // --bucket gave the defaults; strict mode refuses no key and a short one, never echoing it.
    assert!(parse(&local, &[], Some(KEY)).contains(&format!(r#""data": "{BUCKET}""#)));
    assert!(parse(&local, &[], None).starts_with("JobError: strict mode needs a pseudonym key"));
    let short = parse(&local, &["--pseudonym-key", "tiny-key-123"], None);
    assert!(short.starts_with("JobError: the pseudonym key is too short") && !short.contains("tiny-key"), "{short}");
}

fn python() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Process::new(&python).arg("--version").output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// A Python with pyspark and a Java to run it, or None (the reason printed as SKIPPED).
fn spark() -> Option<String> {
    let java = Process::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    let python = python();
    let pyspark = python
        .as_ref()
        .is_some_and(|p| Process::new(p).args(["-c", "import pyspark"]).output().is_ok_and(|o| o.status.success()));
    if std::env::var_os("STEDI_SKIP_SPARK").is_some() {
        eprintln!("SKIPPED: STEDI_SKIP_SPARK is set");
        return None;
    }
    if !(java && pyspark) {
        eprintln!("SKIPPED: the Spark comparison needs java and `python3 -m pip install pyspark==3.5.*` (.ci/run installs it)");
        return None;
    }
    python
}

struct SparkRun {
    code: i32,
    report: serde_json::Value,
    elapsed: Duration,
}

fn run_spark(python: &str, jobs: &Path, data: &Path, out: &Path, key: Option<&str>, expect: Option<&Path>) -> SparkRun {
    let report = out.with_extension("report.json");
    let mut command = Process::new(python);
    command.arg(jobs.join("run_all.py")).arg("--data").arg(data).arg("--out").arg(out).arg("--report").arg(&report);
    if let Some(expect) = expect {
        command.arg("--expect").arg(expect);
    }
    command.env_remove(stedi_tui::engine::PSEUDONYM_KEY_ENV);
    if let Some(key) = key {
        command.env(stedi_tui::engine::PSEUDONYM_KEY_ENV, key);
    }
    let started = Instant::now();
    let output = command.output().expect("python runs");
    let elapsed = started.elapsed();
    let code = output.status.code().unwrap_or(-1);
    if !report.is_file() || code == 2 {
        // Never a row of data in test output: lines that could hold an email are left out.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.contains('@')).rev().take(40).collect();
        panic!("Spark run failed (exit {code}):\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    SparkRun { code, report: serde_json::from_str(&read(&report)).unwrap(), elapsed }
}

/// The data of the strict run: sample_data plus a malformed accelerometer line, a Step Trainer
/// record without its serial number and one erased customer, so rejects and erasure are compared too.
fn sample_data_with_problems(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    common::copy_tree(&common::project_root().join("sample_data"), &data);
    let append = |dataset: &str, line: &str| {
        let folder = data.join(dataset).join("landing");
        let mut files: Vec<PathBuf> = fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let mut file = fs::OpenOptions::new().append(true).open(&files[0]).unwrap();
        writeln!(file, "{line}").unwrap();
    };
    append("accelerometer", r#"{"user": "truncated.record@test.com", "timestamp": 16555"#);
    append("step_trainer", r#"{"sensorReadingTime": 1655564676361, "distanceFromObject": 3}"#);
    let engine = engine_run(&data, Mode::Rubric, None).0;
    let email: String = engine
        .connection()
        .query_row("SELECT email FROM customer_trusted ORDER BY email LIMIT 1", [], |r| r.get(0))
        .unwrap();
    add_to_erasure_list(&data, &email).unwrap();
    data
}

fn engine_run(
    data: &Path,
    mode: Mode,
    expect: Option<&Path>,
) -> (Engine, Vec<stedi_tui::engine::CheckOutcome>, Duration) {
    let mut options = EngineOptions::new(data, common::queries_dir());
    options.mode = mode;
    options.pseudonym_key = (mode == Mode::Strict).then(|| PseudonymKey::new(KEY).unwrap());
    let mut checks = CheckOptions::default();
    if let Some(path) = expect {
        checks.expect = Some((path.to_path_buf(), CheckOptions::read_expect(path).unwrap()));
    }
    let started = Instant::now();
    let mut engine = Engine::open(options).unwrap();
    let outcomes = engine.run_all(&checks, &mut |_| {}).unwrap();
    (engine, outcomes, started.elapsed())
}

fn count(engine: &Engine, sql: &str) -> u64 {
    engine.connection().query_row(&format!("SELECT count(*) FROM ({sql}) AS q"), [], |r| r.get::<_, i64>(0)).unwrap()
        as u64
}

/// (name, type) of every column of a query's result.
fn columns(engine: &Engine, sql: &str) -> Vec<(String, String)> {
    let mut stmt =
        engine.connection().prepare(&format!("SELECT column_name, column_type FROM (DESCRIBE {sql})")).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
}

#[test]
fn spark_jobs_give_stedi_tuis_tables_rows_and_check_results_in_both_modes() {
    let Some(python) = spark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let problems = sample_data_with_problems(dir.path());
    // The rubric run also gets --expect: one right row count, one wrong (row_count.<table>, error).
    let expect = dir.path().join("expect.json");
    fs::write(&expect, r#"{"customer_trusted": 119, "machine_learning_curated": 1}"#).unwrap();
    let runs = [
        (Mode::Rubric, common::project_root().join("sample_data"), Some(expect.as_path())),
        (Mode::Strict, problems, None),
    ];
    for (mode, data, expect) in runs {
        let jobs = dir.path().join(format!("jobs-{}", mode.as_str()));
        emit(mode, &jobs);
        let out = dir.path().join(format!("out-{}", mode.as_str()));
        let spark = run_spark(&python, &jobs, &data, &out, (mode == Mode::Strict).then_some(KEY), expect);
        let (engine, outcomes, engine_elapsed) = engine_run(&data, mode, expect);
        let m = mode.as_str();

        // Every table's rows, and the landing tables' rejects.
        let tables: BTreeMap<String, u64> = serde_json::from_value(spark.report["tables"].clone()).unwrap();
        assert_eq!(tables, engine.row_counts(), "{m}: row counts");
        let rejected: BTreeMap<String, u64> = serde_json::from_value(spark.report["rejected"].clone()).unwrap();
        let engine_rejected: BTreeMap<String, u64> = engine
            .tables
            .iter()
            .filter(|t| rejected.contains_key(&t.name))
            .map(|t| (t.name.clone(), t.rejected))
            .collect();
        assert_eq!(rejected.len(), engine.catalog.landing.len(), "{m}");
        assert_eq!(rejected, engine_rejected, "{m}: rejected records");

        // Every check instance ran in Spark, with the same failing rows and severity.
        let spark_checks: BTreeMap<String, (u64, String)> = spark.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_string(),
                    (c["failing_rows"].as_u64().unwrap(), c["severity"].to_string()),
                )
            })
            .collect();
        let engine_checks: BTreeMap<String, (u64, String)> =
            outcomes.iter().map(|o| (o.id.clone(), (o.failing_rows, format!("\"{}\"", o.severity.as_str())))).collect();
        assert_eq!(spark_checks, engine_checks, "{m}: check results");
        if expect.is_some() {
            assert_eq!(spark_checks["row_count.customer_trusted"].0, 0, "{m}");
            assert_eq!(spark_checks["row_count.machine_learning_curated"].0, 1, "{m}");
        }
        let engine_code = if outcomes.iter().any(|o| o.is_error()) { 1 } else { 0 };
        assert_eq!(spark.code, engine_code, "{m}: exit code");

        // The very same rows and columns (pseudonyms included) in every zone table's Parquet.
        for stage in &engine.catalog.stages {
            let files = out.join(table_folder(&stage.name, stage.zone)).join("*.parquet");
            let parquet = format!("SELECT * FROM read_parquet({})", quote_literal(&files.to_string_lossy()));
            let table = format!("SELECT * FROM {}", quote_ident(&stage.name));
            assert_eq!(
                count(&engine, &format!("{parquet} EXCEPT ALL {table}")),
                0,
                "{m}: {} rows only Spark has",
                stage.name
            );
            assert_eq!(
                count(&engine, &format!("{table} EXCEPT ALL {parquet}")),
                0,
                "{m}: {} rows only stedi-tui has",
                stage.name
            );
            assert_eq!(columns(&engine, &parquet), columns(&engine, &table), "{m}: {} columns", stage.name);
        }
        eprintln!(
            "glue: {m}: stedi-tui {:.2}s, local Spark (run_all.py, one session, JVM start included) {:.1}s",
            engine_elapsed.as_secs_f64(),
            spark.elapsed.as_secs_f64()
        );
    }
}
