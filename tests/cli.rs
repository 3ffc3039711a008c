//! The binary as users and CI run it: exit codes, one-line errors, report formats, masking.
mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use stedi_tui::engine::{is_unprintable, Injections};

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    cmd.current_dir(common::project_root());
    // Tests share sample_data/ and run in parallel: no cache here (tests/cache.rs tests it).
    cmd.env("STEDI_TUI_CACHE", "off");
    cmd
}

#[test]
fn missing_data_folder_is_a_one_line_error() {
    common::assert_one_line_error(stedi().args(["--check", "--data", "no/such/folder"]), "no/such/folder");
}

#[test]
fn empty_landing_folder_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["customer", "accelerometer", "step_trainer"] {
        fs::create_dir_all(dir.path().join(d).join("landing")).unwrap();
    }
    // Landing tables load in file-name order: accelerometer_landing is the first to find nothing.
    let landing = dir.path().join("accelerometer").join("landing");
    let mut cmd = stedi();
    cmd.arg("--check").arg("--data").arg(dir.path());
    common::assert_one_line_error(&mut cmd, &landing.display().to_string());
    common::assert_one_line_error(&mut cmd, "no landing files");
}

#[test]
fn missing_queries_folder_is_a_one_line_error() {
    common::assert_one_line_error(stedi().args(["--check", "--queries", "no/such/queries"]), "no/such/queries");
}

#[test]
fn broken_stage_names_its_file_and_duckdbs_message() {
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    let stage = queries.path().join("trusted").join("customer_trusted.sql");
    fs::write(&stage, "SELECT * FROM customer_landing WHERE shareWithResearchAsOfDate IS NOT NUL").unwrap();
    let mut cmd = stedi();
    cmd.arg("--check").arg("--queries").arg(queries.path());
    common::assert_one_line_error(&mut cmd, "customer_trusted.sql");
    let out = cmd.output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Parser Error"));
}

/// A copy of queries/ with one more check, `checks/mine.sql`.
fn queries_with_check(sql: &str) -> tempfile::TempDir {
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    fs::write(queries.path().join("checks").join("mine.sql"), sql).unwrap();
    queries
}

#[test]
fn broken_check_is_a_one_line_error_naming_the_check() {
    let queries = queries_with_check("-- id: mine.broken\n-- severity: warn\nSELECT * FROM no_such_table");
    common::assert_one_line_error(stedi().arg("--check").arg("--queries").arg(queries.path()), "mine.broken");
}

#[test]
fn unreadable_expect_file_exits_2() {
    common::assert_one_line_error(stedi().args(["--check", "--expect", "no/such/expect.json"]), "no/such/expect.json");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("expect.json");
    fs::write(&bad, "{\"customer_landing\": \"many\"}").unwrap();
    common::assert_one_line_error(stedi().arg("--check").arg("--expect").arg(&bad), "expect.json");
}

#[test]
fn sample_data_check_passes_and_prints_the_eight_tables() {
    let out = stedi().arg("--check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for t in [
        "customer_landing",
        "accelerometer_landing",
        "step_trainer_landing",
        "customer_trusted",
        "accelerometer_trusted",
        "customer_curated",
        "step_trainer_trusted",
        "machine_learning_curated",
    ] {
        assert!(stdout.lines().any(|l| l.split_whitespace().nth(1) == Some(t)), "{t} in\n{stdout}");
    }
    // sample_data carries some of every warn-level problem, and no leak.
    for id in [
        "orphan.accelerometer_landing",
        "pre_consent.accelerometer_trusted",
        "cross_customer.machine_learning_curated",
        "duplicate.accelerometer_landing",
        "duplicate_key.customer_landing",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with("WARN") && l.contains(id)), "{id} warns in\n{stdout}");
    }
    assert!(stdout.lines().filter(|l| l.contains("consent_leak.")).all(|l| l.starts_with("PASS")));
}

/// An email-shaped word that is not masked (masked local parts are letters then stars).
fn has_unmasked_email(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .filter(|w| w.contains("@test.com"))
        .any(|w| w.split('@').next().unwrap().split('.').any(|part| part.chars().skip(1).any(|c| c != '*')))
}

