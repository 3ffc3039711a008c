//! `stedi-tui trace`: every count of a customer's trace equals the truth, computed here in Rust
//! from the generated JSON files (not with the SQL), for every customer of a data set with each
//! kind of customer: consenting, not consenting, revoked, with readings before consent, whose
//! device was paired with someone else's phone, and one whose device another customer took over.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value;
use stedi_tui::engine::Injections;
use stedi_tui::engine::{Engine, EngineOptions};
use stedi_tui::engine::{RowCounts, Trace};

fn lines(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            for line in fs::read_to_string(entry.path()).unwrap().lines().filter(|l| !l.trim().is_empty()) {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    out
}

#[derive(Clone, PartialEq)]
struct Rec {
    raw: Value,
    id: String,
    email: String,
    serial: String,
    last: Option<i64>,
    share: Option<i64>,
}

impl Rec {
    fn consent(&self) -> Option<i64> {
        self.share.filter(|&t| t > 0 && t <= now_ms())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A reading: (user or serial number, time, the record).
type Reading = (String, i64, Value);

struct Data {
    records: Vec<Rec>,
    accel: Vec<Reading>,
    steps: Vec<Reading>,
}

fn id(s: &str) -> String {
    s.trim().to_lowercase()
}

fn read(data: &Path) -> Data {
    let records = lines(&data.join("customer/landing"))
        .into_iter()
        .map(|v| Rec {
            id: id(v["email"].as_str().unwrap()),
            email: v["email"].as_str().unwrap().to_string(),
            serial: v["serialNumber"].as_str().unwrap().to_string(),
            last: v["lastUpdateDate"].as_i64(),
            share: v["shareWithResearchAsOfDate"].as_i64(),
            raw: v,
        })
        .collect();
    let accel = lines(&data.join("accelerometer/landing"))
        .into_iter()
        .map(|v| (v["user"].as_str().unwrap().to_string(), v["timestamp"].as_i64().unwrap(), v))
        .collect();
    let steps = lines(&data.join("step_trainer/landing"))
        .into_iter()
        .map(|v| (v["serialNumber"].as_str().unwrap().to_string(), v["sensorReadingTime"].as_i64().unwrap(), v))
        .collect();
    Data { records, accel, steps }
}

/// The record that decides a customer's consent: an undated record without consent first, then
/// the latest, a record without consent before one with, the later consent, the smaller serial.
fn decisive<'a>(records: &[&'a Rec]) -> &'a Rec {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| {
        let undated = |r: &Rec| if r.last.is_none() && r.consent().is_none() { 0 } else { 1 };
        undated(a)
            .cmp(&undated(b))
            .then(b.last.unwrap_or(i64::MIN).cmp(&a.last.unwrap_or(i64::MIN)))
            .then(a.consent().is_some().cmp(&b.consent().is_some()))
            .then(b.consent().unwrap_or(i64::MIN).cmp(&a.consent().unwrap_or(i64::MIN)))
            .then(a.serial.cmp(&b.serial))
    });
    sorted[0]
}

fn distinct<T: Clone + PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Counts of rows that name the customer (`by_customer`) or one of their devices (`by_device`).
fn counts<T>(rows: &[T], customer: impl Fn(&T) -> bool, device: impl Fn(&T) -> bool) -> RowCounts {
    RowCounts {
        by_customer: rows.iter().filter(|r| customer(r)).count() as u64,
        by_device: rows.iter().filter(|r| device(r)).count() as u64,
        total: rows.iter().filter(|r| customer(r) || device(r)).count() as u64,
    }
}

