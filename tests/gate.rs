//! `--check` as a CI gate: thresholds in a check's header, baselines of known failing rows,
//! selection of checks, GitHub annotations, SARIF and the history of runs. Each test works on a
//! copy of sample_data/ and an `init` copy of the SQL in a temp folder, with the real binary.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    queries: PathBuf,
}

fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let data = root.join("data");
    common::copy_tree(&common::project_root().join("sample_data"), &data);
    let p = Project { queries: root.join("queries"), _dir: dir, root, data };
    let out = p.stedi(&["init", p.root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    p
}

impl Project {
    fn stedi(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
        cmd.current_dir(&self.root)
            .env_remove("STEDI_TUI_CACHE")
            .env_remove("GITHUB_ACTIONS")
            .env("STEDI_TUI_QUERIES", self.root.join("queries"))
            .env("XDG_CACHE_HOME", self.root.join("xdg"));
        cmd.args(args).output().unwrap()
    }

    /// `--check --format json` with `extra`; the exit code and the report.
    fn check(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["--check", "--quiet", "--format", "json", "--data", "data"];
        args.extend_from_slice(extra);
        let out = self.stedi(&args);
        let code = out.status.code().unwrap();
        assert!(code < 2, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (code, serde_json::from_slice(&out.stdout).unwrap())
    }

    /// Put `lines` into a check's header, after its `-- severity:` line.
    fn add_header(&self, check: &str, lines: &str) {
        let path = self.queries.join("checks").join(format!("{check}.sql"));
        let text = fs::read_to_string(&path).unwrap();
        let at = text.find("-- severity:").unwrap();
        let end = at + text[at..].find('\n').unwrap() + 1;
        fs::write(&path, format!("{}{lines}\n{}", &text[..end], &text[end..])).unwrap();
    }

    fn reset_check(&self, check: &str) {
        let rel = format!("checks/{check}.sql");
        fs::copy(common::queries_dir().join(&rel), self.queries.join(&rel)).unwrap();
    }
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id}"))
}

fn table_rows(report: &Value, table: &str) -> u64 {
    report["tables"].as_array().unwrap().iter().find(|t| t["name"] == table).unwrap()["rows"].as_u64().unwrap()
}

const ORPHAN: &str = "orphan.accelerometer_landing";

#[test]
fn thresholds_decide_a_checks_status_on_both_sides_of_every_boundary() {
    let p = project();
    let (_, plain) = p.check(&[]);
    let rows = check(&plain, ORPHAN)["failing_rows"].as_u64().unwrap();
    assert!(rows > 0, "the sample data has orphan readings");
    assert_eq!(check(&plain, ORPHAN)["status"], "fail");
    let share = rows as f64 * 100.0 / table_rows(&plain, "accelerometer_landing") as f64;
    // (header, expected status, expected severity, exit code)
    let cases: Vec<(String, &str, &str, i32)> = vec![
        (format!("-- error_if: > {}", rows - 1), "fail", "error", 1),
        (format!("-- error_if: > {rows}"), "pass", "warn", 0),
        (format!("-- error_if: >= {rows}"), "fail", "error", 1),
        (format!("-- warn_if: >= {rows}"), "fail", "warn", 0),
        (format!("-- warn_if: > {rows}"), "pass", "warn", 0),
        (format!("-- warn_if: > 0\n-- error_if: > {}", rows + 10), "fail", "warn", 0),
        (format!("-- warn_if: > 0\n-- error_if: != {rows}"), "fail", "warn", 0),
        (format!("-- warn_if: > 0\n-- error_if: = {rows}"), "fail", "error", 1),
        (format!("-- error_if: < {rows}"), "pass", "warn", 0),
        (format!("-- error_if: <= {rows}"), "fail", "error", 1),
        (format!("-- error_if: > {:.6}%", share - 0.000_001), "fail", "error", 1),
        (format!("-- error_if: > {:.6}%", share + 0.000_001), "pass", "warn", 0),
    ];
    for (header, status, severity, code) in cases {
        p.reset_check(ORPHAN);
        p.add_header(ORPHAN, &header);
        let (exit, report) = p.check(&[]);
        let c = check(&report, ORPHAN);
        assert_eq!((c["status"].as_str().unwrap(), exit), (status, code), "{header}: {c}");
        if status == "fail" {
            assert_eq!(c["severity"], severity, "{header}");
        } else {
            let why = c["let_through"].as_str().unwrap();
            assert!(why.contains(&format!("{rows} failing rows, within")), "{header}: {why}");
            let listed = report["summary"]["let_through"].as_array().unwrap();
            assert!(listed.iter().any(|l| l["id"] == ORPHAN), "summary says so: {header}");
        }
        // Strict mode ignores thresholds: every failing row is an error.
        let (exit, strict) = p.check(&["--strict"]);
        assert_eq!((check(&strict, ORPHAN)["status"].as_str().unwrap(), exit), ("fail", 1), "--strict, {header}");
    }

    // A malformed threshold is one line naming the file and the line.
    for bad in ["-- error_if: more than 3", "-- warn_if: > 1.5", "-- error_if: > 200%"] {
        p.reset_check(ORPHAN);
        p.add_header(ORPHAN, bad);
        let out = p.stedi(&["--check", "--data", "data"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("orphan.accelerometer_landing.sql") && err.contains("line 3"), "{bad}: {err}");
    }
}

/// The first consenting customer's landing record, as a JSON object.
fn consenting_record(data: &Path) -> serde_json::Map<String, Value> {
    let mut files: Vec<PathBuf> =
        fs::read_dir(data.join("customer/landing")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        for line in fs::read_to_string(file).unwrap().lines() {
            if let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) {
                if record["shareWithResearchAsOfDate"].is_number() && record["email"].is_string() {
                    return record;
                }
            }
        }
    }
    panic!("no consenting customer");
}

/// Every personal value of the sample data's customer records.
fn personal_values(data: &Path) -> Vec<String> {
    let mut values = Vec::new();
    for entry in fs::read_dir(data.join("customer/landing")).unwrap() {
        for line in fs::read_to_string(entry.unwrap().path()).unwrap().lines() {
            let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else { continue };
            for field in ["customerName", "email", "phone", "birthDay"] {
                if let Some(v) = record.get(field).and_then(Value::as_str).filter(|v| v.len() >= 6) {
                    values.push(v.to_lowercase());
                }
            }
        }
    }
    values
}

#[test]
fn a_baseline_passes_the_same_data_and_fails_exactly_on_a_new_leak() {
    let p = project();
    let base = p.root.join("baseline.json");
    let (_, before) = p.check(&["--update-baseline", base.to_str().unwrap()]);
    let text = fs::read_to_string(&base).unwrap();
    let values = personal_values(&p.data);
    assert!(values.len() > 100);
    for v in &values {
        assert!(!text.to_lowercase().contains(v), "the baseline holds no input value ({} chars found)", v.len());
    }
    let failing: Vec<&str> = before["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!failing.is_empty());

    // The same data: every known failure is let through, the run passes.
    let (exit, same) = p.check(&["--baseline", base.to_str().unwrap()]);
    assert_eq!(exit, 0);
    for id in &failing {
        let c = check(&same, id);
        assert_eq!(c["status"], "pass", "{id}");
        assert_eq!(c["baseline"]["new_rows"], 0);
        assert!(c["let_through"].as_str().unwrap().contains("in the baseline"));
    }

    // A new leak: a later record of a consenting customer, the address in another case, that
    // withdraws consent. The rubric stages join exactly, so they keep the readings.
    let mut record = consenting_record(&p.data);
    let email = record["email"].as_str().unwrap().to_lowercase();
    record.insert("email".into(), Value::String(email));
    record.insert("shareWithResearchAsOfDate".into(), Value::Null);
    let later = record["lastUpdateDate"].as_i64().unwrap() + 1000;
    record.insert("lastUpdateDate".into(), Value::from(later));
    fs::write(p.data.join("customer/landing/zz-revoked.json"), serde_json::to_string(&record).unwrap() + "\n").unwrap();
    let (_, truth) = p.check(&[]);
    let (exit, judged) = p.check(&["--baseline", base.to_str().unwrap()]);
    assert_eq!(exit, 1, "a new consent leak fails the run");
    let leak = "consent_leak.accelerometer_trusted";
    let expected =
        check(&truth, leak)["failing_rows"].as_u64().unwrap() - check(&before, leak)["failing_rows"].as_u64().unwrap();
    assert!(expected > 0);
    assert_eq!(check(&judged, leak)["baseline"]["new_rows"].as_u64().unwrap(), expected, "exactly the new rows");
    assert_eq!(check(&judged, leak)["status"], "fail");
    let orphans_before = check(&before, ORPHAN)["failing_rows"].as_u64().unwrap();
    assert_eq!(check(&judged, ORPHAN)["baseline"]["resolved_rows"], 0);

    // An edited check is compared in full, and says so.
    let path = p.queries.join(format!("checks/{ORPHAN}.sql"));
    fs::write(&path, fs::read_to_string(&path).unwrap() + "\n-- edited\n").unwrap();
    let (_, edited) = p.check(&["--baseline", base.to_str().unwrap()]);
    let c = check(&edited, ORPHAN);
    assert_eq!(c["baseline"]["compared_in_full"], true);
    assert_eq!(c["baseline"]["new_rows"].as_u64().unwrap(), orphans_before);
    assert_eq!(c["status"], "fail");
    // Strict mode ignores the baseline.
    let (exit, _) = p.check(&["--baseline", base.to_str().unwrap(), "--strict"]);
    assert_eq!(exit, 1);
}

#[test]
fn selection_runs_exactly_the_matching_checks_and_every_stage() {
    let p = project();
    let (_, all) = p.check(&[]);
    let ids = |r: &Value| -> Vec<String> {
        r["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
    };
    let every = ids(&all);
    type Wanted = Box<dyn Fn(&str) -> bool>;
    let cases: Vec<(Vec<&str>, Wanted)> = vec![
        (vec!["--select", "consent_leak.*"], Box::new(|id: &str| id.starts_with("consent_leak."))),
        (
            vec!["--select", "*.machine_learning_curated"],
            Box::new(|id: &str| id.ends_with(".machine_learning_curated")),
        ),
        (vec!["--select", "step_trainer_trusted"], Box::new(|id: &str| id.ends_with(".step_trainer_trusted"))),
        (
            vec!["--select", "consent_leak.*", "--select", "pii.*", "--exclude", "*customer_curated"],
            Box::new(|id: &str| {
                (id.starts_with("consent_leak.") || id.starts_with("pii.")) && !id.ends_with("customer_curated")
            }),
        ),
        (vec!["--exclude", "duplicate*"], Box::new(|id: &str| !id.starts_with("duplicate"))),
    ];
    for (args, wanted) in cases {
        let (_, report) = p.check(&args);
        let expected: Vec<String> = every.iter().filter(|id| wanted(id)).cloned().collect();
        assert!(!expected.is_empty(), "{args:?}");
        assert_eq!(ids(&report), expected, "{args:?}");
        let counts = |r: &Value| -> Vec<(String, u64)> {
            r["tables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().to_string(), t["rows"].as_u64().unwrap()))
                .collect()
        };
        assert_eq!(counts(&report), counts(&all), "{args:?}");
        assert_eq!(report["tables"].as_array().unwrap().len(), 8, "every stage still runs: {args:?}");
    }
}

#[test]
fn github_lines_and_sarif_point_at_each_failed_checks_sql() {
    let p = project();
    let out = {
        let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
        fs::write(p.root.join("summary.md"), "an earlier step's summary\n").unwrap();
        cmd.current_dir(&p.root)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", p.root.join("summary.md"))
            .env("XDG_CACHE_HOME", p.root.join("xdg"));
        cmd.args([
            "--check",
            "--quiet",
            "--data",
            "data",
            "--queries",
            "queries",
            "--format",
            "sarif",
            "--output",
            "r.sarif",
        ]);
        cmd.output().unwrap()
    };
    let err = String::from_utf8_lossy(&out.stderr);
    let sarif: Value = serde_json::from_str(&fs::read_to_string(p.root.join("r.sarif")).unwrap()).unwrap();
    let (_, report) = p.check(&[]);
    let failed: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "fail").collect();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(lines.len(), failed.len(), "{err}");
    for c in &failed {
        let id = c["id"].as_str().unwrap();
        let file = format!(
            "queries/checks/{}.sql",
            if id.starts_with("duplicate.") {
                "duplicate".to_string()
            } else if id.starts_with("erased.") {
                "erased".into()
            } else if id.starts_with("rejected.") {
                "rejected".into()
            } else {
                id.to_string()
            }
        );
        let text = fs::read_to_string(p.root.join(&file)).unwrap();
        let line = text.lines().position(|l| l.starts_with("-- id:")).unwrap() + 1;
        let kind = if c["severity"] == "error" { "error" } else { "warning" };
        let expected = format!(
            "::{kind} file={},line={line},title={}::{id}: {} failing rows: ",
            file,
            id.replace(',', "%2C").replace(':', "%3A"),
            c["failing_rows"]
        );
        assert!(lines.iter().any(|l| l.starts_with(&expected)), "{expected} in {err}");
        let result = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == id)
            .expect("a result per failed check");
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], file);
        assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], line);
        assert_eq!(result["level"], kind);
    }
    // The Markdown report is appended to the job summary, after what was there.
    let summary = fs::read_to_string(p.root.join("summary.md")).unwrap();
    assert!(summary.starts_with("an earlier step's summary\n"), "{}", &summary[..100]);
    assert!(summary.len() < 64 * 1024 + 100);
    for c in &failed {
        assert!(summary.contains(c["id"].as_str().unwrap()), "{} in the job summary", c["id"]);
    }
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(),
        report["checks"].as_array().unwrap().len()
    );
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), failed.len());
    // Validated against the SARIF 2.1.0 schema where CI provides it (.ci/run fetches it).
    match std::env::var_os("STEDI_SARIF_SCHEMA") {
        Some(schema) => {
            let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))";
            let v = std::process::Command::new("python3")
                .args(["-c", script])
                .arg(p.root.join("r.sarif"))
                .arg(schema)
                .output()
                .unwrap();
            assert!(v.status.success(), "SARIF schema: {}", String::from_utf8_lossy(&v.stderr));
        }
        None => eprintln!(
            "SKIPPED: STEDI_SARIF_SCHEMA is not set (.ci/run sets it): SARIF not validated against its schema"
        ),
    }
    // Built-in SQL is in no file: its lines name none.
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    let out = cmd
        .current_dir(&p.root)
        .env("GITHUB_ACTIONS", "true")
        .env_remove("STEDI_TUI_QUERIES")
        .env("XDG_CACHE_HOME", p.root.join("xdg"))
        .args(["--check", "--quiet", "--data", "data"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(lines.len(), failed.len());
    assert!(lines.iter().all(|l| l.starts_with("::warning title=") || l.starts_with("::error title=")), "{err}");
}

#[test]
fn history_records_every_check_run_and_survives_a_rebuild_but_not_a_clear() {
    let p = project();
    for _ in 0..3 {
        p.check(&[]);
    }
    let out = p.stedi(&["history", "--data", "data"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("3 runs recorded"), "{text}");
    let (_, report) = p.check(&["--no-cache"]);
    let rows = check(&report, ORPHAN)["failing_rows"].as_u64().unwrap();
    let line = text.lines().find(|l| l.starts_with(ORPHAN)).unwrap();
    assert!(line.contains("███") && line.trim_end().ends_with(&rows.to_string()), "{line}");

    // A cache made by another build is rebuilt in place: the history stays.
    let cache = p.data.join(".stedi/cache.duckdb");
    {
        let conn = duckdb::Connection::open(&cache).unwrap();
        conn.execute_batch("UPDATE stedi_cache.meta SET value = 'another build' WHERE key = 'build'").unwrap();
    }
    let out = p.stedi(&["--check", "--data", "data"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rebuilding"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = p.stedi(&["history", "--data", "data", "--check", ORPHAN]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().all(|l| l.contains(" fail ") || l.contains(" warn ")), "{text}");

    // cache clear takes it with the rest.
    assert!(p.stedi(&["cache", "clear", "--data", "data"]).status.success());
    let out = p.stedi(&["history", "--data", "data"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no history"));
}
