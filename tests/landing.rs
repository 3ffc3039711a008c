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

/// (line, reason) of each reject of `table` from the file named `file`, in order.
fn rejects_of(engine: &Engine, table: &str, file: &str) -> Vec<(u64, String)> {
    engine
        .fetch(&format!("SELECT source_file, line, reason FROM {table}_rejected ORDER BY source_file, line"), 1_000, 0)
        .unwrap()
        .rows
        .into_iter()
        .filter(|r| r[0].as_deref().is_some_and(|p| p.ends_with(&format!("/{file}"))))
        .map(|r| (r[1].as_deref().unwrap().parse().unwrap(), r[2].clone().unwrap()))
        .collect()
}

/// (file name, rows, rejected) of every file of a landing table.
fn per_file(engine: &Engine, table: &str) -> Vec<(String, u64, u64)> {
    let t = engine.table(table).unwrap();
    t.sources.iter().map(|s| (s.path.file_name().unwrap().to_string_lossy().into_owned(), s.rows, s.rejected)).collect()
}

fn pretty(record: &str) -> String {
    serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(record).unwrap()).unwrap()
}

fn minimal_data(d: &Path) {
    write(&d.join("customer/landing/c.json"), &format!("{CUSTOMER}\n"));
    write(&d.join("step_trainer/landing/s.json"), &format!("{}\n", step(1_655_564_400_000)));
}

/// Class 1 of issue 16: every shape of file, each record counted once, good ones loaded, each bad
/// one a reject with its position (a line, or an element number) and reason.
#[test]
fn every_shape_of_file_counts_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    // One customer as an editor writes it: one record over a dozen lines.
    let customer = pretty(CUSTOMER);
    assert!(customer.lines().count() >= 12);
    write(&d.join("customer/landing/c.json"), &format!("{customer}\n"));
    let acc = d.join("accelerometer/landing");
    let bad_x = r#"{"user":"Ada.Test@test.com","timestamp":3,"x":"abc","y":0.5,"z":-1.0}"#;
    write(&acc.join("a-first-line-array.json"), &format!("[1, 2]\n{}\n{}\n", reading(1), reading(2)));
    write(&acc.join("b-lone-cr.json"), &format!("{}\r{}\r{bad_x}\r{}", reading(1), reading(2), reading(4)));
    // Three readings as `jq .` prints them, one with a bad value.
    let jq = [pretty(&reading(1)), pretty(bad_x), pretty(&reading(5))].join("\n") + "\n";
    write(&acc.join("c-pretty.json"), &jq);
    write(
        &acc.join("d-concatenated.json"),
        &format!("{}{}{{\"user\":\"Ada.Test@test.com\",\n{}", reading(1), reading(2), reading(3)),
    );
    write(&acc.join("e-array.json"), &format!("[\n  {},\n  {bad_x},\n  {}\n]\n", reading(1), reading(2)));
    write(&acc.join("f-ndjson.json"), &format!("{}\n{bad_x}\n", reading(1)));

    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        (engine.table("customer_landing").unwrap().rows, engine.table("customer_landing").unwrap().rejected),
        (1, 0)
    );
    assert_eq!(
        per_file(&engine, "accelerometer_landing"),
        [
            ("a-first-line-array.json".to_string(), 2, 1),
            ("b-lone-cr.json".to_string(), 3, 1),
            ("c-pretty.json".to_string(), 2, 1),
            ("d-concatenated.json".to_string(), 3, 1),
            ("e-array.json".to_string(), 2, 1),
            ("f-ndjson.json".to_string(), 1, 1),
        ]
    );
    let text = "\"x\" is a text of 3 characters, not DOUBLE".to_string();
    let acc = "accelerometer_landing";
    assert_eq!(
        rejects_of(&engine, acc, "a-first-line-array.json"),
        [(1, "not a JSON object but an array".to_string())]
    );
    assert_eq!(rejects_of(&engine, acc, "b-lone-cr.json"), [(3, text.clone())]);
    assert_eq!(rejects_of(&engine, acc, "c-pretty.json"), [(8, text.clone())]);
    assert_eq!(
        rejects_of(&engine, acc, "d-concatenated.json"),
        [(1, "malformed JSON: not closed before line 2, where the next record starts".to_string())]
    );
    assert_eq!(rejects_of(&engine, acc, "e-array.json"), [(2, format!("element 2: {text}"))]);
    assert_eq!(rejects_of(&engine, acc, "f-ndjson.json"), [(2, text)]);
}

