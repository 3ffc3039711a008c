//! Landing files as they come: found recursively, NDJSON or one JSON array, optionally gzipped,
//! loaded with the declared types whatever the extension, and every row counted per source file.
mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use stedi_tui::engine::{CheckOptions, Engine, EngineOptions};

const CUSTOMER: &str = r#"{"customerName": "Ada Test", "email": "Ada.Test@test.com", "phone": "8015550000", "birthDay": "1990-01-02", "serialNumber": "00000000-0000-4000-8000-000000000001", "registrationDate": 1655564376361, "lastUpdateDate": 1655564376361, "shareWithResearchAsOfDate": 1655564376361, "shareWithPublicAsOfDate": null, "shareWithFriendsAsOfDate": null}"#;

fn reading(t: i64) -> String {
    format!(r#"{{"user":"Ada.Test@test.com","timestamp":{t},"x":1.0,"y":0.5,"z":-1.0}}"#)
}

fn step(t: i64) -> String {
    format!(
        r#"{{"sensorReadingTime":{t},"serialNumber":"00000000-0000-4000-8000-000000000001","distanceFromObject":200}}"#
    )
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn write_gz(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

#[test]
fn every_supported_file_shape_loads_with_declared_types() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("customer/landing/customer-1.json"), &format!("{CUSTOMER}\n"));
    // accelerometer: NDJSON, a JSON array, gzip, .jsonl in a nested folder, an empty file, and a
    // file with another extension that must be ignored.
    let acc = d.join("accelerometer/landing");
    write(&acc.join("a.json"), &format!("{}\n{}\n", reading(1_655_564_400_000), reading(1_655_564_400_001)));
    write(&acc.join("b.json"), &format!("[{}, {}, {}]", reading(2), reading(3), reading(4)));
    write_gz(&acc.join("c.ndjson.gz"), &format!("{}\n", reading(5)));
    write(&acc.join("2022/06/d.jsonl"), &format!("{}\n{}\n", reading(6), reading(7)));
    write(&acc.join("empty.json"), "");
    write(&acc.join("notes.txt"), "not data");
    write(&d.join("step_trainer/landing/s.json.gz"), "");
    write_gz(&d.join("step_trainer/landing/s.json.gz"), &format!("{}\n", step(1_655_564_400_000)));

    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let acc_table = engine.table("accelerometer_landing").unwrap();
    assert_eq!(acc_table.rows, 8);
    let per_file: Vec<(String, u64)> =
        acc_table.sources.iter().map(|s| (s.path.strip_prefix(&acc).unwrap().display().to_string(), s.rows)).collect();
    assert_eq!(
        per_file,
        vec![
            ("2022/06/d.jsonl".to_string(), 2),
            ("a.json".to_string(), 2),
            ("b.json".to_string(), 3),
            ("c.ndjson.gz".to_string(), 1),
            ("empty.json".to_string(), 0),
        ]
    );
    assert_eq!(engine.table("step_trainer_landing").unwrap().rows, 1);
    // Declared types, not detected ones: the same schema whatever the data looked like.
    let types: Vec<(String, String)> = engine
        .fetch("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'customer_landing'", 20, 0)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    for (col, ty) in [("birthDay", "DATE"), ("shareWithResearchAsOfDate", "BIGINT"), ("email", "VARCHAR")] {
        assert!(types.contains(&(col.to_string(), ty.to_string())), "{col} {ty} in {types:?}");
    }
    // The two readings taken after consent reach the trusted zone with their step trainer reading.
    assert_eq!(engine.table("accelerometer_trusted").unwrap().rows, 8);
    assert_eq!(engine.table("machine_learning_curated").unwrap().rows, 1);
}

#[test]
fn bad_records_are_rejected_with_file_line_and_reason_and_counts_balance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A customer whose consent is a boolean must never count as consenting: rejected, fails closed.
    let bool_consent = CUSTOMER
        .replace("Ada", "Bob")
        .replace("000000000001", "000000000002")
        .replace("\"shareWithResearchAsOfDate\": 1655564376361", "\"shareWithResearchAsOfDate\": true");
    write(&d.join("customer/landing/c.json"), &format!("{CUSTOMER}\r\n{bool_consent}\r\n"));
    write(&d.join("step_trainer/landing/s.json"), &format!("{}\n", step(1)));
    let bad = d.join("accelerometer/landing/bad.json");
    let lines = [
        reading(1),
        r#"{"user":"Ada.Test@test.com","timestamp":2,"x":"abc","y":0,"z":0}"#.to_string(),
        r#"{"timestamp":3,"x":0,"y":0,"z":0}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":4,"x":0,"#.to_string(),
        reading(5),
    ];
    write(&bad, &(lines.join("\n") + "\n"));
    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let acc = engine.table("accelerometer_landing").unwrap();
    assert_eq!((acc.rows, acc.rejected), (2, 3), "loaded + rejected = the 5 records");
    let rejects = engine
        .fetch("SELECT source_file, line, reason FROM accelerometer_landing_rejected ORDER BY line", 10, 0)
        .unwrap()
        .rows;
    let got: Vec<(String, String)> = rejects.iter().map(|r| (r[1].clone().unwrap(), r[2].clone().unwrap())).collect();
    assert!(rejects.iter().all(|r| r[0].as_deref() == Some(bad.to_str().unwrap())));
    assert_eq!(got[0].0, "2");
    assert!(got[0].1.contains("\"x\" is a text of 3 characters, not DOUBLE"), "{got:?}");
    assert_eq!(got[1], ("3".to_string(), "required field \"user\" is missing or null".to_string()));
    assert_eq!(got[2].0, "4");
    assert!(got[2].1.starts_with("malformed JSON"));

    let customers = engine.table("customer_landing").unwrap();
    assert_eq!((customers.rows, customers.rejected), (1, 1));
    let failing = common::failing(&outcomes);
    assert_eq!(failing.get("rejected.accelerometer_landing"), Some(&3));
    assert_eq!(failing.get("rejected.customer_landing"), Some(&1));
    assert!(outcomes.iter().find(|o| o.id == "rejected.customer_landing").unwrap().is_error());
    // Bob, whose consent was `true`, is nowhere downstream.
    let bob = engine.fetch("SELECT * FROM customer_trusted WHERE email LIKE 'Bob%'", 10, 0).unwrap();
    assert!(bob.rows.is_empty());
}

