//! The validator must pass the test it puts to the pipeline: no output of any kind shows a
//! personal value of the input (rejected records included) unless asked to, a customer is a
//! person whatever the spelling of their address, a device follows its owner's consent, a consent
//! dated in the future or an undated record never counts as consent, and the strict ML table
//! links to nobody. Hand-made data sets, the real binary and a real DuckDB throughout.
mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stedi_tui::engine::{CheckOptions, CheckOutcome, Engine, EngineOptions, Mode, PseudonymKey};
use stedi_tui::tui::{app::App, worker};

const KEY: &str = "privacy-test-key-0123456789";
const SERIAL_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const SERIAL_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const SERIAL_C1: &str = "cccccccc-0000-4000-8000-000000000003";
const SERIAL_C2: &str = "cccccccc-0000-4000-8000-000000000004";
/// 2022-06-18, the real data's era; consent is given at T0 and every reading comes after it.
const T0: i64 = 1_655_564_376_361;

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    cmd.current_dir(common::project_root());
    cmd.env("STEDI_TUI_CACHE", "off").env_remove("STEDI_PSEUDONYM_KEY").env_remove("GITHUB_ACTIONS");
    cmd
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[allow(clippy::too_many_arguments)]
fn customer(
    name: &str,
    email: &str,
    phone: &str,
    birthday: &str,
    serial: &str,
    updated: Option<i64>,
    consent: &str,
) -> String {
    let updated = updated.map_or("null".to_string(), |t| t.to_string());
    format!(
        r#"{{"customerName":"{name}","email":"{email}","phone":"{phone}","birthDay":"{birthday}","serialNumber":"{serial}","registrationDate":{T0},"lastUpdateDate":{updated},"shareWithResearchAsOfDate":{consent},"shareWithPublicAsOfDate":null,"shareWithFriendsAsOfDate":null}}"#
    )
}

