//! Property test: on random small data sets (random consent, revocations, invalid consent values,
//! orphans, duplicates, emails differing only in case, malformed lines, invalid UTF-8 bytes; every
//! file newline-delimited with any line end, pretty-printed or one JSON array, plain or gzipped
//! under either name), an independent oracle in
//! Rust decides who consents (latest record wins, ties and invalid values fail closed) and counts
//! every trusted or curated row that belongs to someone who does not. The consent_leak checks must
//! report exactly that count — a leak can exist (the rubric pipeline honours an older record) but is
//! never silent — an export must be refused while one exists, and loaded + rejected must equal the
//! records written.
mod common;

use std::collections::BTreeMap;
use std::fs;

use proptest::prelude::*;
use stedi_tui::engine::Mode;
use stedi_tui::engine::PseudonymKey;
use stedi_tui::engine::{export, ExportOptions};
use stedi_tui::engine::{CheckOptions, Engine, EngineOptions};

const EMAILS: [&str; 4] = ["Ann.Lee@test.com", "ann.lee@test.com", "Bo.Wu@test.com", "Cy.Ode@test.com"];
const SERIALS: [&str; 3] = ["s-1", "s-2", "s-3"];

#[derive(Debug, Clone)]
struct Customer {
    email: usize,
    serial: usize,
    /// None: no consent; Some(v): the JSON text of shareWithResearchAsOfDate.
    consent: Option<&'static str>,
    last_update: i64,
}

#[derive(Debug, Clone)]
struct DataSet {
    customers: Vec<Customer>,
    /// (email index, or 4 for an unknown user; timestamp)
    readings: Vec<(usize, i64)>,
    /// (serial index, or 3 for an unknown device; time)
    steps: Vec<(usize, i64)>,
    garbage_lines: usize,
    /// Readings with an invalid UTF-8 byte in their user.
    bad_bytes: usize,
    /// How every landing file is written, and whether gzipped (true: named `.json.gz`, false:
    /// named `.json` all the same).
    shape: Shape,
    gzip: Option<bool>,
}

/// The shapes of file the loader accepts (README, "Landing data").
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One record a line, each line ended by this.
    Lines(&'static str),
    /// Records pretty-printed one after another, as `jq .` writes them.
    Pretty,
    /// One JSON array, an element a line.
    Array,
}

/// A landing file of these records (each a JSON text, or not: garbage is written as it is).
fn file_bytes(records: &[Vec<u8>], shape: Shape, gzip: Option<bool>) -> Vec<u8> {
    let pretty = |r: &Vec<u8>| match serde_json::from_slice::<serde_json::Value>(r) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap().into_bytes(),
        Err(_) => r.clone(),
    };
    let text = match shape {
        Shape::Lines(end) => records.iter().flat_map(|r| [r.clone(), end.as_bytes().to_vec()]).flatten().collect(),
        Shape::Pretty => records.iter().map(pretty).collect::<Vec<_>>().join(&b"\n"[..]),
        Shape::Array => [b"[\n".to_vec(), records.join(&b",\n"[..]), b"\n]\n".to_vec()].concat(),
    };
    match gzip {
        None => text,
        Some(_) => {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&text).unwrap();
            gz.finish().unwrap()
        }
    }
}

fn consent_value() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("1000")),
        Just(Some("2000")),
        Just(Some("-5")),
        Just(Some("0")),
        Just(Some("true")),
        Just(Some("\"yes\"")),
    ]
}

fn data_set() -> impl Strategy<Value = DataSet> {
    let customer = (0..4usize, 0..3usize, consent_value(), 1..4i64)
        .prop_map(|(email, serial, consent, last_update)| Customer { email, serial, consent, last_update });
    (
        prop::collection::vec(customer, 1..7),
        prop::collection::vec((0..5usize, prop_oneof![Just(500i64), Just(1500), Just(2500)]), 0..12),
        prop::collection::vec((0..4usize, prop_oneof![Just(500i64), Just(1500), Just(2500)]), 0..8),
        0..3usize,
        (
            0..2usize,
            prop_oneof![
                Just(Shape::Lines("\n")),
                Just(Shape::Lines("\r\n")),
                Just(Shape::Lines("\r")),
                Just(Shape::Pretty),
                Just(Shape::Array)
            ],
            prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
        ),
    )
        .prop_map(|(customers, readings, steps, garbage_lines, (bad_bytes, shape, gzip))| DataSet {
            customers,
            readings,
            steps,
            garbage_lines,
            bad_bytes,
            shape,
            gzip,
        })
}