struct Truth {
    tables: BTreeMap<(String, &'static str), RowCounts>,
    consent_at: Option<i64>,
    records: usize,
    before_after: BTreeMap<&'static str, (u64, u64, u64)>,
    rubric_cross: u64,
}

fn truth(d: &Data, who: &str) -> Truth {
    let mine: Vec<&Rec> = d.records.iter().filter(|r| r.id == who).collect();
    let devices: BTreeSet<&str> = mine.iter().map(|r| r.serial.as_str()).collect();
    let consent_at = decisive(&mine).consent();
    let is_me = |s: &str| id(s) == who;
    let mut tables = BTreeMap::new();
    let mut put = |table: &str, mode: &'static str, c: RowCounts| {
        tables.insert((table.to_string(), mode), c);
    };
    let rec_counts = |recs: &[&Rec]| counts(recs, |r| r.id == who, |r| devices.contains(r.serial.as_str()));
    let all: Vec<&Rec> = d.records.iter().collect();
    let accel_counts = |rows: &[&Reading]| counts(rows, |a| is_me(&a.0), |_| false);
    let step_counts = |rows: &[&Reading]| counts(rows, |_| false, |s| devices.contains(s.0.as_str()));
    let accel: Vec<_> = d.accel.iter().collect();
    let steps: Vec<_> = d.steps.iter().collect();
    for mode in ["rubric", "strict"] {
        put("customer_landing", mode, rec_counts(&all));
        put("accelerometer_landing", mode, accel_counts(&accel));
        put("step_trainer_landing", mode, step_counts(&steps));
    }
    // Rubric: any record with consent set; byte-for-byte emails; serials of curated records.
    let ct: Vec<&Rec> = all.iter().copied().filter(|r| r.share.is_some()).collect();
    let at: Vec<_> = accel.iter().copied().filter(|a| ct.iter().any(|c| c.email == a.0)).collect();
    let cc: Vec<&Rec> = distinct(ct.iter().copied().filter(|c| at.iter().any(|a| a.0 == c.email)).collect());
    let cc = distinct(cc.into_iter().map(|r| r.raw.clone()).collect::<Vec<_>>());
    let cc: Vec<&Rec> = cc.iter().map(|raw| all.iter().copied().find(|r| &r.raw == raw).unwrap()).collect();
    let st: Vec<_> = steps.iter().copied().filter(|s| cc.iter().any(|c| c.serial == s.0)).collect();
    let ml: Vec<(&Reading, &Reading)> =
        st.iter().flat_map(|s| at.iter().filter(move |a| a.1 == s.1).map(move |a| (*s, *a))).collect();
    put("customer_trusted", "rubric", rec_counts(&ct));
    put("accelerometer_trusted", "rubric", accel_counts(&at));
    put("customer_curated", "rubric", rec_counts(&cc));
    put("step_trainer_trusted", "rubric", step_counts(&st));
    put("machine_learning_curated", "rubric", counts(&ml, |p| is_me(&p.1 .0), |p| devices.contains(p.0 .0.as_str())));
    let rubric_cross = ml.iter().filter(|p| devices.contains(p.0 .0.as_str()) && !is_me(&p.1 .0)).count() as u64;
    // Strict: each customer's latest record decides; readings at or after consent, once each; a
    // device follows its owner (the customer of the latest record listing it).
    let ids: BTreeSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
    let latest: BTreeMap<&str, &Rec> =
        ids.iter().map(|i| (*i, decisive(&all.iter().copied().filter(|r| r.id == *i).collect::<Vec<_>>()))).collect();
    let sct: Vec<&Rec> = latest.values().copied().filter(|r| r.consent().is_some()).collect();
    let consent_of = |cid: &str| latest.get(cid).and_then(|r| r.consent());
    let sat: Vec<_> = distinct(
        accel
            .iter()
            .copied()
            .filter(|a| consent_of(&id(&a.0)).is_some_and(|c| a.1 >= c) && sct.iter().any(|r| r.id == id(&a.0)))
            .collect(),
    );
    let scc: Vec<&Rec> = sct.iter().copied().filter(|r| sat.iter().any(|a| id(&a.0) == r.id)).collect();
    let owner = |serial: &str| -> Option<&str> {
        let listing: Vec<&Rec> = all.iter().copied().filter(|r| r.serial == serial).collect();
        (!listing.is_empty()).then(|| decisive(&listing).id.as_str())
    };
    let sst: Vec<_> = distinct(
        steps
            .iter()
            .copied()
            .filter(|s| {
                owner(&s.0).is_some_and(|o| consent_of(o).is_some_and(|c| s.1 >= c) && scc.iter().any(|r| r.id == o))
            })
            .collect(),
    );
    put("customer_trusted", "strict", rec_counts(&sct));
    put("accelerometer_trusted", "strict", accel_counts(&sat));
    put("customer_curated", "strict", rec_counts(&scc));
    put("step_trainer_trusted", "strict", step_counts(&sst));
    let split = |times: Vec<i64>| match consent_at {
        Some(c) => {
            (times.iter().filter(|&&t| t < c).count() as u64, times.iter().filter(|&&t| t >= c).count() as u64, 0)
        }
        None => (0, 0, times.len() as u64),
    };
    let mut before_after = BTreeMap::new();
    before_after.insert("accelerometer_landing", split(accel.iter().filter(|a| is_me(&a.0)).map(|a| a.1).collect()));
    before_after
        .insert("rubric.accelerometer_trusted", split(at.iter().filter(|a| is_me(&a.0)).map(|a| a.1).collect()));
    before_after
        .insert("strict.accelerometer_trusted", split(sat.iter().filter(|a| is_me(&a.0)).map(|a| a.1).collect()));
    let my_steps = |rows: &[&Reading]| rows.iter().filter(|s| devices.contains(s.0.as_str())).map(|s| s.1).collect();
    before_after.insert("step_trainer_landing", split(my_steps(&steps)));
    before_after.insert("rubric.step_trainer_trusted", split(my_steps(&st)));
    before_after.insert("strict.step_trainer_trusted", split(my_steps(&sst)));
    Truth { tables, consent_at, records: mine.len(), before_after, rubric_cross }
}