/// Class 2 of issue 16: an invalid byte is one reject of its record, a gzip file is gzip whatever
/// its name, and a corrupt one is one reject of the file; the rest loads, the run goes on.
#[test]
fn one_bad_byte_or_one_corrupt_file_is_a_reject_not_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    let mut bad_utf8 = format!("{CUSTOMER}\n").into_bytes();
    bad_utf8.extend_from_slice(
        &CUSTOMER.replace("Ada Test", "Bob\u{e9}").replace("000000000001", "000000000002").into_bytes(),
    );
    let at = bad_utf8.iter().rposition(|&b| b == 0xA9).unwrap();
    bad_utf8[at] = 0xFF; // é cut to a lone lead byte and a stray one
    bad_utf8.push(b'\n');
    fs::write(d.join("customer/landing/c.json"), &bad_utf8).unwrap();
    let acc = d.join("accelerometer/landing");
    fs::create_dir_all(&acc).unwrap();
    let mut bytes = format!("{}\n", reading(1)).into_bytes();
    bytes.extend_from_slice(b"{\"user\":\"Ada.Test@test.com\",\"timestamp\":2,\"x\":0.5,\"y\":0.5,\"z\":\xff}\n");
    bytes.extend_from_slice(format!("{}\n", reading(3)).as_bytes());
    fs::write(acc.join("a-utf8.json"), bytes).unwrap();
    write_gz(&acc.join("b-gzip-named.json"), &format!("{}\n{}\n", reading(4), reading(5)));
    write(&acc.join("c-plain-named.json.gz"), &format!("{}\n", reading(6)));
    write_gz(&acc.join("d-corrupt.json.gz"), &format!("{}\n", reading(7)).repeat(100));
    let gz = fs::read(acc.join("d-corrupt.json.gz")).unwrap();
    fs::write(acc.join("d-corrupt.json.gz"), &gz[..gz.len() / 2]).unwrap();
    // One flipped bit that still decodes to valid readings (a stored block holds the text as it
    // is): only the checksum tells, and DuckDB's own reader does not look at it.
    let mut stored = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    stored.write_all(format!("{}\n{}\n", reading(8), reading(9)).as_bytes()).unwrap();
    let mut stored = stored.finish().unwrap();
    let x = stored.windows(5).position(|w| w == b"\"x\":1").unwrap() + 4;
    stored[x] ^= 0b10; // "x":1.0 becomes "x":3.0
    fs::write(acc.join("e-checksum.json.gz"), &stored).unwrap();

    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        per_file(&engine, "accelerometer_landing"),
        [
            ("a-utf8.json".to_string(), 2, 1),
            ("b-gzip-named.json".to_string(), 2, 0),
            ("c-plain-named.json.gz".to_string(), 1, 0),
            ("d-corrupt.json.gz".to_string(), 0, 1),
            ("e-checksum.json.gz".to_string(), 0, 1),
        ]
    );
    let checksum = rejects_of(&engine, "accelerometer_landing", "e-checksum.json.gz");
    assert!(checksum[0].1.contains("checksum") && checksum[0].0 == 0, "{checksum:?}");
    assert_eq!(
        rejects_of(&engine, "accelerometer_landing", "a-utf8.json"),
        [(2, "not valid UTF-8: byte 63 of the record is 0xFF".to_string())]
    );
    let corrupt = rejects_of(&engine, "accelerometer_landing", "d-corrupt.json.gz");
    assert_eq!(corrupt.len(), 1);
    assert_eq!(corrupt[0].0, 0, "the whole file");
    assert!(
        corrupt[0].1.starts_with("not readable as gzip (") && corrupt[0].1.contains("the whole file is rejected"),
        "{corrupt:?}"
    );
    assert_eq!(per_file(&engine, "customer_landing"), [("c.json".to_string(), 1, 1)]);
    assert!(rejects_of(&engine, "customer_landing", "c.json")[0].1.starts_with("not valid UTF-8: byte"));
    assert_eq!(common::failing(&outcomes).get("rejected.accelerometer_landing"), Some(&3));
    // The raw text of the undecodable record is kept lossily, and masked like any other.
    let raw = engine.fetch("SELECT raw_record FROM customer_landing_rejected", 10, 0).unwrap().rows;
    let shown = stedi_tui::engine::display_value("raw_record", raw[0][0].as_deref().unwrap(), false);
    assert!(shown.contains("\"customerName\":\"B**\u{fffd}\"") || shown.contains("customerName"), "{shown}");
    assert!(!shown.contains("Bob"), "{shown}");

    // From the command line: exit 1 (rejects), not 2 (a failed run), and the reason names the file.
    let out = assert_cmd::Command::cargo_bin("stedi-tui")
        .unwrap()
        .args(["--check", "--no-cache", "--data"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Class 3 of issue 16: a value that does not fit its declared type is a reject in every landing
/// table, on DuckDB's fast path as on the validator's; a fraction of a millisecond before consent
/// is not consent time.
#[test]
fn declared_types_are_a_contract_for_sensor_data_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    let consent = 1_655_564_376_361i64;
    let r = |t: &str, x: &str| format!(r#"{{"user":"Ada.Test@test.com","timestamp":{t},"x":{x},"y":0.5,"z":-1.0}}"#);
    let lines = [
        r(&consent.to_string(), "1.0"),
        r(&consent.to_string(), "true"),
        r(&format!("{}.6", consent - 1), "0.5"),
        r("true", "0.5"),
        r(&(consent + 1).to_string(), "\"0.25\""),
        r(&format!("\"{}\"", consent + 2), "1e-3"),
        r#"{"user":{"a":1},"timestamp":1655564376361,"x":1,"y":0.5,"z":-1.0}"#.to_string(),
        r(&(consent + 3).to_string(), "NaN"),
    ];
    write(&d.join("accelerometer/landing/a.json"), &(lines.join("\n") + "\n"));
    // No boolean anywhere in this file: DuckDB reads its numbers as numbers, and still takes no fraction.
    write(
        &d.join("accelerometer/landing/b.json"),
        &format!("{}\n{}\n", r(&(consent + 4).to_string(), "1"), r("1655564400000.5", "1")),
    );
    write(
        &d.join("step_trainer/landing/s.json"),
        &[
            step(consent),
            step(consent).replace("200", "200.5"),
            step(consent).replace(&consent.to_string(), &format!("{consent}.5")),
        ]
        .join("\n"),
    );
    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        per_file(&engine, "accelerometer_landing"),
        [("a.json".to_string(), 3, 5), ("b.json".to_string(), 1, 1)]
    );
    assert_eq!(
        rejects_of(&engine, "accelerometer_landing", "a.json"),
        [
            (2, "\"x\" is a boolean (true), not DOUBLE".to_string()),
            (3, "\"timestamp\" is the number 1655564376360.6, not BIGINT".to_string()),
            (4, "\"timestamp\" is a boolean (true), not BIGINT".to_string()),
            (7, "\"user\" is an object, not VARCHAR".to_string()),
            (8, "\"x\" is NaN, not DOUBLE".to_string()),
        ]
    );
    assert_eq!(
        rejects_of(&engine, "accelerometer_landing", "b.json"),
        [(2, "\"timestamp\" is the number 1655564400000.5, not BIGINT".to_string())]
    );
    assert_eq!(
        rejects_of(&engine, "step_trainer_landing", "s.json"),
        [
            (2, "\"distanceFromObject\" is the number 200.5, not INTEGER".to_string()),
            (3, "\"sensorReadingTime\" is the number 1655564376361.5, not BIGINT".to_string()),
        ]
    );
    let values =
        engine.fetch("SELECT \"timestamp\", x FROM accelerometer_landing ORDER BY \"timestamp\"", 10, 0).unwrap().rows;
    let values: Vec<(String, String)> =
        values.into_iter().map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap())).collect();
    let t = |k: i64| (consent + k).to_string();
    assert_eq!(values, [(t(0), "1.0".into()), (t(1), "0.25".into()), (t(2), "0.001".into()), (t(4), "1.0".into())]);

    // Strict mode: the reading 0.4 ms before consent is nowhere downstream.
    let mut options = EngineOptions::new(d, common::queries_dir());
    options.mode = stedi_tui::engine::Mode::Strict;
    options.pseudonym_key = Some(stedi_tui::engine::PseudonymKey::new("landing-test-key-0123456789").unwrap());
    let mut strict = Engine::open(options).unwrap();
    strict.run_all(&CheckOptions { strict: true, ..Default::default() }, &mut |_| {}).unwrap();
    let early = strict
        .fetch(&format!("SELECT count(*) FROM accelerometer_trusted WHERE \"timestamp\" < {consent}"), 1, 0)
        .unwrap();
    assert_eq!(early.rows[0][0].as_deref(), Some("0"));
}