fn email(i: usize) -> &'static str {
    EMAILS.get(i).copied().unwrap_or("Nobody.Known@test.com")
}

fn serial(i: usize) -> &'static str {
    SERIALS.get(i).copied().unwrap_or("s-unknown")
}

/// The oracle: consent by the latest record of an email (or serial); ties and anything but a
/// positive whole number count as no consent; a record whose consent is not a number is rejected
/// at load, so it is not a record at all.
fn consenting(ds: &DataSet, key: impl Fn(&Customer) -> bool) -> bool {
    let valid = |c: &&Customer| matches!(c.consent, None | Some("1000" | "2000" | "-5" | "0"));
    let records: Vec<&Customer> = ds.customers.iter().filter(valid).filter(|c| key(c)).collect();
    let Some(latest) = records.iter().map(|c| c.last_update).max() else { return false };
    let newest: Vec<&&Customer> = records.iter().filter(|c| c.last_update == latest).collect();
    newest.iter().all(|c| matches!(c.consent, Some("1000" | "2000")))
}

fn write(ds: &DataSet, dir: &std::path::Path) -> (u64, u64, u64) {
    let mut customers = Vec::new();
    for c in &ds.customers {
        customers.push(format!(
            "{{\"customerName\": \"X Y\", \"email\": \"{}\", \"phone\": \"1\", \"birthDay\": \"1990-01-01\", \"serialNumber\": \"{}\", \"registrationDate\": 1, \"lastUpdateDate\": {}, \"shareWithResearchAsOfDate\": {}, \"shareWithPublicAsOfDate\": null, \"shareWithFriendsAsOfDate\": null}}",
            email(c.email), serial(c.serial), c.last_update, c.consent.unwrap_or("null")
        ).into_bytes());
    }
    let mut readings = Vec::new();
    for (i, (user, t)) in ds.readings.iter().enumerate() {
        readings.push(
            format!("{{\"user\":\"{}\",\"timestamp\":{t},\"x\":{i},\"y\":0,\"z\":0}}", email(*user)).into_bytes(),
        );
    }
    for _ in 0..ds.garbage_lines {
        readings.push(b"{\"user\": \"Ann.Lee@test.com\", \"timestamp\": ".to_vec());
    }
    for _ in 0..ds.bad_bytes {
        readings.push(b"{\"user\":\"Ann.Lee\xff@test.com\",\"timestamp\":1500,\"x\":0,\"y\":0,\"z\":0}".to_vec());
    }
    let mut steps = Vec::new();
    for (s, t) in &ds.steps {
        steps.push(
            format!("{{\"sensorReadingTime\":{t},\"serialNumber\":\"{}\",\"distanceFromObject\":1}}", serial(*s))
                .into_bytes(),
        );
    }
    let name = if ds.gzip == Some(true) { "part-0.json.gz" } else { "part-0.json" };
    for (dataset, records) in [("customer", customers), ("accelerometer", readings), ("step_trainer", steps)] {
        let folder = dir.join(dataset).join("landing");
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join(name), file_bytes(&records, ds.shape, ds.gzip)).unwrap();
    }
    (ds.customers.len() as u64, (ds.readings.len() + ds.garbage_lines + ds.bad_bytes) as u64, ds.steps.len() as u64)
}

