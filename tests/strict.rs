//! Strict mode, the rubric-vs-strict diff and the right to erasure, on a real DuckDB.
//!
//! The generator (src/engine/generate.rs) makes the expectations exact. Each injection goes to its
//! own consenting customers, and customers never share a millisecond unless a problem is injected:
//! - pre-consent: one Step Trainer and one phone reading of the customer, in one millisecond before
//!   registration (so before consent). The rubric keeps both, and pairs them into one ML row.
//! - cross-customer: the customer's Step Trainer and an EARLIER customer's phone, in one odd
//!   millisecond of the customer's window (after both consents). The rubric's timestamp-only join
//!   pairs them into one ML row; joined through the owner they pair with nothing.
//! - revoked: a later record of the customer without consent. The rubric keeps the earlier record
//!   and so all their readings; the generator counts those rows as `consent_leak.<table>`.
//!
//! So strict = rubric minus exactly the injected rows, and the generator's expected check counts
//! (`expected_failing`) are the numbers of rows strict mode drops, reason by reason.
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use stedi_tui::engine::{add_to_erasure_list, erasure_list_path, read_erasure_list};
use stedi_tui::engine::{CheckOptions, CheckOutcome, Engine, EngineOptions, Mode, PseudonymKey};
use stedi_tui::engine::{GenerateSummary, Injections};

const KEY: &str = "test-pseudonym-key-0001";
const OTHER_KEY: &str = "test-pseudonym-key-0002";
const ZONE_TABLES: [&str; 5] = [
    "customer_trusted",
    "accelerometer_trusted",
    "step_trainer_trusted",
    "customer_curated",
    "machine_learning_curated",
];

fn options(data: &Path, mode: Mode, key: Option<&str>) -> EngineOptions {
    let mut options = EngineOptions::new(data, common::queries_dir());
    options.mode = mode;
    options.pseudonym_key = key.map(|k| PseudonymKey::new(k).unwrap());
    options
}

fn run(data: &Path, mode: Mode, key: Option<&str>) -> (Engine, Vec<CheckOutcome>) {
    let mut engine = Engine::open(options(data, mode, key)).expect("open");
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).expect("pipeline runs");
    (engine, outcomes)
}

fn strict(data: &Path) -> (Engine, Vec<CheckOutcome>) {
    run(data, Mode::Strict, Some(KEY))
}

fn rubric(data: &Path) -> (Engine, Vec<CheckOutcome>) {
    run(data, Mode::Rubric, None)
}