/// A gzip bomb (about 1 MB that unpacks to 1 GiB) is read as a stream: a record that long is one
/// reject, and the run's memory stays far below what the file unpacks to.
#[test]
fn a_gzip_bomb_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    write(&d.join("accelerometer/landing/a.json"), &format!("{}\n", reading(1)));
    // One gzip member of 64 MiB of zeros, sixteen times over: 1 GiB of text.
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![0u8; 64 << 20]).unwrap();
    let member = member.finish().unwrap();
    for name in ["accelerometer/landing/bomb.json.gz", "customer/landing/bomb.json"] {
        fs::write(d.join(name), member.repeat(16)).unwrap();
    }
    let out = assert_cmd::Command::cargo_bin("stedi-tui")
        .unwrap()
        .args(["--check", "--no-cache", "--format", "json", "--data"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
    let peak_mb = usage.ru_maxrss / 1024;
    assert!(peak_mb < 600, "peak memory {peak_mb} MB for a file of 1 GiB of text");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = report["tables"].as_array().unwrap();
    let table = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(
        (table("accelerometer_landing")["rows"].as_u64(), table("accelerometer_landing")["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (table("customer_landing")["rows"].as_u64(), table("customer_landing")["rejected"].as_u64()),
        (Some(1), Some(1))
    );
}

/// A record that names a declared field twice is a reject in every table: JSON leaves the value to
/// the reader (serde_json and Spark keep the last, DuckDB's typed reader refuses the record), and
/// consent must not depend on which one ran.
#[test]
fn a_declared_field_given_twice_is_a_reject_not_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    let twice =
        CUSTOMER.replace("Ada.Test@test.com", "Bob.Twice@test.com").replace("000000000001", "000000000002").replace(
            "\"shareWithResearchAsOfDate\": 1655564376361",
            "\"shareWithResearchAsOfDate\": null, \"shareWithResearchAsOfDate\": 1655564376361",
        );
    write(&d.join("customer/landing/c.json"), &format!("{CUSTOMER}\n{twice}\n"));
    write(
        &d.join("accelerometer/landing/a.json"),
        &format!(
            "{}\n{}\n{}\n",
            reading(1655564376362),
            reading(1655564376363).replace("\"x\":1.0", "\"x\":1.0,\"x\":2.0"),
            // An undeclared field given twice is not looked at, by DuckDB or the validator.
            reading(1655564376364).replace("\"y\":0.5", "\"y\":0.5,\"note\":1,\"note\":2"),
        ),
    );
    let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let given_twice =
        |field: &str| format!("field {field:?} is given more than once (readers differ on which value counts)");
    assert_eq!(rejects_of(&engine, "customer_landing", "c.json"), [(2, given_twice("shareWithResearchAsOfDate"))]);
    assert_eq!(per_file(&engine, "accelerometer_landing"), [("a.json".to_string(), 2, 1)]);
    assert_eq!(rejects_of(&engine, "accelerometer_landing", "a.json"), [(2, given_twice("x"))]);
    let trusted = engine.fetch("SELECT count(*) FROM customer_trusted", 1, 0).unwrap().rows;
    assert_eq!(trusted[0][0].as_deref(), Some("1"), "only Ada consented");
}

/// Whether a record loads, and with what values, never depends on the path that read its file:
/// DuckDB's typed reader (a plain file alone), its text-form reader (the same file gzipped) and the
/// validator (the file beside a bad record, which DuckDB refuses) must all give the same rows and
/// the same rejects. Each record gets a data folder per path, so no batch mixes them.
#[test]
fn a_record_is_judged_the_same_whichever_path_reads_its_file() {
    let records = [
        // What DuckDB's reader takes beyond strict JSON, outside the declared fields.
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":[1,2,]}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":NaN}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":-Infinity}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":1e999}"#.to_string(),
        format!(
            r#"{{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":{}{}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        ),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":1,"q":2}"#.to_string(),
        // Pretty-printed as `json.dumps(indent=0)` does: nested objects start their lines.
        "{\n\"user\": \"Ada.Test@test.com\",\n\"timestamp\": 1655564376362,\n\"x\": 1,\n\"y\": 2,\n\"z\": 3,\n\"q\": [\n{\n\"a\": 1\n}\n]\n}".to_string(),
        // ... and inside them, where no declared type takes it.
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":NaN,"y":2,"z":3}"#.to_string(),
        // A text column takes a number as its text, those no other type takes too.
        r#"{"user":NaN,"timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":-Infinity,"timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":nan,"timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":123456789012345678901234567890,"timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3,"q":inf}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":-INF,"y":2,"z":3}"#.to_string(),
        r#"{"user":1e999,"timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1e999,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362.5,"x":1,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":"1655564376362","x":"0.5","y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":1,"y":2,"z":3} // note"#.to_string(),
        r#"{"user":"Ada.Test@test.com","timestamp":1655564376362,"x":+1,"y":2,"z":3}"#.to_string(),
        r#"{"user":"Ada\u0000Test","timestamp":1655564376362,"x":1,"y":2,"z":3}"#.to_string(),
        "{\"user\":\"Ada\tTest\",\"timestamp\":1655564376362,\"x\":1,\"y\":2,\"z\":3}".to_string(),
    ];
    let bad = reading(1).replace("\"x\":1.0", "\"x\":true");
    // (rows as text, sorted; rejects as (line, reason)) of the accelerometer file in a new folder.
    let outcome = |write_file: &dyn Fn(&Path)| {
        let dir = tempfile::tempdir().unwrap();
        minimal_data(dir.path());
        write_file(&dir.path().join("accelerometer/landing"));
        let mut engine = Engine::open(EngineOptions::new(dir.path(), common::queries_dir())).unwrap();
        engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
        let rows = engine
            .fetch("SELECT \"user\", \"timestamp\", x, y, z FROM accelerometer_landing ORDER BY ALL", 10, 0)
            .unwrap()
            .rows;
        let rejects = rejects_of(&engine, "accelerometer_landing", "a.json")
            .into_iter()
            .chain(rejects_of(&engine, "accelerometer_landing", "a.json.gz"))
            .collect::<Vec<_>>();
        (rows, rejects)
    };
    for record in &records {
        let typed = outcome(&|at| write(&at.join("a.json"), &format!("{record}\n")));
        let text = outcome(&|at| write_gz(&at.join("a.json.gz"), &format!("{record}\n")));
        let (rows, mut rejects) = outcome(&|at| write(&at.join("a.json"), &format!("{record}\n{bad}\n")));
        // The bad record's reject comes last (rejects are in line order).
        assert_eq!(rejects.pop().map(|r| r.1), Some("\"x\" is a boolean (true), not DOUBLE".to_string()));
        let validated = (rows, rejects);
        assert_eq!(typed, validated, "DuckDB's typed reader and the validator differ on {record}");
        assert_eq!(text, validated, "DuckDB's text reader and the validator differ on {record}");
    }
}

/// A landing file whose name is not UTF-8 (a Latin-1 name from an old archive) is read like any
/// other, not a failed run: its records load or are rejected, and it is named with the byte shown.
#[test]
fn a_file_name_that_is_not_utf8_is_read_and_named_with_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    minimal_data(d);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.json");
    let bad = reading(2).replace("\"x\":1.0", "\"x\":true");
    write(&d.join("accelerometer/landing").join(name), &format!("{}\n{bad}\n", reading(1)));
    for _ in 0..2 {
        // Cold, then from the cache.
        let mut engine = Engine::open(EngineOptions::new(d, common::queries_dir())).unwrap();
        engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
        assert_eq!(per_file(&engine, "accelerometer_landing"), [("caf\u{fffd}.json".to_string(), 1, 1)]);
        assert_eq!(
            rejects_of(&engine, "accelerometer_landing", r"caf\xE9.json"),
            [(2, "\"x\" is a boolean (true), not DOUBLE".to_string())]
        );
    }
    let out = assert_cmd::Command::cargo_bin("stedi-tui")
        .unwrap()
        .args(["--check", "--format", "json", "--data"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rejects, not a failed run: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains(r"/caf\\xE9.json"), "JSON escapes the backslash");
}
