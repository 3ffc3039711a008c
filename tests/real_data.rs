//! The real Udacity STEDI data (read from $STEDI_REAL_DATA, never copied into the project) must give
//! exactly the row counts the original project's grading expects, and the check results measured on it.
mod common;

use stedi_tui::engine::CheckOptions;

#[test]
fn real_data_gives_the_rubric_counts_and_check_results() {
    let Some(data) = common::real_data() else { return };
    let (engine, outcomes) = common::run_pipeline(&data, &common::queries_dir(), &CheckOptions::default());
    let counts = engine.row_counts();
    let expected = [
        ("customer_landing", 956),
        ("accelerometer_landing", 81_273),
        ("step_trainer_landing", 28_680),
        ("customer_trusted", 482),
        ("accelerometer_trusted", 40_981),
        ("customer_curated", 482),
        ("step_trainer_trusted", 14_460),
        ("machine_learning_curated", 43_681),
    ];
    for (table, rows) in expected {
        assert_eq!(counts.get(table), Some(&rows), "{table}");
    }
    assert_eq!(counts.len(), 8, "{counts:?}");

    let failing = common::failing(&outcomes);
    assert!(failing.keys().all(|id| !id.starts_with("consent_leak.")), "{failing:?}");
    assert!(outcomes.iter().filter(|o| o.id.starts_with("consent_leak.")).count() == 5);
    assert_eq!(failing.get("pre_consent.accelerometer_trusted"), Some(&8_956));
    assert_eq!(failing.get("cross_customer.machine_learning_curated"), Some(&2_700));
    assert_eq!(failing.get("pii.machine_learning_curated"), Some(&1));
    assert!(outcomes.iter().all(|o| !o.is_error()), "no error-severity check fails on the real data");
}
