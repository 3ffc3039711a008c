//! Every check, both ways: on generated data where the problem was injected (the check must find
//! exactly the rows the generator put there) and on clean generated data (it must pass).
mod common;

use std::collections::BTreeMap;

use stedi_tui::engine::CheckOptions;
use stedi_tui::engine::Injections;

const PII: &str = "pii.machine_learning_curated";

/// Every check id the default queries define, given the eight tables.
fn all_check_ids(outcomes: &[stedi_tui::engine::CheckOutcome]) -> Vec<String> {
    outcomes.iter().map(|o| o.id.clone()).collect()
}

#[test]
fn clean_data_passes_every_check_but_the_rubric_pii_one() {
    let (dir, summary) = common::generated(120, 7, Injections::default());
    assert!(summary.expected_failing.is_empty());
    let (engine, outcomes) = common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions::default());
    let failing = common::failing(&outcomes);
    assert_eq!(failing, BTreeMap::from([(PII.to_string(), 1)]), "the rubric ML table carries `user`");
    // The required ids are all there.
    let ids = all_check_ids(&outcomes);
    for t in [
        "customer_trusted",
        "accelerometer_trusted",
        "step_trainer_trusted",
        "customer_curated",
        "machine_learning_curated",
    ] {
        assert!(ids.contains(&format!("consent_leak.{t}")), "consent_leak.{t}");
    }
    for (table, _) in engine.catalog.table_names() {
        assert!(ids.contains(&format!("duplicate.{table}")), "duplicate.{table}");
    }
    for id in [
        "orphan.accelerometer_landing",
        "orphan.step_trainer_landing",
        "pre_consent.accelerometer_trusted",
        "pre_consent.step_trainer_trusted",
        "pre_consent.machine_learning_curated",
        "cross_customer.machine_learning_curated",
        "duplicate_key.customer_landing",
        PII,
    ] {
        assert!(ids.contains(&id.to_string()), "{id}");
    }
    assert!(!ids.iter().any(|id| id.starts_with("row_count.")), "row_count checks only with --expect");
}

/// Each kind of problem alone, then all together: the checks find exactly what was injected.
#[test]
fn injected_problems_are_found_exactly() {
    let cases = [
        ("orphans=4", 90u64),
        ("pre-consent=3", 91),
        ("cross-customer=2", 92),
        ("revoked=3", 93),
        ("duplicates=2", 94),
        ("all=2", 95),
    ];
    for (spec, seed) in cases {
        let inject = Injections::parse(spec, 3).unwrap();
        let (dir, summary) = common::generated(150, seed, inject);
        assert!(!summary.expected_failing.is_empty(), "{spec} injects something");
        let (_, outcomes) = common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions::default());
        let mut failing = common::failing(&outcomes);
        assert_eq!(failing.remove(PII), Some(1), "{spec}");
        assert_eq!(failing, summary.expected_failing, "{spec}");
        let leaks = outcomes.iter().any(|o| o.is_error());
        assert_eq!(leaks, inject.revoked > 0, "{spec}: only a revocation leaks in the rubric pipeline");
    }
}

#[test]
fn strict_turns_warnings_into_errors() {
    let (dir, _) = common::generated(60, 3, Injections::default());
    let (_, outcomes) =
        common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions { strict: true, ..Default::default() });
    let pii = outcomes.iter().find(|o| o.id == PII).unwrap();
    assert!(pii.is_error());
    assert_eq!(pii.declared_severity, stedi_tui::engine::Severity::Warn);
}

#[test]
fn row_count_checks_follow_the_expect_file() {
    let (dir, summary) = common::generated(60, 4, Injections::default());
    let expect_path = dir.path().join("expect.json");
    let expect = BTreeMap::from([
        ("customer_landing".to_string(), summary.customer_records),
        ("accelerometer_landing".to_string(), summary.accelerometer_readings + 1),
    ]);
    let options = CheckOptions { expect: Some((expect_path, expect)), ..Default::default() };
    let (_, outcomes) = common::run_pipeline(dir.path(), &common::queries_dir(), &options);
    let ok = outcomes.iter().find(|o| o.id == "row_count.customer_landing").unwrap();
    assert!(ok.passed());
    let off = outcomes.iter().find(|o| o.id == "row_count.accelerometer_landing").unwrap();
    assert_eq!((off.failing_rows, off.is_error()), (1, true));
}

/// `duplicate.<table>` finds repeated row hashes by sorting them: a row written three times is one
/// failing row with three copies, two rows each written twice are two, and a row that differs from
/// another in one column only (the same hash input but one value) is not a duplicate.
#[test]
fn duplicates_are_counted_by_whole_rows_with_their_copies() {
    let (dir, _) = common::generated(40, 11, Injections::default());
    let folder = dir.path().join("accelerometer/landing");
    let reading = |x: &str| format!(r#"{{"user":"dup@test.com","timestamp":1655564376361,"x":{x},"y":0.5,"z":-1.0}}"#);
    let mut extra = vec![reading("0.25"); 3];
    extra.extend([reading("0.5"), reading("0.5"), reading("0.75")]);
    std::fs::write(folder.join("zz-duplicates.json"), extra.join("\n") + "\n").unwrap();
    let (engine, outcomes) = common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions::default());
    let outcome = outcomes.iter().find(|o| o.id == "duplicate.accelerometer_landing").unwrap();
    assert_eq!(outcome.failing_rows, 2);
    let mut stmt =
        engine.connection().prepare(&format!("SELECT x, copies FROM {} ORDER BY x", outcome.result_table)).unwrap();
    let copies: Vec<(f64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(copies, [(0.25, 3), (0.5, 2)]);
}