fn reading(user: &str, t: i64) -> String {
    format!(r#"{{"user":"{user}","timestamp":{t},"x":1.0,"y":0.5,"z":-1.0}}"#)
}

fn step(serial: &str, t: i64) -> String {
    format!(r#"{{"sensorReadingTime":{t},"serialNumber":"{serial}","distanceFromObject":200}}"#)
}

/// Every personal value written into the bad data set: each must be absent from every output.
const PERSONAL: &[&str] = &[
    "Ann Lee",
    "Ann.Lee@example.org",
    "5550001111",
    "1970-05-06",
    "Carla Diaz",
    "carla.diaz@example.net",
    "5550002222",
    "1961-02-30",
    "Dan Fox",
    "dan.fox@example.com",
    "5550003333",
    "03/04/1971",
    "Eve Gray",
    "eve.gray@example.com",
    "5550004444",
    "Fay Hill",
    "fay.hill@example.com",
    "5550005555",
    "1980-07-08",
    "Gus Ivy",
    "5550006666",
    "1990-09-10",
    "hal.jones@example.com",
    "ivy.king@example.com",
    "Kim Long",
    "kim.long@example.com",
];

/// One good customer with readings, and records that are rejected in every way a record can be.
fn bad_records_data(dir: &Path) {
    let consent = T0.to_string();
    let lines = [
        customer("Ann Lee", "Ann.Lee@example.org", "5550001111", "1970-05-06", SERIAL_A, Some(T0), &consent),
        // A boolean consent and a day that does not exist.
        customer("Carla Diaz", "carla.diaz@example.net", "5550002222", "1961-02-30", SERIAL_B, Some(T0), "true"),
        // A birthday in another format.
        customer("Dan Fox", "dan.fox@example.com", "5550003333", "03/04/1971", SERIAL_B, Some(T0), &consent),
        // Malformed JSON: the record cannot be split into fields.
        r#"{"customerName":"Eve Gray","email":"eve.gray@example.com","phone":"5550004444","birthDay":"#.to_string(),
        // A phone that is an array.
        customer("Fay Hill", "fay.hill@example.com", "5550005555", "1980-07-08", SERIAL_B, Some(T0), &consent)
            .replace(r#""phone":"5550005555""#, r#""phone":["5550005555"]"#),
        // No email at all.
        customer("Gus Ivy", "", "5550006666", "1990-09-10", SERIAL_B, Some(T0), &consent).replace(r#""email":"","#, ""),
        // A name in the consent field, an email in the serial number's place is text and loads:
        // a number as the name, and a birthday that is a number.
        customer("Kim Long", "kim.long@example.com", "5550007777", "1990-09-10", SERIAL_B, Some(T0), r#""Kim Long""#),
    ];
    write(&dir.join("customer/landing/customers.json"), &(lines.join("\n") + "\n"));
    let readings = [
        reading("Ann.Lee@example.org", T0 + 1000),
        // An email where a number belongs, and a reading of someone whose time is no number.
        r#"{"user":"Ann.Lee@example.org","timestamp":1655564377361,"x":"hal.jones@example.com","y":0.5,"z":-1.0}"#
            .to_string(),
        r#"{"user":"ivy.king@example.com","timestamp":"soon","x":1.0,"y":0.5,"z":-1.0}"#.to_string(),
    ];
    write(&dir.join("accelerometer/landing/readings.json"), &(readings.join("\n") + "\n"));
    write(&dir.join("step_trainer/landing/steps.json"), &(step(SERIAL_A, T0 + 1000) + "\n"));
}

fn output_text(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(1)), "exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn leaks(what: &str, text: &str) -> Vec<String> {
    PERSONAL
        .iter()
        .filter(|value| text.to_lowercase().contains(&value.to_lowercase()))
        .map(|value| format!("{what}: {value}"))
        .collect()
}

fn tui_screen(app: &mut App) -> String {
    common::tui_screen(app, 250, 40)
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    app.wait_idle(Duration::from_secs(30));
}

/// Every failed check's rows, as the TUI shows them (masked), one screen per check.
fn tui_failing_rows(data: &Path, mode: Mode) -> String {
    let mut options = EngineOptions::new(data, common::queries_dir());
    options.mode = mode;
    options.pseudonym_key = Some(PseudonymKey::new(KEY).unwrap());
    let mut app = App::new(worker::spawn(options, CheckOptions::default()), "privacy".to_string());
    app.wait_idle(Duration::from_secs(60));
    let mut screens = String::new();
    press(&mut app, KeyCode::Char('c'));
    let failing: Vec<usize> =
        app.checks_sorted().iter().enumerate().filter(|(_, c)| c.failing_rows > 0).map(|(i, _)| i).collect();
    assert!(!failing.is_empty());
    for i in failing {
        press(&mut app, KeyCode::Home);
        for _ in 0..i {
            press(&mut app, KeyCode::Down);
        }
        press(&mut app, KeyCode::Enter);
        // Every column: the wide screen shows them, and stepping right scrolls the rest into view.
        for _ in 0..12 {
            screens.push_str(&tui_screen(&mut app));
            press(&mut app, KeyCode::Right);
        }
        press(&mut app, KeyCode::Esc);
    }
    screens.push_str(&tui_screen(&mut app));
    screens
}

#[test]
fn no_output_shows_a_personal_value_of_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    bad_records_data(&data);
    let d = data.to_str().unwrap();
    let mut found = Vec::new();
    let mut outputs = Vec::new();
    for (mode, key) in [("rubric", None), ("strict", Some(KEY))] {
        for format in ["text", "json", "junit", "html", "markdown"] {
            let report = dir.path().join(format!("report-{mode}.{format}"));
            let mut cmd = stedi();
            cmd.args(["--check", "--quiet", "--mode", mode, "--format", format, "--data", d, "--output"]).arg(&report);
            if let Some(key) = key {
                cmd.env("STEDI_PSEUDONYM_KEY", key);
            }
            let console = output_text(&mut cmd);
            let file = fs::read_to_string(&report).unwrap();
            assert!(file.contains("rejected.customer_landing"), "{file}");
            outputs.push((format!("--check {mode} {format} (console)"), console));
            outputs.push((format!("--check {mode} {format} (--output)"), file));
        }
    }
    let out = dir.path().join("export");
    let console = output_text(stedi().args(["export", "--force", "--quiet", "--data", d, "--out"]).arg(&out));
    outputs.push(("export (console)".to_string(), console));
    for entry in walkdir::WalkDir::new(&out) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() && entry.path().extension().is_none_or(|e| e != "parquet") {
            let text = fs::read_to_string(entry.path()).unwrap();
            outputs.push((format!("export {}", entry.path().display()), text));
        }
    }
    for format in ["text", "json"] {
        let console = output_text(stedi().args(["diff", "--quiet", "--format", format, "--data", d]));
        outputs.push((format!("diff {format}"), console));
    }
    for format in ["text", "json"] {
        let console = output_text(stedi().args(["trace", "Ann.Lee@example.org", "--format", format, "--data", d]));
        assert!(console.contains("customer_landing"), "{console}");
        outputs.push((format!("trace {format}"), console));
        // An email no record has (a rejected record's) is refused, masked too.
        let refused =
            stedi().args(["trace", "kim.long@example.com", "--format", format, "--data", d]).output().unwrap();
        assert_eq!(refused.status.code(), Some(2));
        outputs.push((format!("trace unknown {format}"), String::from_utf8_lossy(&refused.stderr).into_owned()));
    }
    outputs.push(("cache info".to_string(), output_text(stedi().args(["cache", "info", "--data", d]))));
    // forget is given an email and writes the erasure list (which holds it, as the user asked):
    // nothing it prints shows it or anyone else's.
    let copy = dir.path().join("forget");
    common::copy_tree(&data, &copy);
    let console = output_text(stedi().args(["forget", "Ann.Lee@example.org", "--quiet", "--data"]).arg(&copy));
    outputs.push(("forget".to_string(), console));
    outputs.push(("TUI rubric".to_string(), tui_failing_rows(&data, Mode::Rubric)));
    outputs.push(("TUI strict".to_string(), tui_failing_rows(&data, Mode::Strict)));
    for (what, text) in &outputs {
        found.extend(leaks(what, text));
    }
    assert!(found.is_empty(), "personal values in outputs:\n{}", found.join("\n"));
    // The sweep can see a leak: asked to show personal data, the same report shows them.
    let shown = output_text(stedi().args(["--check", "--quiet", "--show-pii", "--format", "json", "--data", d]));
    assert!(leaks("--show-pii", &shown).len() >= 10, "{shown}");
    // The rejects are still there, each with a reason that says what was wrong.
    let text = &outputs.iter().find(|(what, _)| what == "--check rubric text (--output)").unwrap().1;
    assert!(text.contains("rejected.customer_landing") && text.contains("6 failing rows"), "{text}");
    // Every reject's reason (the reports sample 5 a check), read from the rejected tables.
    let (engine, _) = run(&data, Mode::Rubric);
    let reasons: Vec<String> = {
        let sql =
            "SELECT reason FROM customer_landing_rejected UNION ALL SELECT reason FROM accelerometer_landing_rejected";
        let mut stmt = engine.connection().prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(reasons.len(), 8, "{reasons:?}");
    let json = reasons.join("\n").replace('"', "\\\"");
    for reason in [
        r#"\"birthDay\" is a text of 10 characters, not DATE"#,
        r#"\"shareWithResearchAsOfDate\" is a text of 8 characters, not BIGINT"#,
        r#"\"phone\" is an array"#,
        r#"required field \"email\" is missing or null"#,
        "malformed JSON",
        r#"\"x\" is a text of 21 characters, not DOUBLE"#,
        r#"\"timestamp\" is a text of 4 characters, not BIGINT"#,
    ] {
        assert!(json.contains(reason), "{reason} in {json}");
    }
}

fn lookalike_data(dir: &Path) {
    let later = T0 + 86_400_000;
    let lines = [
        // Bob consents as Bob@X.COM, then revokes as " bob@x.com " a day later.
        customer("Bob Stone", "Bob@X.COM", "5551112222", "1970-01-01", SERIAL_B, Some(T0), &T0.to_string()),
        customer("Bob Stone", " bob@x.com ", "5551112222", "1970-01-01", SERIAL_B, Some(later), "null"),
        // Cleo consents with device C1, then revokes in a record that lists her new device C2.
        customer("Cleo Park", "cleo@x.com", "5553334444", "1971-01-01", SERIAL_C1, Some(T0), &T0.to_string()),
        customer("Cleo Park", "cleo@x.com", "5553334444", "1971-01-01", SERIAL_C2, Some(later), "null"),
        // Ann consents, and stays.
        customer("Ann Lee", "ann@x.com", "5550001111", "1970-05-06", SERIAL_A, Some(T0), &T0.to_string()),
    ];
    write(&dir.join("customer/landing/customers.json"), &(lines.join("\n") + "\n"));
    let mut readings = Vec::new();
    let mut steps = Vec::new();
    for k in 1..=3 {
        let t = later + k * 1000;
        readings.extend([reading("Bob@X.COM", t), reading("bob@x.com", t + 1), reading("cleo@x.com", t + 2)]);
        readings.push(reading("ann@x.com", t + 3));
        steps.extend([step(SERIAL_B, t), step(SERIAL_C1, t + 2), step(SERIAL_A, t + 3)]);
    }
    write(&dir.join("accelerometer/landing/readings.json"), &(readings.join("\n") + "\n"));
    write(&dir.join("step_trainer/landing/steps.json"), &(steps.join("\n") + "\n"));
}

fn run(data: &Path, mode: Mode) -> (Engine, Vec<CheckOutcome>) {
    let mut options = EngineOptions::new(data, common::queries_dir());
    options.mode = mode;
    options.pseudonym_key = Some(PseudonymKey::new(KEY).unwrap());
    let mut engine = Engine::open(options).unwrap();
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    (engine, outcomes)
}

fn count(engine: &Engine, sql: &str) -> i64 {
    engine.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn failing(outcomes: &[CheckOutcome], id: &str) -> u64 {
    outcomes.iter().find(|o| o.id == id).unwrap_or_else(|| panic!("no check {id}")).failing_rows
}

#[test]
fn a_revocation_under_another_spelling_or_with_a_new_device_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    lookalike_data(dir.path());
    // Strict: only Ann is anywhere past landing, and every check passes.
    let (engine, outcomes) = run(dir.path(), Mode::Strict);
    for table in ["customer_trusted", "customer_curated"] {
        assert_eq!(count(&engine, &format!("SELECT count(*) FROM {table} WHERE email <> 'ann@x.com'")), 0, "{table}");
    }
    assert_eq!(count(&engine, "SELECT count(*) FROM accelerometer_trusted WHERE \"user\" <> 'ann@x.com'"), 0);
    assert_eq!(
        count(&engine, &format!("SELECT count(*) FROM step_trainer_trusted WHERE serialNumber <> '{SERIAL_A}'")),
        0
    );
    assert_eq!(count(&engine, "SELECT count(*) FROM machine_learning_curated"), 3);
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed() && o.id != "duplicate_key.customer_landing")
        .map(|o| o.id.as_str())
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    // duplicate_key reports Bob's two spellings as one customer with two records.
    let rows =
        engine.check_rows(outcomes.iter().find(|o| o.id == "duplicate_key.customer_landing").unwrap(), 10, 0).unwrap();
    let spellings = rows.columns.iter().position(|c| c == "spellings").unwrap();
    let email = rows.columns.iter().position(|c| c == "email").unwrap();
    let bob: Vec<&Vec<Option<String>>> =
        rows.rows.iter().filter(|r| r[email].as_deref() == Some("bob@x.com")).collect();
    assert_eq!(bob.len(), 1, "{:?}", rows.rows);
    assert_eq!(bob[0][spellings].as_deref(), Some("2"));
    drop(engine);
    // Rubric keeps the original's byte-for-byte joins, and the checks fail on exactly what they let through.
    let (engine, outcomes) = run(dir.path(), Mode::Rubric);
    assert_eq!(count(&engine, "SELECT count(*) FROM customer_trusted"), 3, "Bob@X.COM, Cleo's first record, Ann");
    assert_eq!(failing(&outcomes, "consent_leak.customer_trusted"), 2);
    assert_eq!(failing(&outcomes, "consent_leak.customer_curated"), 2);
    // Bob@X.COM's 3 readings and Cleo's 3 (bob@x.com's match no trusted record byte for byte).
    assert_eq!(count(&engine, "SELECT count(*) FROM accelerometer_trusted"), 9);
    assert_eq!(failing(&outcomes, "consent_leak.accelerometer_trusted"), 6);
    // Cleo's old device C1 and Bob's device: their owners revoked, whatever record lists them.
    assert_eq!(
        count(&engine, &format!("SELECT count(*) FROM step_trainer_trusted WHERE serialNumber <> '{SERIAL_A}'")),
        6
    );
    assert_eq!(failing(&outcomes, "consent_leak.step_trainer_trusted"), 6);
    assert!(failing(&outcomes, "consent_leak.machine_learning_curated") > 0);
}

#[test]
fn a_consent_dated_in_the_future_or_undated_records_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let year_2999 = 32_503_680_000_000_i64;
    let lines = [
        // Dee's consent is dated in the year 2999: not consent yet.
        customer("Dee Moss", "dee@x.com", "5550000001", "1970-01-01", SERIAL_A, Some(T0), &year_2999.to_string()),
        // Eli consents in a dated record; an undated record without consent may be newer: no consent.
        customer("Eli Ng", "eli@x.com", "5550000002", "1970-01-01", SERIAL_B, Some(T0), &T0.to_string()),
        customer("Eli Ng", "eli@x.com", "5550000002", "1970-01-01", SERIAL_B, None, "null"),
        // Flo's dated record has no consent; an undated one with consent never wins over it.
        customer("Flo Oak", "flo@x.com", "5550000003", "1970-01-01", SERIAL_C1, Some(T0), "null"),
        customer("Flo Oak", "flo@x.com", "5550000003", "1970-01-01", SERIAL_C1, None, &T0.to_string()),
        // Gil consents in an undated record only: that is his only word, and it counts.
        customer("Gil Pym", "gil@x.com", "5550000004", "1970-01-01", SERIAL_C2, None, &T0.to_string()),
    ];
    write(&dir.path().join("customer/landing/customers.json"), &(lines.join("\n") + "\n"));
    let mut readings = Vec::new();
    let mut steps = Vec::new();
    for (email, serial) in
        [("dee@x.com", SERIAL_A), ("eli@x.com", SERIAL_B), ("flo@x.com", SERIAL_C1), ("gil@x.com", SERIAL_C2)]
    {
        readings.push(reading(email, T0 + 5000));
        steps.push(step(serial, T0 + 5000));
    }
    write(&dir.path().join("accelerometer/landing/readings.json"), &(readings.join("\n") + "\n"));
    write(&dir.path().join("step_trainer/landing/steps.json"), &(steps.join("\n") + "\n"));
    let (engine, outcomes) = run(dir.path(), Mode::Strict);
    let consenting: Vec<String> = {
        let mut stmt = engine
            .connection()
            .prepare("SELECT customer_id FROM consent_by_email WHERE consenting ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(consenting, ["gil@x.com"]);
    assert_eq!(count(&engine, "SELECT count(*) FROM customer_trusted"), 1);
    assert_eq!(count(&engine, "SELECT count(*) FROM accelerometer_trusted WHERE \"user\" <> 'gil@x.com'"), 0);
    // Eli's and Flo's two records each; Dee's consent is one not yet given.
    assert_eq!(
        common::failing(&outcomes),
        [("duplicate_key.customer_landing".to_string(), 4), ("invalid_consent.customer_landing".to_string(), 1)].into()
    );
    drop(engine);
    // The rubric trusts any record with a consent date: the checks name each customer it should not have.
    let (_, outcomes) = run(dir.path(), Mode::Rubric);
    assert_eq!(failing(&outcomes, "consent_leak.customer_trusted"), 3, "Dee, Eli, Flo's undated record");
}

/// Every way to join the strict export's machine_learning_curated to its other tables, on every
/// pair of columns: no identifier of the ML table matches anything, and no column links an ML row
/// to a customer record. What stays linkable is what README says: the readings themselves (time,
/// x, y, z, distance) are copies of the trusted sensor tables' readings.
#[test]
fn the_strict_ml_table_links_to_nobody_through_any_join() {
    let (dir, _) = common::generated(60, 11, stedi_tui::engine::Injections::default());
    let out = dir.path().join("export");
    let out_str = out.to_str().unwrap();
    let status = stedi()
        .args(["export", "--quiet", "--mode", "strict", "--data", dir.path().to_str().unwrap(), "--out", out_str])
        .env("STEDI_PSEUDONYM_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", String::from_utf8_lossy(&status.stderr));
    // An independent reader: a fresh DuckDB over the Parquet files, nothing of the engine's.
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let mut tables = Vec::new();
    for entry in fs::read_dir(&out).unwrap() {
        let zone_dir = entry.unwrap().path();
        if !zone_dir.is_dir() {
            continue;
        }
        for zone in fs::read_dir(&zone_dir).unwrap() {
            let folder = zone.unwrap().path();
            let name = format!(
                "{}_{}",
                zone_dir.file_name().unwrap().to_str().unwrap(),
                folder.file_name().unwrap().to_str().unwrap()
            );
            let glob = format!("{}/**/*.parquet", folder.display());
            conn.execute_batch(&format!("CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{glob}')")).unwrap();
            tables.push(name);
        }
    }
    tables.sort();
    let ml = "step_trainer_curated";
    assert!(tables.iter().any(|t| t == ml), "{tables:?}");
    let columns = |table: &str| -> Vec<String> {
        let mut stmt = conn.prepare(&format!("SELECT column_name FROM (DESCRIBE \"{table}\")")).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let ml_columns = columns(ml);
    let readings = ["sensorReadingTime", "distanceFromObject", "timestamp", "x", "y", "z"];
    let pseudonyms = ["customer_pseudonym", "device_pseudonym"];
    assert!(
        ml_columns.iter().all(|c| readings.contains(&c.as_str()) || pseudonyms.contains(&c.as_str())),
        "{ml_columns:?}"
    );
    let ml_rows = count_conn(&conn, &format!("SELECT count(*) FROM \"{ml}\""));
    assert!(ml_rows > 100, "{ml_rows}");
    let mut links = Vec::new();
    let mut reading_links = 0;
    for table in tables.iter().filter(|t| *t != ml) {
        let personal = columns(table).iter().any(|c| stedi_tui::engine::is_personal_column(c));
        for theirs in columns(table) {
            for ours in &ml_columns {
                let linked = count_conn(
                    &conn,
                    &format!(
                        "SELECT count(DISTINCT m.r) FROM (SELECT row_number() OVER () AS r, CAST(\"{ours}\" AS VARCHAR) AS v FROM \"{ml}\") AS m \
                         JOIN (SELECT DISTINCT CAST(\"{theirs}\" AS VARCHAR) AS v FROM \"{table}\") AS t ON m.v = t.v"
                    ),
                );
                if linked == 0 {
                    continue;
                }
                let sensor_table = table.starts_with("accelerometer_") || table.starts_with("step_trainer_");
                if readings.contains(&ours.as_str()) && sensor_table {
                    reading_links += linked;
                } else {
                    links.push(format!("{ml}.{ours} = {table}.{theirs}: {linked} rows (personal table: {personal})"));
                }
            }
        }
    }
    assert!(links.is_empty(), "ML rows joined to other tables:\n{}", links.join("\n"));
    // README's caveat, proved: the readings are the trusted zone's, so that zone can match them.
    assert!(reading_links > 0);
}

fn count_conn(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn weak_pseudonym_keys_are_refused_without_being_echoed() {
    for key in [" ".repeat(16), "x".repeat(24), "ab".repeat(12)] {
        let out = stedi()
            .args(["--check", "--mode", "strict", "--data", "sample_data"])
            .env("STEDI_PSEUDONYM_KEY", &key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("pseudonym key") && !stderr.contains(&key), "{stderr}");
    }
}