#[test]
fn paths_with_quotes_semicolons_spaces_and_accents_are_data_not_sql() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("it's; DROP TABLE x; -- \"données\" été");
    write(&d.join("customer/landing/c\'o; \"q\".json"), &format!("{CUSTOMER}\n"));
    write(&d.join("accelerometer/landing/ä ö.json"), &format!("{}\n", reading(1_655_564_400_000)));
    write(&d.join("step_trainer/landing/s'.json"), &format!("{}\n", step(1_655_564_400_000)));
    let mut engine = Engine::open(EngineOptions::new(&d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(engine.row_counts().get("machine_learning_curated"), Some(&1));
}

#[test]
fn thousands_of_small_files_and_a_symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("customer/landing/c.json"), &format!("{CUSTOMER}\n"));
    write(&d.join("step_trainer/landing/s.json"), &format!("{}\n", step(1)));
    for i in 0..2_000 {
        write(&d.join(format!("accelerometer/landing/part-{i:05}.json")), &format!("{}\n", reading(i)));
    }
    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(engine.table("accelerometer_landing").unwrap().sources.len(), 2_000);
    assert_eq!(engine.table("accelerometer_landing").unwrap().rows, 2_000);

    std::os::unix::fs::symlink(d.join("accelerometer"), d.join("accelerometer/landing/loop")).unwrap();
    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    let err = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("symlink loop") && err.contains("loop"), "{err}");
}

#[test]
fn a_non_rubric_ml_table_passes_the_pii_check() {
    // The pii check both ways: the rubric ML table carries `user` (see tests/checks.rs); an ML
    // stage that keeps no personal column passes.
    let (data, _) = common::generated(60, 5, Default::default());
    let queries = tempfile::tempdir().unwrap();
    common::copy_tree(&common::queries_dir(), queries.path());
    fs::write(
        queries.path().join("curated/machine_learning_curated.sql"),
        "SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.\"timestamp\", a.x, a.y, a.z \
         FROM step_trainer_trusted AS s JOIN accelerometer_trusted AS a ON s.sensorReadingTime = a.\"timestamp\"",
    )
    .unwrap();
    // The checks that judge ML rows by their phone's `user` cannot run on this table; they are not
    // what this test is about, so this copy of the queries leaves them out.
    for id in ["consent_leak", "pre_consent", "cross_customer"] {
        fs::remove_file(queries.path().join(format!("checks/{id}.machine_learning_curated.sql"))).unwrap();
    }
    let (_, outcomes) = common::run_pipeline(data.path(), queries.path(), &CheckOptions::default());
    let pii = outcomes.iter().find(|o| o.id == "pii.machine_learning_curated").unwrap();
    assert!(pii.passed());
    assert!(outcomes.iter().all(|o| o.passed()), "clean generated data");
}