fn check(trace: &Trace, t: &Truth, who: &str) {
    assert_eq!(trace.records.len(), t.records, "{who}: records");
    assert_eq!(trace.consent_at, t.consent_at, "{who}: consent");
    assert_eq!(trace.records.iter().filter(|r| r.decides).count(), 1, "{who}: one record decides");
    let times: Vec<Option<i64>> = trace.records.iter().map(|r| r.last_update_date).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{who}: time order {times:?}");
    for table in &trace.tables {
        for (mode, got) in [("rubric", table.rubric), ("strict", table.strict)] {
            if let Some(want) = t.tables.get(&(table.table.clone(), mode)) {
                assert_eq!(got, *want, "{who}: {mode} {}", table.table);
            }
        }
    }
    for r in &trace.readings {
        let want = t.before_after[r.table.as_str()];
        assert_eq!((r.before_consent, r.after_consent, r.without_consent), want, "{who}: readings in {}", r.table);
    }
    for (name, want) in &t.before_after {
        if want != &(0, 0, 0) {
            assert!(trace.readings.iter().any(|r| r.table == *name), "{who}: {name} missing");
        }
    }
    assert_eq!(trace.rubric_pairs.device_with_other_phone, t.rubric_cross, "{who}: cross pairs");
    assert_eq!(trace.strict_pairs.device_with_other_phone, 0, "{who}: strict pairs by owner");
    // What a stage dropped of them is their rows of its input less their rows of its output.
    let total = |name: &str, rubric: bool| {
        let t = trace.tables.iter().find(|t| t.table == name).unwrap();
        if rubric {
            t.rubric.total
        } else {
            t.strict.total
        }
    };
    for s in &trace.stages {
        for (d, rubric) in [(&s.rubric, true), (&s.strict, false)] {
            if let Some(d) = d {
                assert_eq!(d.kept, total(&s.stage, rubric), "{who}: {} kept", s.stage);
                assert_eq!(d.input_rows, total(&d.input, rubric), "{who}: {} input", s.stage);
                assert_eq!(d.dropped, d.input_rows - d.kept, "{who}: {} dropped", s.stage);
            }
        }
    }
}