/// Rows of `only` (all five zone tables when empty) that belong to someone who does not consent.
fn leaking_rows(engine: &Engine, ds: &DataSet, only: &[&str]) -> BTreeMap<String, u64> {
    // A customer is their email trimmed and case-folded; a device follows the consent of its owner,
    // the customer of the latest record listing it (on a tie the record without consent, then the
    // smallest customer).
    let identity = |e: &str| e.trim().to_lowercase();
    let by_email = |e: &str| consenting(ds, |c| identity(email(c.email)) == identity(e));
    let by_serial = |s: &str| {
        let valid = |c: &&Customer| matches!(c.consent, None | Some("1000" | "2000" | "-5" | "0"));
        let listing: Vec<&Customer> = ds.customers.iter().filter(valid).filter(|c| serial(c.serial) == s).collect();
        let owner = listing.iter().min_by_key(|c| {
            let consents = matches!(c.consent, Some("1000" | "2000"));
            (std::cmp::Reverse(c.last_update), consents, identity(email(c.email)))
        });
        owner.is_some_and(|c| by_email(email(c.email)))
    };
    let column = |table: &str, cols: &str| -> Vec<Vec<String>> {
        let rows = engine.fetch(&format!("SELECT {cols} FROM {table}"), 100_000, 0).unwrap().rows;
        rows.into_iter().map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect()).collect()
    };
    let count =
        |rows: Vec<Vec<String>>, leaks: &dyn Fn(&[String]) -> bool| rows.iter().filter(|r| leaks(r)).count() as u64;
    type Leak<'a> = Box<dyn Fn(&[String]) -> bool + 'a>;
    let tables: [(&str, &str, Leak); 5] = [
        ("customer_trusted", "email", Box::new(|r| !by_email(&r[0]))),
        ("customer_curated", "email", Box::new(|r| !by_email(&r[0]))),
        ("accelerometer_trusted", "\"user\"", Box::new(|r| !by_email(&r[0]))),
        ("step_trainer_trusted", "serialNumber", Box::new(|r| !by_serial(&r[0]))),
        ("machine_learning_curated", "serialNumber, \"user\"", Box::new(|r| !by_serial(&r[0]) || !by_email(&r[1]))),
    ];
    tables
        .iter()
        .filter(|(table, _, _)| only.is_empty() || only.contains(table))
        .map(|(table, cols, leaks)| (table.to_string(), count(column(table, cols), leaks.as_ref())))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn leaks_are_never_silent_and_records_always_balance(ds in data_set()) {
        let dir = tempfile::tempdir().unwrap();
        let (customers, readings, steps) = write(&ds, dir.path());
        let mut engine = Engine::open(EngineOptions::new(dir.path(), common::queries_dir())).unwrap();
        let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
        for (table, written) in [("customer_landing", customers), ("accelerometer_landing", readings), ("step_trainer_landing", steps)] {
            let t = engine.table(table).unwrap();
            prop_assert_eq!(t.rows + t.rejected, written, "{} balances", table);
        }
        let leaks = leaking_rows(&engine, &ds, &[]);
        for (table, expected) in &leaks {
            let check = outcomes.iter().find(|o| o.id == format!("consent_leak.{table}")).unwrap();
            prop_assert_eq!(check.failing_rows, *expected, "consent_leak.{} for {:?}", table, ds);
        }
        let out = dir.path().join("export");
        let exported = export(&engine, &outcomes, &ExportOptions::new(&out));
        if leaks.values().any(|n| *n > 0) {
            prop_assert!(exported.is_err(), "an export with a leak must be refused");
            prop_assert!(!out.exists());
        } else if outcomes.iter().all(|o| !o.is_error()) {
            prop_assert!(exported.is_ok());
        }

        // Strict mode: the same data, and no row of a non-consenting customer anywhere, ever.
        let mut options = EngineOptions::new(dir.path(), common::queries_dir());
        options.mode = Mode::Strict;
        options.pseudonym_key = Some(PseudonymKey::new("property-test-key-0123456789").unwrap());
        let mut strict = Engine::open(options).unwrap();
        let outcomes = strict.run_all(&CheckOptions { strict: true, ..Default::default() }, &mut |_| {}).unwrap();
        for table in ["customer_trusted", "customer_curated", "accelerometer_trusted", "step_trainer_trusted"] {
            prop_assert_eq!(leaking_rows(&strict, &ds, &[table])[table], 0, "strict {} for {:?}", table, ds);
        }
        for table in ["customer_trusted", "customer_curated", "accelerometer_trusted", "step_trainer_trusted", "machine_learning_curated"] {
            let check = outcomes.iter().find(|o| o.id == format!("consent_leak.{table}")).unwrap();
            prop_assert_eq!(check.failing_rows, 0, "strict consent_leak.{} for {:?}", table, ds);
        }
    }
}