fn count(engine: &Engine, sql: &str) -> u64 {
    engine.connection().query_row(&format!("SELECT count(*) FROM ({sql})"), [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

fn strings(engine: &Engine, sql: &str) -> Vec<String> {
    let mut stmt = engine.connection().prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

fn expected(summary: &GenerateSummary, id: &str) -> u64 {
    summary.expected_failing.get(id).copied().unwrap_or(0)
}

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    // Tests share sample_data/ and run in parallel: no cache here (tests/cache.rs tests it).
    cmd.env("STEDI_TUI_CACHE", "off");
    cmd.current_dir(common::project_root());
    cmd.env_remove("STEDI_PSEUDONYM_KEY");
    cmd
}

const PROBLEMS: &str = "pre-consent=3,cross-customer=2,revoked=2";

#[test]
fn strict_drops_exactly_the_injected_rows() {
    let (dir, summary) = common::generated(150, 11, Injections::parse(PROBLEMS, 3).unwrap());
    let (rubric_engine, _) = rubric(dir.path());
    let (strict_engine, _) = strict(dir.path());
    let r = rubric_engine.row_counts();
    let s = strict_engine.row_counts();
    let revoked = 2;
    // Landing is shared.
    for t in ["customer_landing", "accelerometer_landing", "step_trainer_landing"] {
        assert_eq!(r[t], s[t], "{t}");
    }
    // One record per consenting customer in both; a revoked customer's later record withdraws consent.
    assert_eq!(r["customer_trusted"], summary.consenting_customers);
    assert_eq!(s["customer_trusted"], summary.consenting_customers - revoked);
    // Every consenting customer has readings after consent, so curated = trusted in both modes.
    assert_eq!(s["customer_curated"], s["customer_trusted"]);
    assert_eq!(r["customer_curated"] - revoked, s["customer_curated"]);
    for t in ["accelerometer_trusted", "step_trainer_trusted"] {
        let dropped =
            expected(&summary, &format!("consent_leak.{t}")) + expected(&summary, &format!("pre_consent.{t}"));
        assert_eq!((dropped > 0, r[t] - dropped), (true, s[t]), "{t}");
    }
    // The ML table: the revoked customers' rows, the 3 pre-consent pairs and the 2 cross-customer pairs.
    let ml = "machine_learning_curated";
    assert_eq!(expected(&summary, "pre_consent.machine_learning_curated"), 3);
    assert_eq!(expected(&summary, "cross_customer.machine_learning_curated"), 2);
    assert_eq!(r[ml] - expected(&summary, "consent_leak.machine_learning_curated") - 3 - 2, s[ml]);
    // Joined through the owner, every strict phone reading pairs with its own Step Trainer reading,
    // except the 2 injected cross-customer phone readings (another customer's window, no own Step Trainer).
    assert_eq!(s[ml], s["accelerometer_trusted"] - 2);
}

#[test]
fn strict_mode_passes_every_check_where_rubric_warns_and_leaks() {
    let (dir, summary) = common::generated(150, 12, Injections::parse(PROBLEMS, 3).unwrap());
    let (_, rubric_outcomes) = rubric(dir.path());
    let mut rubric_failing = common::failing(&rubric_outcomes);
    assert_eq!(rubric_failing.remove("pii.machine_learning_curated"), Some(1));
    assert_eq!(rubric_failing, summary.expected_failing);
    assert!(rubric_outcomes.iter().any(|o| o.is_error()), "the revocations leak in the rubric pipeline");

    let (_, outcomes) = strict(dir.path());
    assert!(outcomes.iter().all(|o| o.severity == stedi_tui::engine::Severity::Error), "strict: all errors");
    // The only check strict stages cannot fix describes the landing input itself: a revoked customer
    // has two records (2 revocations, 2 rows each). Every check of a zone table passes.
    let failing = common::failing(&outcomes);
    assert_eq!(failing, BTreeMap::from([("duplicate_key.customer_landing".to_string(), 4)]));
    assert!(outcomes.iter().any(|o| o.id == "erased.machine_learning_curated" && o.passed()));

    // Without the landing-level problem, strict mode passes everything (and the CLI exits 0).
    let (dir, _) = common::generated(150, 13, Injections::parse("pre-consent=3,cross-customer=2", 3).unwrap());
    let (_, outcomes) = strict(dir.path());
    assert_eq!(common::failing(&outcomes), BTreeMap::new());
    let out = stedi()
        .args(["--check", "--mode", "strict", "--data"])
        .arg(dir.path())
        .env("STEDI_PSEUDONYM_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // ...where the rubric mode with --strict fails.
    let out = stedi().args(["--check", "--strict", "--data"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_strict_ml_table_carries_a_keyed_pseudonym_and_no_personal_column() {
    let (dir, _) = common::generated(80, 14, Injections::default());
    let ml = "SELECT DISTINCT customer_pseudonym FROM machine_learning_curated ORDER BY 1";
    let (a, outcomes) = strict(dir.path());
    assert!(outcomes.iter().any(|o| o.id == "pii.machine_learning_curated" && o.passed()));
    let columns = strings(
        &a,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'machine_learning_curated' \
         ORDER BY ordinal_position",
    );
    assert_eq!(
        columns,
        [
            "sensorReadingTime",
            "device_pseudonym",
            "distanceFromObject",
            "customer_pseudonym",
            "timestamp",
            "x",
            "y",
            "z"
        ]
    );
    let first = strings(&a, ml);
    // The pseudonym is sha256(key || normalised email), recomputed here independently of the SQL.
    let emails = strings(&a, "SELECT DISTINCT email FROM customer_curated");
    let hex = |text: String| -> String { Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect() };
    let mut recomputed: Vec<String> = emails.iter().map(|e| hex(format!("{KEY}{}", e.trim().to_lowercase()))).collect();
    recomputed.sort();
    assert!(first == recomputed, "pseudonyms are sha256(key || email) of the curated customers");
    // The device: sha256(key || 'serialNumber:' || serial) of the curated customers' devices.
    let devices = strings(&a, "SELECT DISTINCT device_pseudonym FROM machine_learning_curated ORDER BY 1");
    let serials = strings(&a, "SELECT DISTINCT serialNumber FROM step_trainer_trusted");
    let all: Vec<String> = serials.iter().map(|s| hex(format!("{KEY}serialNumber:{s}"))).collect();
    assert!(
        !devices.is_empty() && devices.iter().all(|d| all.contains(d)),
        "device pseudonyms are keyed serial numbers"
    );
    // Stable across runs with the same key, different with another key.
    let (b, _) = strict(dir.path());
    assert!(strings(&b, ml) == first, "same key, same pseudonyms");
    let (c, _) = run(dir.path(), Mode::Strict, Some(OTHER_KEY));
    let other = strings(&c, ml);
    assert_eq!(other.len(), first.len());
    assert!(other.iter().all(|p| !first.contains(p)), "another key gives other pseudonyms");
}

#[test]
fn the_key_is_required_and_never_printed() {
    let (dir, _) = common::generated(60, 15, Injections::parse("revoked=1", 3).unwrap());
    // No key: a one-line error, exit 2, before any work.
    let out = stedi().args(["--check", "--mode", "strict", "--data"]).arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("STEDI_PSEUDONYM_KEY"), "{stderr}");
    assert!(Engine::open(options(dir.path(), Mode::Strict, None)).is_err());
    // A short key is refused without being echoed.
    let short = "tiny-key-42";
    let out =
        stedi().args(["--check", "--mode", "strict", "--salt", short, "--data"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(short));
    // The key appears in no output of any command that uses it, in any format, failing or not.
    let mut runs: Vec<Vec<String>> = ["text", "json", "junit"]
        .iter()
        .map(|f| ["--check", "--mode", "strict", "--show-pii", "--format", f].map(String::from).to_vec())
        .collect();
    runs.push(vec!["diff".into(), "--format".into(), "json".into()]);
    runs.push(vec!["diff".into()]);
    for args in runs {
        for via_flag in [false, true] {
            let mut cmd = stedi();
            cmd.args(&args).arg("--data").arg(dir.path());
            if via_flag {
                cmd.args(["--salt", KEY]);
            } else {
                cmd.env("STEDI_PSEUDONYM_KEY", KEY);
            }
            let out = cmd.output().unwrap();
            assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            for stream in [&out.stdout, &out.stderr] {
                assert!(!String::from_utf8_lossy(stream).contains(KEY), "{args:?} printed the key");
            }
        }
    }
    // A broken strict stage: the error names the file, not the key.
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    fs::write(
        queries.path().join("strict/curated/machine_learning_curated.sql"),
        "SELECT getvariable('pseudonym_key') || 1 + 'x' AS broken",
    )
    .unwrap();
    let out = stedi()
        .args(["--check", "--mode", "strict", "--salt", KEY, "--data"])
        .arg(dir.path())
        .arg("--queries")
        .arg(queries.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("machine_learning_curated.sql") && !stderr.contains(KEY), "{stderr}");
}

#[test]
fn diff_counts_by_reason_equal_the_injected_counts() {
    let (dir, summary) = common::generated(150, 16, Injections::parse(PROBLEMS, 3).unwrap());
    let engine = Engine::run_both_modes(options(dir.path(), Mode::Rubric, None)).unwrap();
    let diff = engine.diff().unwrap();
    let tables: Vec<&str> = diff.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables.len(), 5);
    for t in &diff.tables {
        let name = t.table.as_str();
        assert!(ZONE_TABLES.contains(&name), "{name}");
        assert_eq!(t.rubric_rows - t.only_in(Mode::Rubric) + t.only_in(Mode::Strict), t.strict_rows, "{name}");
        assert_eq!(t.only_in(Mode::Strict), 0, "{name}: strict keeps nothing the rubric drops");
        assert_eq!(t.count(Mode::Rubric, "other"), 0, "{name}: every difference has a named reason");
        let revoked = match name {
            "customer_trusted" | "customer_curated" => 2,
            _ => expected(&summary, &format!("consent_leak.{name}")),
        };
        assert_eq!(t.count(Mode::Rubric, "revoked consent"), revoked, "{name}");
        assert_eq!(t.count(Mode::Rubric, "pre-consent"), expected(&summary, &format!("pre_consent.{name}")), "{name}");
        assert_eq!(
            t.count(Mode::Rubric, "cross-customer"),
            expected(&summary, &format!("cross_customer.{name}")),
            "{name}"
        );
    }
    // The same through the CLI, as JSON.
    let out = stedi().args(["diff", "--format", "json", "--data"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ml = json["tables"].as_array().unwrap().iter().find(|t| t["table"] == "machine_learning_curated").unwrap();
    let cross = ml["differences"].as_array().unwrap().iter().find(|d| d["reason"] == "cross-customer").unwrap();
    assert_eq!((cross["kept_by"].as_str(), cross["rows"].as_u64()), (Some("rubric"), Some(2)));
    // And as text: one line per reason, no personal data.
    let out = stedi().arg("diff").arg("--data").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["cross-customer", "2"]), "{text}");
    assert!(!text.contains('@'));
}

/// SHA-256 of every file under the landing folders.
fn landing_hashes(data: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(data)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file() && e.path().components().any(|c| c.as_os_str() == "landing"))
        .map(|e| (e.path().to_path_buf(), Sha256::digest(fs::read(e.path()).unwrap()).to_vec()))
        .collect()
}

#[test]
fn forget_erases_a_customer_from_every_zone_of_both_modes() {
    let (dir, _) = common::generated(100, 17, Injections::parse("pre-consent=1,cross-customer=1", 3).unwrap());
    let data = dir.path();
    let before = landing_hashes(data);
    // Two customers: the curated customer whose email sorts first, and the owner of the phone that
    // the rubric's timestamp-only join pairs with another customer's Step Trainer (cross-customer).
    let (engine, _) = rubric(data);
    let email = strings(&engine, "SELECT min(email) FROM customer_curated").remove(0);
    let cross_phone =
        strings(&engine, "SELECT t.\"user\" FROM machine_learning_curated AS t JOIN consent_by_serial AS d USING (serialNumber) WHERE d.customer_id <> lower(trim(t.\"user\"))")
            .remove(0);
    drop(engine);
    let both = Engine::run_both_modes(options(data, Mode::Rubric, None)).unwrap();
    let rows = both.customer_rows(&email).unwrap();
    assert!(rows.iter().all(|r| r.rubric > 0), "the customer has rows in every table");
    drop(both);

    for target in [&email, &cross_phone] {
        let out = stedi().arg("forget").arg(target).arg("--data").arg(data).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        for stream in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(target.as_str()), "the email is masked");
        }
    }
    let list = read_erasure_list(data).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.contains(&email) && list.contains(&cross_phone));

    // Idempotent: forgetting again leaves the same list; the landing files never change.
    let list_text = fs::read_to_string(erasure_list_path(data)).unwrap();
    let out = stedi().arg("forget").arg(&email).arg("--data").arg(data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already on"));
    assert_eq!(fs::read_to_string(erasure_list_path(data)).unwrap(), list_text);
    assert_eq!(landing_hashes(data), before, "landing files untouched");

    // Now: no zone row of either customer in either mode; landing still holds them; erased.* pass.
    let both = Engine::run_both_modes(options(data, Mode::Rubric, Some(KEY))).unwrap();
    for target in [&email, &cross_phone] {
        for r in both.customer_rows(target).unwrap() {
            if r.zone == stedi_tui::engine::Zone::Landing {
                assert!(r.rubric > 0 && r.rubric == r.strict, "{}: landing keeps the raw data", r.table);
            } else {
                assert_eq!((r.rubric, r.strict), (0, 0), "{}", r.table);
            }
        }
    }
    // The erased phone owner's reading was paired with another customer's Step Trainer: gone too.
    assert_eq!(
        count(
            &both,
            "SELECT * FROM rubric.machine_learning_curated WHERE \"user\" IN (SELECT email FROM erased_customers)"
        ),
        0
    );
    drop(both);
    for (engine, outcomes) in [rubric(data), strict(data)] {
        let erased: Vec<&CheckOutcome> = outcomes.iter().filter(|o| o.id.starts_with("erased.")).collect();
        assert_eq!(erased.len(), 5);
        assert!(erased.iter().all(|o| o.passed() && o.severity == stedi_tui::engine::Severity::Error));
        assert_eq!(count(&engine, "SELECT * FROM erased_customers"), 2);
    }
}

#[test]
fn the_erased_check_finds_a_stage_that_ignores_the_list() {
    let (dir, _) = common::generated(60, 18, Injections::default());
    let (engine, _) = rubric(dir.path());
    let email = strings(&engine, "SELECT min(email) FROM customer_curated").remove(0);
    drop(engine);
    add_to_erasure_list(dir.path(), &email).unwrap();
    // A copy of the queries whose strict customer_trusted forgets to filter erased customers.
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    let stage = queries.path().join("strict/trusted/customer_trusted.sql");
    let sql = fs::read_to_string(&stage).unwrap().replace("AND c.customer_id NOT IN (SELECT key FROM erased_keys)", "");
    fs::write(&stage, sql).unwrap();
    let mut options = EngineOptions::new(dir.path(), queries.path());
    options.mode = Mode::Strict;
    options.pseudonym_key = Some(PseudonymKey::new(KEY).unwrap());
    let mut engine = Engine::open(options).unwrap();
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let failing = common::failing(&outcomes);
    assert_eq!(failing.get("erased.customer_trusted"), Some(&1));
    assert!(outcomes.iter().any(|o| o.id == "erased.customer_trusted" && o.is_error()));
    // A broken list is an error naming the file, never an empty list.
    fs::write(erasure_list_path(dir.path()), "{\"not\": \"a list\"}").unwrap();
    let err = Engine::open(EngineOptions::new(dir.path(), common::queries_dir()))
        .unwrap()
        .run_all(&CheckOptions::default(), &mut |_| {})
        .expect_err("a broken erasure list stops the run");
    assert!(err.to_string().contains("_erasure_list.json"), "{err}");
}

#[test]
fn a_missing_strict_folder_is_a_one_line_error() {
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    fs::remove_dir_all(queries.path().join("strict")).unwrap();
    let out =
        stedi().args(["--check", "--mode", "strict", "--salt", KEY, "--queries"]).arg(queries.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("strict") && stderr.trim_end().lines().count() == 1, "{stderr}");
}

/// Measured on the real Udacity data: strict mode drops the 8,956 pre-consent phone readings (and
/// the 3,163 pre-consent Step Trainer readings), 18 customers whose phone readings all predate their
/// consent, and the rubric ML table's 2,700 cross-customer pairs; every check passes.
#[test]
fn real_data_strict_counts_checks_and_diff() {
    let Some(data) = common::real_data() else { return };
    let (engine, outcomes) = strict(&data);
    let expected = [
        ("customer_landing", 956),
        ("accelerometer_landing", 81_273),
        ("step_trainer_landing", 28_680),
        ("customer_trusted", 482),
        ("accelerometer_trusted", 32_025),
        ("customer_curated", 464),
        ("step_trainer_trusted", 11_297),
        ("machine_learning_curated", 32_025),
    ];
    let counts = engine.row_counts();
    for (table, rows) in expected {
        assert_eq!(counts.get(table), Some(&rows), "{table}");
    }
    assert_eq!(counts.len(), 8);
    assert_eq!(common::failing(&outcomes), BTreeMap::new(), "every strict check passes on the real data");
    assert!(outcomes.iter().all(|o| o.severity == stedi_tui::engine::Severity::Error));
    drop(engine);

    let diff = Engine::run_both_modes(options(&data, Mode::Rubric, None)).unwrap().diff().unwrap();
    let by_table: BTreeMap<&str, Vec<(String, u64)>> = diff
        .tables
        .iter()
        .map(|t| {
            (
                t.table.as_str(),
                t.differences.iter().map(|d| (format!("{:?}/{}", d.kept_by, d.reason), d.rows)).collect(),
            )
        })
        .collect();
    let rubric = |pairs: &[(&str, u64)]| pairs.iter().map(|(r, n)| (format!("Rubric/{r}"), *n)).collect::<Vec<_>>();
    assert_eq!(by_table["customer_trusted"], rubric(&[]));
    assert_eq!(by_table["accelerometer_trusted"], rubric(&[("pre-consent", 8_956)]));
    assert_eq!(by_table["customer_curated"], rubric(&[("pre-consent", 18)]));
    assert_eq!(by_table["step_trainer_trusted"], rubric(&[("pre-consent", 3_163)]));
    assert_eq!(by_table["machine_learning_curated"], rubric(&[("cross-customer", 2_700), ("pre-consent", 8_956)]));
}