#[test]
fn every_count_of_a_trace_equals_the_truth_from_the_json() {
    let inject = Injections { orphans: 2, pre_consent: 3, cross_customer: 3, revoked: 3, duplicates: 2 };
    let (dir, _) = common::generated(40, 19, inject);
    let data = read(dir.path());
    // A device passed on: a new customer's later record lists a consenting customer's serial.
    let giver = data.records.iter().find(|r| r.consent().is_some()).unwrap().clone();
    let taker = format!(
        r#"{{"customerName":"Zed Taker","email":"Zed.Taker@test.com","phone":"8015550000","birthDay":"1980-01-01","serialNumber":"{}","registrationDate":{},"lastUpdateDate":{},"shareWithResearchAsOfDate":null,"shareWithPublicAsOfDate":null,"shareWithFriendsAsOfDate":null}}"#,
        giver.serial,
        giver.last.unwrap() + 1,
        giver.last.unwrap() + 1
    );
    fs::write(dir.path().join("customer/landing/customer-taker.json"), taker + "\n").unwrap();
    let data = read(dir.path());
    let engine = Engine::run_both_modes(EngineOptions::new(dir.path(), common::queries_dir())).unwrap();
    let ids: BTreeSet<String> = data.records.iter().map(|r| r.id.clone()).collect();
    let mut kinds = BTreeSet::new();
    for who in &ids {
        // Any spelling of the address finds the customer.
        let spelled = format!("  {}  ", who.to_uppercase());
        let trace = engine.trace(&spelled).unwrap().unwrap_or_else(|| panic!("{who} traced"));
        let t = truth(&data, who);
        check(&trace, &t, who);
        let mine: Vec<&Rec> = data.records.iter().filter(|r| &r.id == who).collect();
        if t.consent_at.is_some() {
            kinds.insert("consenting");
        } else if mine.iter().any(|r| r.consent().is_some()) {
            kinds.insert("revoked");
        } else {
            kinds.insert("not consenting");
        }
        if t.before_after["accelerometer_landing"].0 > 0 {
            kinds.insert("readings before consent");
        }
        if t.rubric_cross > 0 {
            kinds.insert("device paired with another's phone");
        }
        if mine.iter().any(|r| r.serial == giver.serial) {
            kinds.insert("device passed on");
        }
    }
    assert_eq!(kinds.len(), 6, "every kind of customer is traced: {kinds:?}");
    assert!(engine.trace("nobody@nowhere.example").unwrap().is_none());
}

#[test]
fn trace_cli_masks_and_refuses_an_unknown_email() {
    let (dir, _) = common::generated(20, 7, Injections::default());
    let data = read(dir.path());
    let who = &data.records[0];
    let name = who.raw["customerName"].as_str().unwrap().to_string();
    let stedi = || {
        let mut cmd = assert_cmd::Command::cargo_bin("stedi-tui").unwrap();
        cmd.current_dir(common::project_root()).env("STEDI_TUI_CACHE", "off").env_remove("STEDI_PSEUDONYM_KEY");
        cmd
    };
    for format in ["text", "json"] {
        let out = stedi().args(["trace", &who.email, "--format", format, "--data"]).arg(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(!text.contains(&who.id) && !text.contains(&name.to_lowercase()), "{format} masked: {text}");
        assert!(text.contains("customer_landing") && text.contains("machine_learning_curated"), "{text}");
        let shown = stedi()
            .args(["trace", &who.email, "--show-pii", "--format", format, "--data"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&shown.stdout).to_lowercase().contains(&who.id), "--show-pii shows it");
    }
    let json = stedi().args(["trace", &who.email, "--format", "json", "--data"]).arg(dir.path()).output().unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), data.records.iter().filter(|r| r.id == who.id).count());
    let mut cmd = stedi();
    cmd.args(["trace", "Nobody.Here@example.org", "--data"]).arg(dir.path());
    common::assert_one_line_error(&mut cmd, "no customer record has the email N*****.H***@example.org");
}

/// A serial number or an email from the data, printed by the text trace, cannot start a line of its
/// own or reach the terminal as an escape: it is shown escaped, as in every report.
#[test]
fn the_text_trace_escapes_control_characters_from_the_data() {
    let (dir, _) = common::generated(10, 3, Injections::default());
    let forged = "s\nPASS error consent_leak.x\u{1b}[2J\u{85}\u{202e}";
    let record = serde_json::json!({
        "customerName": "Tr Ace", "email": "tr.ace@test.com", "phone": "8015550000", "birthDay": "1980-01-01",
        "serialNumber": forged, "registrationDate": 1655564446267i64, "lastUpdateDate": 1655564475058i64,
        "shareWithResearchAsOfDate": 1655564475058i64
    });
    fs::write(dir.path().join("customer/landing/trace-me.json"), format!("{record}\n")).unwrap();
    let out = assert_cmd::Command::cargo_bin("stedi-tui")
        .unwrap()
        .env("STEDI_TUI_CACHE", "off")
        .args(["trace", "tr.ace@test.com", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r"s\nPASS error consent_leak.x\u{1b}[2J\u{85}\u{202e}"), "{text}");
    let raw: Vec<char> = text.chars().filter(|&c| stedi_tui::engine::is_unprintable(c) && c != '\n').collect();
    assert!(raw.is_empty(), "raw {raw:?}");
    assert!(!text.lines().any(|l| l.starts_with("PASS")), "{text}");
}