#[test]
fn personal_data_is_masked_unless_asked_for() {
    let masked = stedi().args(["--check", "--format", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&masked.stdout);
    assert!(text.contains("@test.com"), "samples show masked emails");
    assert!(!has_unmasked_email(&text), "{text}");
    let shown = stedi().args(["--check", "--show-pii"]).output().unwrap();
    assert!(has_unmasked_email(&String::from_utf8_lossy(&shown.stdout)));
}

#[test]
fn json_report_parses_and_has_the_documented_fields() {
    let out = stedi().args(["--check", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 8);
    for t in tables {
        assert!(t["name"].is_string() && t["zone"].is_string() && t["rows"].is_u64());
    }
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() >= 20);
    for c in checks {
        assert!(c["id"].is_string() && c["description"].is_string() && c["failing_rows"].is_u64());
        assert!(["pass", "fail"].contains(&c["status"].as_str().unwrap()));
        assert!(["warn", "error"].contains(&c["severity"].as_str().unwrap()));
    }
    assert_eq!(v["summary"]["exit_code"], 0);
}

/// xmllint validates `report` against the JUnit XSD the project uses (skipped without xmllint).
fn assert_valid_junit(report: &Path) {
    let xsd = common::project_root().join("tests/fixtures/junit.xsd");
    match std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(report).output() {
        Ok(v) => assert!(v.status.success(), "xmllint: {}", String::from_utf8_lossy(&v.stderr)),
        Err(_) => eprintln!("SKIPPED xsd validation: xmllint not installed (.ci/run installs libxml2-utils)"),
    }
}

#[test]
fn junit_report_validates_against_the_junit_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    let out = stedi().args(["--check", "--format", "junit", "--output"]).arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "--output leaves stdout empty");
    let xml = fs::read_to_string(&report).unwrap();
    assert!(xml.contains("<testsuites") && xml.contains("<failure"), "warn-level failures are failures");
    assert_valid_junit(&report);
}

#[test]
fn removing_the_consent_filter_fails_the_leak_check_with_exit_1() {
    let (data, summary) = common::generated(100, 11, Injections::default());
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    fs::write(queries.path().join("trusted/customer_trusted.sql"), "SELECT * FROM customer_landing").unwrap();
    let out = stedi()
        .args(["--check", "--format", "json", "--data"])
        .arg(data.path())
        .arg("--queries")
        .arg(queries.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let leak = v["checks"].as_array().unwrap().iter().find(|c| c["id"] == "consent_leak.customer_trusted").unwrap();
    let non_consenting = summary.customer_records - summary.consenting_customers;
    assert_eq!(leak["failing_rows"].as_u64(), Some(non_consenting));
    assert_eq!(leak["status"], "fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("consent_leak.customer_trusted"));
}

#[test]
fn strict_mode_exits_1_on_warnings() {
    stedi()
        .args(["--check", "--strict"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pii.machine_learning_curated"));
}

#[test]
fn generate_is_deterministic_and_sample_data_is_what_the_readme_says() {
    let a = tempfile::tempdir().unwrap();
    // The exact command README.md documents for sample_data/.
    stedi()
        .args([
            "generate",
            "--customers",
            "250",
            "--readings",
            "10",
            "--seed",
            "2026",
            "--inject",
            "orphans,pre-consent,cross-customer,duplicates",
            "--out",
        ])
        .arg(a.path())
        .assert()
        .success();
    assert_same_tree(a.path(), &common::project_root().join("sample_data"));
}

fn assert_same_tree(a: &Path, b: &Path) {
    let files = |root: &Path| -> Vec<(String, Vec<u8>)> {
        // The cache a run leaves in the data folder (DATA/.stedi/) is not data.
        let mut v: Vec<_> = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".stedi")
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().strip_prefix(root).unwrap().display().to_string(), fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa.iter().map(|f| &f.0).collect::<Vec<_>>(), fb.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs");
    }
}

/// A data folder (a copy of generated data) with one more customer file whose name holds a
/// newline, a carriage return, a terminal escape, a character XML 1.0 does not allow, a C1 control
/// and a right-to-left override, and whose one record is malformed, so `rejected.customer_landing`
/// fails and prints that file's name.
const FORGED: &str = "a\nPASS error consent_leak.x\r\u{1b}[2K\u{1}\u{85}\u{202e}\n.json";

fn data_with_a_forged_file_name() -> tempfile::TempDir {
    let (data, _) = common::generated(40, 31, Injections::default());
    fs::write(data.path().join("customer/landing").join(FORGED), "{\"customerName\": \"Ann Lee\", broken\n").unwrap();
    data
}

/// No line a report printed may start with a verdict that the report did not give, nor hold a
/// control character (other than the line ends).
fn assert_no_forged_line(format: &str, text: &str) {
    // Raw, only the layout's own line ends and tabs.
    let raw: Vec<char> = text.chars().filter(|&c| is_unprintable(c) && c != '\n' && c != '\t').collect();
    assert!(raw.is_empty(), "{format}: raw {raw:?} in {text:?}");
    for line in text.lines() {
        assert!(!line.trim_start().starts_with("PASS error consent_leak.x"), "{format} forged line: {line:?}");
        assert!(!line.starts_with(".json"), "{format} broken line: {line:?}");
    }
    assert!(!text.contains("Ann Lee"), "{format}: personal data stays masked");
}

#[test]
fn a_file_name_with_control_characters_forges_no_report_line_in_any_format() {
    let data = data_with_a_forged_file_name();
    let run = |format: &str| {
        let out = stedi().args(["--check", "--format", format, "--data"]).arg(data.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "rejected.customer_landing fails: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_no_forged_line(format, &stderr);
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    assert_no_forged_line("text", &text);
    assert!(text.lines().any(|l| l.starts_with("FAIL error rejected.customer_landing")), "{text}");
    let expected_checks = text.lines().filter(|l| l.starts_with("PASS ")).count();
    assert!(expected_checks > 10, "{text}");

    // JSON keeps the value exactly (its encoder escapes it) and masks the record.
    let json = run("json");
    assert_no_forged_line("json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rejected = v["checks"].as_array().unwrap().iter().find(|c| c["id"] == "rejected.customer_landing").unwrap();
    let sample = &rejected["sample"];
    let file_column = sample["columns"].as_array().unwrap().iter().position(|c| c == "source_file").unwrap();
    let files: Vec<&str> =
        sample["rows"].as_array().unwrap().iter().map(|r| r[file_column].as_str().unwrap()).collect();
    assert!(files.iter().any(|f| f.ends_with(FORGED)), "{files:?}");

    // JUnit: the name escaped in full, and the XML valid against the schema.
    let junit = run("junit");
    assert_no_forged_line("junit", &junit);
    assert!(junit.contains(r"a\nPASS error consent_leak.x\r\u{1b}[2K\u{1}\u{85}\u{202e}\n.json"), "{junit}");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    fs::write(&report, &junit).unwrap();
    assert_valid_junit(&report);

    // Every other format shows the name escaped too, and the JSON ones decode to it exactly.
    for format in ["markdown", "html"] {
        assert_no_forged_line(format, &run(format));
    }
    let markdown = run("markdown");
    // Markdown escapes the escapes' backslashes and the underscore, and renders them as above.
    assert!(markdown.contains(r"landing/a\\nPASS error consent\_leak.x\\r"), "{markdown}");
    let sarif = run("sarif");
    assert_no_forged_line("sarif", &sarif);
    serde_json::from_str::<serde_json::Value>(&sarif).unwrap();
}

#[test]
fn control_characters_in_check_headers_and_paths_are_escaped_in_reports_and_errors() {
    // A check whose description holds a vertical tab (not allowed in XML 1.0) and an escape.
    let queries = queries_with_check(
        "-- id: mine.shown\n-- severity: warn\n-- description: rows\u{b}FAIL\u{1b}[31m forged\nSELECT 1",
    );
    for format in ["text", "junit"] {
        let out = stedi().args(["--check", "--format", format, "--queries"]).arg(queries.path()).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains(r"rows\u{b}FAIL\u{1b}[31m forged"), "{format}: {stdout}");
        assert!(!stdout.contains('\u{b}') && !stdout.contains('\u{1b}'), "{format}");
    }
    // An error naming a path with a newline stays one line, the newline shown as \n.
    let missing = "no/such\nPASS error consent_leak.x";
    common::assert_one_line_error(stedi().args(["--check", "--data", missing]), r"no/such\nPASS error consent_leak.x");
}

#[test]
fn non_regular_files_named_json_in_a_data_folder_are_errors_naming_them() {
    let timeout = std::time::Duration::from_secs(120);
    // A FIFO (never opened: reading it would wait for a writer forever).
    let data = tempfile::tempdir().unwrap();
    common::copy_tree(&common::project_root().join("sample_data"), data.path());
    let fifo = data.path().join("customer/landing/pipe.json");
    common::mkfifo(&fifo);
    let mut cmd = stedi();
    cmd.arg("--check").arg("--data").arg(data.path()).timeout(timeout);
    common::assert_one_line_error(&mut cmd, "pipe.json: is a FIFO (named pipe), not a regular file");
    fs::remove_file(&fifo).unwrap();

    // A socket, in another table's folder, below a subfolder.
    let socket = data.path().join("accelerometer/landing/more/sock.jsonl");
    fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    common::assert_one_line_error(&mut cmd, "sock.jsonl: is a socket, not a regular file");
    fs::remove_file(&socket).unwrap();

    // A broken symlink.
    let link = data.path().join("step_trainer/landing/gone.json");
    std::os::unix::fs::symlink(data.path().join("nowhere.json"), &link).unwrap();
    common::assert_one_line_error(&mut cmd, "gone.json: cannot read: a broken symlink (to ");
    fs::remove_file(&link).unwrap();

    // The erasure list as a FIFO: an error, not a wait nor an empty list.
    let list = data.path().join("_erasure_list.json");
    common::mkfifo(&list);
    common::assert_one_line_error(&mut cmd, "_erasure_list.json: the erasure list is a FIFO (named pipe)");
    fs::remove_file(&list).unwrap();

    // A folder named like a landing file is just a folder; the data now runs clean.
    fs::create_dir(data.path().join("customer/landing/archive.json")).unwrap();
    cmd.assert().code(0);
}

#[test]
fn sample_rows_are_the_same_run_to_run_cached_or_not() {
    // Readings before consent, duplicates and orphans: more failing rows than a sample shows.
    let (data, _) = common::generated(60, 33, Injections::parse("pre-consent=6,duplicates=6,orphans=6", 3).unwrap());
    let cache = tempfile::tempdir().unwrap();
    let samples = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
        cmd.current_dir(common::project_root()).env_remove("STEDI_TUI_CACHE");
        let out = cmd.args(["--check", "--format", "json", "--data"]).arg(data.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let samples: Vec<(String, serde_json::Value)> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| (c["id"].as_str().unwrap().to_string(), c["sample"].clone()))
            .collect();
        (samples, v["summary"]["cache"]["checks_reused"].as_u64().unwrap_or(0))
    };
    let cache_arg = cache.path().to_str().unwrap();
    let (cold, _) = samples(&["--cache", cache_arg]);
    let (warm, reused) = samples(&["--cache", cache_arg]);
    let (uncached, _) = samples(&["--no-cache", "--threads", "1"]);
    assert!(reused > 0, "the second run took its check results from the cache");
    assert!(cold.len() >= 3, "{cold:?}");
    assert_eq!(cold, warm, "cached");
    assert_eq!(cold, uncached, "no cache, one thread");
    // Six orphan readings of one (unknown) customer: tied in the first column, five shown, so which
    // five is the order's choice: the earliest, in time order.
    let orphans = cold.iter().find(|(id, _)| id == "orphan.accelerometer_landing").expect("orphans fail");
    let rows = orphans.1["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.windows(2).all(|w| w[0][0] == w[1][0]), "ties in the first column: {rows:?}");
    let times: Vec<u64> = rows.iter().map(|r| r[1].as_str().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
}
