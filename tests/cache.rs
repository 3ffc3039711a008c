//! The warm-start cache (src/engine/cache.rs): a cached run must give exactly what a cold run gives,
//! whatever happened to the files since the cache was written (edits, new, deleted, touched and
//! renamed files, other SQL), reuse what did not change, survive a cache of another build, a corrupt
//! or half-written one and one another process holds, keep its files private, and go away with
//! `cache clear` and `forget`. Every test works on a copy of sample_data/ in a temp folder.
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};
use stedi_tui::engine::{CacheChoice, CacheStats, CheckOptions, Engine, EngineOptions, Progress};

const STAGES: [&str; 5] = [
    "customer_trusted",
    "accelerometer_trusted",
    "customer_curated",
    "step_trainer_trusted",
    "machine_learning_curated",
];
const LANDING: [&str; 3] = ["customer", "accelerometer", "step_trainer"];
/// More rows than any table of these tests holds: "all of them".
const ALL_ROWS: u64 = 1 << 40;

type Rows = Vec<Vec<Option<String>>>;

/// A copy of sample_data/ (without any cache) in a new temp folder: (temp folder, data folder).
fn sample_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::copy_tree(&common::project_root().join("sample_data"), &data);
    (dir, data)
}

/// Every landing file under `data`, sorted.
fn landing_files(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = LANDING
        .iter()
        .flat_map(|d| fs::read_dir(data.join(d).join("landing")).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn files_of(data: &Path, dataset: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        fs::read_dir(data.join(dataset).join("landing")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn set_mtime(path: &Path, when: SystemTime) {
    fs::File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Library runs: everything a run produced, to compare a cached run with a cold one.

/// What a run produced: every table's rows, every landing table's rejects, every check's failing
/// rows, per-file row counts; plus what it took from the cache.
struct Run {
    /// name -> (zone, rows, rejected) as the engine counted them.
    tables: BTreeMap<String, (String, u64, u64)>,
    /// name -> all rows, sorted.
    contents: BTreeMap<String, Rows>,
    /// landing table -> (source_file, line, reason, raw_record) of every reject, sorted.
    rejected: BTreeMap<String, Rows>,
    /// landing table -> (path, rows, rejected) per file.
    sources: BTreeMap<String, Vec<(PathBuf, u64, u64)>>,
    /// check id -> (failing rows, those rows sorted).
    checks: BTreeMap<String, (u64, Rows)>,
    /// check id -> taken from the cache.
    check_reused: BTreeMap<String, bool>,
    /// file path -> taken from the cache.
    file_reused: BTreeMap<PathBuf, bool>,
    stats: CacheStats,
    /// `stedi_cache.built`: name -> (fingerprint, seconds): a row that did not change was not rebuilt.
    built: BTreeMap<String, (String, String)>,
}

fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

fn run_engine(data: &Path, queries: &Path, cache: CacheChoice) -> Run {
    run_engine_with(data, queries, cache, &mut |_| {})
}

/// [`run_engine`] with a progress callback (which may change files while the run loads them).
fn run_engine_with(data: &Path, queries: &Path, cache: CacheChoice, progress: &mut dyn FnMut(Progress)) -> Run {
    let mut options = EngineOptions::new(data, queries);
    options.cache = cache;
    let mut engine = Engine::open(options).expect("open");
    let outcomes = engine.run_all(&CheckOptions::default(), progress).expect("run_all");
    let mut run = Run {
        tables: BTreeMap::new(),
        contents: BTreeMap::new(),
        rejected: BTreeMap::new(),
        sources: BTreeMap::new(),
        checks: BTreeMap::new(),
        check_reused: BTreeMap::new(),
        file_reused: BTreeMap::new(),
        stats: engine.cache.clone(),
        built: BTreeMap::new(),
    };
    for t in &engine.tables {
        run.tables.insert(t.name.clone(), (format!("{:?}", t.zone), t.rows, t.rejected));
        let rows = engine.fetch(&format!("SELECT * FROM \"{}\" ORDER BY ALL", t.name), ALL_ROWS, 0).unwrap().rows;
        run.contents.insert(t.name.clone(), sorted(rows));
        if !t.sources.is_empty() {
            let sql = format!("SELECT source_file, line, reason, raw_record FROM \"{}_rejected\" ORDER BY ALL", t.name);
            run.rejected.insert(t.name.clone(), sorted(engine.fetch(&sql, ALL_ROWS, 0).unwrap().rows));
            let mut sources: Vec<_> = t.sources.iter().map(|s| (s.path.clone(), s.rows, s.rejected)).collect();
            sources.sort();
            run.sources.insert(t.name.clone(), sources);
            for s in &t.sources {
                run.file_reused.insert(s.path.clone(), s.reused);
            }
        }
    }
    for o in &outcomes {
        let rows = engine.check_rows(o, ALL_ROWS, 0).unwrap().rows;
        run.checks.insert(o.id.clone(), (o.failing_rows, sorted(rows)));
        run.check_reused.insert(o.id.clone(), o.reused);
    }
    if engine.cache.file.is_some() {
        let rows = engine
            .fetch("SELECT name, fingerprint, seconds FROM stedi_cache.built", ALL_ROWS, 0)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), (r[1].clone().unwrap(), r[2].clone().unwrap_or_default())))
            .collect();
        run.built = rows;
    }
    // The engine closes here: the next run may open the cache.
    drop(engine);
    run
}

/// Rows of two runs equal, or a message naming the first difference (not the whole table).
fn same_rows(what: &str, cached: &Rows, cold: &Rows) {
    if cached == cold {
        return;
    }
    let first = cached.iter().zip(cold).position(|(a, b)| a != b).unwrap_or(cached.len().min(cold.len()));
    panic!(
        "{what}: cached run has {} rows, cold run {}; first difference at {first}:\n  cached {:?}\n  cold   {:?}",
        cached.len(),
        cold.len(),
        cached.get(first),
        cold.get(first)
    );
}

/// The cached run holds exactly what the cold run holds: every table, reject and failing row.
fn assert_same(step: &str, cached: &Run, cold: &Run) {
    assert!(cached.stats.file.is_some(), "{step}: the cached run had a cache ({:?})", cached.stats.notices);
    assert!(cached.stats.notices.is_empty(), "{step}: no notice: {:?}", cached.stats.notices);
    assert_eq!(cached.tables, cold.tables, "{step}: table counts");
    assert_eq!(cached.sources, cold.sources, "{step}: files and their counts");
    for (name, rows) in &cold.contents {
        same_rows(&format!("{step}: table {name}"), &cached.contents[name], rows);
    }
    assert_eq!(cached.rejected.keys().collect::<Vec<_>>(), cold.rejected.keys().collect::<Vec<_>>());
    for (name, rows) in &cold.rejected {
        same_rows(&format!("{step}: {name}_rejected"), &cached.rejected[name], rows);
    }
    assert_eq!(cached.checks.keys().collect::<Vec<_>>(), cold.checks.keys().collect::<Vec<_>>(), "{step}: check ids");
    for (id, (failing, rows)) in &cold.checks {
        let (cached_failing, cached_rows) = &cached.checks[id];
        assert_eq!(cached_failing, failing, "{step}: failing rows of {id}");
        same_rows(&format!("{step}: failing rows of {id}"), cached_rows, rows);
    }
}

/// Run with the cache in its default place and without one; assert they agree; return both runs.
fn cached_and_cold(step: &str, data: &Path) -> (Run, Run) {
    let cold = run_engine(data, &common::queries_dir(), CacheChoice::Off);
    assert!(cold.stats.file.is_none());
    (cached_against(step, data, &cold), cold)
}

/// Run with the cache; assert it agrees with `cold`, a run without one over the same files.
fn cached_against(step: &str, data: &Path, cold: &Run) -> Run {
    let cached = run_engine(data, &common::queries_dir(), CacheChoice::Auto);
    assert_same(step, &cached, cold);
    cached
}

fn stage_rebuilt(before: &Run, after: &Run, stage: &str) -> bool {
    before.built.get(stage) != after.built.get(stage)
}

/// The stages rebuilt between two cached runs, by their `stedi_cache.built` rows.
fn rebuilt_stages(before: &Run, after: &Run) -> Vec<&'static str> {
    STAGES.into_iter().filter(|s| stage_rebuilt(before, after, s)).collect()
}

fn assert_everything_reused(step: &str, run: &Run) {
    let s = &run.stats;
    assert_eq!(s.files_parsed, 0, "{step}: {s:?}");
    assert_eq!(s.files_reused, run.file_reused.len(), "{step}: {s:?}");
    assert_eq!((s.stages_built, s.stages_reused), (0, STAGES.len()), "{step}: {s:?}");
    assert_eq!((s.checks_run, s.checks_reused), (0, run.checks.len()), "{step}: {s:?}");
    assert!(run.check_reused.values().all(|r| *r), "{step}: every check reused");
}

/// Change one digit of the first `"x":` value of a file: the same size, other content.
fn change_one_digit(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\"x\":").expect("an x value") + 4;
    let digit = at + bytes[at..].iter().position(u8::is_ascii_digit).unwrap();
    bytes[digit] = if bytes[digit] == b'7' { b'3' } else { b'7' };
    fs::write(path, bytes).unwrap();
}

/// Change one digit of the x of a reading `accelerometer_trusted` holds (so the edit reaches the
/// stages that read it): the same size, other content. Returns the file.
fn edit_trusted_reading(data: &Path, cold: &Run) -> PathBuf {
    let row = &cold.contents["accelerometer_trusted"][0];
    let (user, timestamp) = (row[0].as_deref().unwrap(), row[1].as_deref().unwrap());
    let needle = format!("\"user\":\"{user}\",\"timestamp\":{timestamp},\"x\":");
    for file in files_of(data, "accelerometer") {
        let mut bytes = fs::read(&file).unwrap();
        if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle.as_bytes()) {
            let value = at + needle.len();
            let digit = value + bytes[value..].iter().position(u8::is_ascii_digit).unwrap();
            bytes[digit] = if bytes[digit] == b'7' { b'3' } else { b'7' };
            fs::write(&file, bytes).unwrap();
            return file;
        }
    }
    panic!("no landing line for the trusted reading {row:?}");
}

#[test]
fn a_cached_run_equals_a_cold_run_across_edits() {
    let (_dir, data) = sample_copy();
    // Files last written an hour ago: the stat fields alone say "unchanged" (no 3 s racy window).
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for f in landing_files(&data) {
        set_mtime(&f, hour_ago);
    }
    let all = landing_files(&data).len();

    // Cold cache: every file parsed, every stage built, every check run.
    let (first, cold) = cached_and_cold("first run", &data);
    assert_eq!(first.stats.file, Some(data.join(".stedi").join("cache.duckdb")));
    let s = &first.stats;
    assert_eq!((s.files_parsed, s.files_reused), (all, 0), "{s:?}");
    assert_eq!((s.stages_built, s.stages_reused), (STAGES.len(), 0), "{s:?}");
    assert_eq!((s.checks_run, s.checks_reused), (first.checks.len(), 0), "{s:?}");
    assert!(first.file_reused.values().all(|r| !r));

    // Nothing changed: everything reused.
    let same = cached_against("no change", &data, &cold);
    assert_everything_reused("no change", &same);
    assert_eq!(same.built, first.built, "nothing rebuilt");

    // (a) One trusted accelerometer reading edited in place: same size, and the old mtime put back,
    // so only the ctime and the content (its SHA-256) tell.
    let edited = edit_trusted_reading(&data, &cold);
    set_mtime(&edited, hour_ago);
    let (after_edit, _) = cached_and_cold("edited accelerometer file", &data);
    let s = &after_edit.stats;
    assert_eq!((s.files_parsed, s.files_reused), (1, all - 1), "{s:?}");
    assert!(!after_edit.file_reused[&edited], "the edited file is parsed again");
    assert_eq!(
        rebuilt_stages(&same, &after_edit),
        ["accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"],
        "customer_trusted reads no accelerometer data; the rest read accelerometer_trusted (directly or not)"
    );
    assert_eq!((s.stages_built, s.stages_reused), (4, 1), "{s:?}");
    for id in ["duplicate_key.customer_landing", "consent_leak.customer_trusted", "orphan.step_trainer_landing"] {
        assert!(after_edit.check_reused[id], "{id} reads no accelerometer data: reused");
    }
    for id in ["orphan.accelerometer_landing", "duplicate.accelerometer_landing", "consent_leak.accelerometer_trusted"]
    {
        assert!(!after_edit.check_reused[id], "{id} reads the edited table: run again");
    }
    assert!(s.checks_reused > 0 && s.checks_run > 0, "{s:?}");

    // (b) New files: accelerometer readings (copies with other values, and a malformed line) and a
    // customer file with a malformed line and a record whose consent is no number.
    let source = fs::read_to_string(&files_of(&data, "accelerometer")[0]).unwrap();
    let mut extra: String = source
        .lines()
        .take(5)
        .map(|l| {
            let mut reading: Value = serde_json::from_str(l).unwrap();
            reading["x"] = Value::from(reading["x"].as_f64().unwrap() + 1.0);
            reading.to_string() + "\n"
        })
        .collect();
    extra += "{\"user\":\"Pedro.Anandh@test.com\",\"timestamp\":16555646\n";
    extra += "{\"user\":\"Nobody.Known@test.com\",\"timestamp\":1655564999999,\"x\":0.1,\"y\":0.2,\"z\":0.3}\n";
    let new_accelerometer = data.join("accelerometer/landing/accelerometer-extra.json");
    fs::write(&new_accelerometer, extra).unwrap();
    let customer = fs::read_to_string(&files_of(&data, "customer")[0]).unwrap();
    let record = customer.lines().next().unwrap();
    let mut extra = record.replace("@test.com", "@extra.test.com").replace("3ba25e34", "eeeeeeee") + "\n";
    extra += "{\"customerName\": \"Broken Record\", \"email\": \n";
    extra += &(record
        .replace("@test.com", "@yes.test.com")
        .replace("3ba25e34", "ffffffff")
        .replace("\"shareWithResearchAsOfDate\": 1655564475058", "\"shareWithResearchAsOfDate\": \"yes\"")
        + "\n");
    let new_customer = data.join("customer/landing/customer-extra.json");
    fs::write(&new_customer, extra).unwrap();
    let (added, _) = cached_and_cold("new files", &data);
    let s = &added.stats;
    assert_eq!((s.files_parsed, s.files_reused), (2, all), "{s:?}");
    assert!(!added.file_reused[&new_accelerometer] && !added.file_reused[&new_customer]);
    assert!(added.tables["accelerometer_landing"].2 >= 1, "the malformed reading is a reject");
    assert!(added.tables["customer_landing"].2 >= 2, "the malformed and the 'yes' records are rejects");
    assert_eq!(s.stages_built, STAGES.len(), "new customers: every stage reads them");

    // (c) A file deleted: its rows go.
    let deleted = files_of(&data, "step_trainer")[2].clone();
    fs::remove_file(&deleted).unwrap();
    let (removed, cold) = cached_and_cold("deleted file", &data);
    let s = &removed.stats;
    assert_eq!((s.files_parsed, s.files_reused), (0, all + 1), "{s:?}");
    assert!(removed.tables["step_trainer_landing"].1 < added.tables["step_trainer_landing"].1);
    assert_eq!(rebuilt_stages(&added, &removed), ["step_trainer_trusted", "machine_learning_curated"]);

    // (d) A file touched, content unchanged: reused (hashed, same SHA-256), nothing rebuilt.
    let touched = files_of(&data, "customer")[1].clone();
    set_mtime(&touched, SystemTime::now());
    let after_touch = cached_against("touched file", &data, &cold);
    assert!(after_touch.file_reused[&touched], "a touched file is not parsed again");
    assert_everything_reused("touched file", &after_touch);
    assert_eq!(after_touch.built, removed.built, "nothing rebuilt");

    // (e) A file renamed (the one with rejects, whose source_file names it): parsed again under
    // its new name; the rejects, and the rejected.<table> check, name the new path; no stage reads
    // a path, so none is rebuilt.
    let renamed = data.join("accelerometer/landing/accelerometer-renamed.json");
    fs::rename(&new_accelerometer, &renamed).unwrap();
    let (after_rename, _) = cached_and_cold("renamed file", &data);
    let s = &after_rename.stats;
    assert_eq!((s.files_parsed, s.files_reused), (1, all), "{s:?}");
    assert!(!after_rename.file_reused[&renamed]);
    let rejects = &after_rename.rejected["accelerometer_landing"];
    assert!(!rejects.is_empty() && rejects.iter().all(|r| r[0].as_deref() == renamed.to_str()), "{rejects:?}");
    let (_, failing) = &after_rename.checks["rejected.accelerometer_landing"];
    assert!(failing.iter().all(|r| r[0].as_deref() == renamed.to_str()), "{failing:?}");
    assert_eq!(rebuilt_stages(&after_touch, &after_rename), Vec::<&str>::new());
    assert!(!after_rename.check_reused["rejected.accelerometer_landing"]);
    assert!(after_rename.check_reused["orphan.accelerometer_landing"], "the same rows: reused");

    // (f) The same folder spelled another way: the rejects name files as this run spells them.
    let respelled = data.join("customer").join("..");
    let cached = run_engine(&respelled, &common::queries_dir(), CacheChoice::Auto);
    let cold = run_engine(&respelled, &common::queries_dir(), CacheChoice::Off);
    assert_same("data folder spelled DATA/customer/..", &cached, &cold);
    assert_eq!((cached.stats.files_parsed, cached.stats.stages_built), (0, 0), "{:?}", cached.stats);
    let spelled = respelled.join("accelerometer/landing/accelerometer-renamed.json");
    let (_, failing) = &cached.checks["rejected.accelerometer_landing"];
    assert!(failing.iter().all(|r| r[0].as_deref() == spelled.to_str()), "{failing:?}");
}

/// The rejects of a renamed file name it by its new name in the `rejected.<table>` check too: the
/// check's inputs include the files' paths, not only their contents. (Found by this file: the
/// check used to be reused with the old path, because `<table>_rejected` had the landing table's
/// content-only fingerprint; src/engine/pipeline.rs, `Engine::load`.)
#[test]
fn a_renamed_files_rejects_name_its_new_path() {
    let (_dir, data) = sample_copy();
    let bad = data.join("step_trainer/landing/step_trainer-bad.json");
    fs::write(&bad, "{\"sensorReadingTime\": 1655564676361, \"serialNumber\": \n").unwrap();
    let first = run_engine(&data, &common::queries_dir(), CacheChoice::Auto);
    assert_eq!(first.checks["rejected.step_trainer_landing"].0, 1);
    let renamed = data.join("step_trainer/landing/step_trainer-renamed.json");
    fs::rename(&bad, &renamed).unwrap();
    let cached = run_engine(&data, &common::queries_dir(), CacheChoice::Auto);
    let (_, rows) = &cached.checks["rejected.step_trainer_landing"];
    assert_eq!(rows[0][0].as_deref(), renamed.to_str(), "the failing row names the file as it is now called");
    assert_eq!(cached.rejected["step_trainer_landing"][0][0].as_deref(), renamed.to_str());
}

/// What the manifest records for a file: its SHA-256 (empty: not known to match the rows).
fn manifest_sha256(cache: &Path, file: &Path) -> String {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    let conn = duckdb::Connection::open_with_flags(cache, config).unwrap();
    conn.query_row("SELECT sha256 FROM stedi_cache.files WHERE path = ?", [file.to_str().unwrap()], |r| r.get(0))
        .unwrap()
}

/// A file that changes while the run loads it (after the stat that says what it is, before or
/// while it is hashed and parsed): the manifest records no hash for it, so the next run parses it
/// again, and nothing built from that run's table is reused by a later run. (src/engine/load.rs,
/// `load_landing_table`: the hash is taken on another thread, the stat before the parse.)
#[test]
fn a_file_changed_while_it_is_loaded_is_parsed_again_and_nothing_built_from_it_is_reused() {
    let (_dir, data) = sample_copy();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for f in landing_files(&data) {
        set_mtime(&f, hour_ago);
    }
    let before = run_engine(&data, &common::queries_dir(), CacheChoice::Off);
    let mut edited = None;
    let first = run_engine_with(&data, &common::queries_dir(), CacheChoice::Auto, &mut |p| {
        if let Progress::LoadingFile { table, .. } = p {
            if table == "accelerometer_landing" && edited.is_none() {
                // After the stat, before the parse: the same size, another mtime.
                let file = edit_trusted_reading(&data, &before);
                set_mtime(&file, hour_ago + Duration::from_secs(7));
                edited = Some(file);
            }
        }
    });
    let edited = edited.expect("the accelerometer files were loaded");
    assert!(first.stats.notices.is_empty(), "{:?}", first.stats.notices);
    assert_eq!(manifest_sha256(&cache_file(&data), &edited), "", "no hash is recorded for a file that changed");
    let other = files_of(&data, "accelerometer").into_iter().find(|f| *f != edited).unwrap();
    assert_eq!(manifest_sha256(&cache_file(&data), &other).len(), 64, "an unchanged file's hash is recorded");

    let (second, cold) = cached_and_cold("after a file changed while it was loaded", &data);
    assert!(!second.file_reused[&edited], "the file is parsed again");
    assert_eq!(second.stats.files_parsed, 1, "{:?}", second.stats);
    assert_eq!(manifest_sha256(&cache_file(&data), &edited).len(), 64);
    assert_eq!(
        rebuilt_stages(&first, &second),
        ["accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"],
        "what was built from the table that changed while it was loaded is not reused"
    );
    assert!(!second.check_reused["orphan.accelerometer_landing"]);
    assert!(second.check_reused["orphan.step_trainer_landing"], "what reads other tables is reused");
    let third = cached_against("the run after", &data, &cold);
    assert_everything_reused("the run after", &third);
}

// ---------------------------------------------------------------------------------------------
// CLI runs.

/// The binary, from the project root (so `--queries queries` resolves), with no cache setting
/// inherited and the user's cache folder inside `home` (never the real ~/.cache).
fn stedi(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    cmd.current_dir(common::project_root());
    cmd.env_remove("STEDI_TUI_CACHE");
    cmd.env("HOME", home);
    cmd.env("XDG_CACHE_HOME", home.join("xdg"));
    cmd
}

struct CliRun {
    code: Option<i32>,
    report: Value,
    stderr: String,
}

impl CliRun {
    fn cache(&self) -> &Value {
        &self.report["summary"]["cache"]
    }
    fn files_parsed(&self) -> u64 {
        self.cache()["files_parsed"].as_u64().unwrap()
    }
    fn cache_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains("cache:")).collect()
    }
}

/// `--check --format json --quiet` on `data` with `extra` arguments.
fn check(home: &Path, data: &Path, extra: &[&str]) -> CliRun {
    let out =
        stedi(home).args(["--check", "--format", "json", "--quiet", "--data"]).arg(data).args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked") && !stderr.contains("stedi-tui: error:"), "{stderr}");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a JSON report ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    CliRun { code: out.status.code(), report, stderr }
}

/// A report without what may differ between equal runs: times, cache counts, reuse flags; samples
/// (the first failing rows of a check, in no defined order) as sorted rows when they are all of them.
fn normalized(report: &Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in ["seconds", "timings", "cache", "reused"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = report.clone();
    strip(&mut v);
    for check in v["checks"].as_array_mut().unwrap() {
        let failing = check["failing_rows"].as_u64().unwrap();
        if let Some(rows) = check.get_mut("sample").and_then(|s| s.get_mut("rows")).and_then(Value::as_array_mut) {
            if failing as usize <= rows.len() {
                rows.sort_by_key(|r| r.to_string());
            } else {
                let n = rows.len();
                *rows = vec![Value::from(n)];
            }
        }
    }
    v
}

/// The run used a fresh or rebuilt cache and agrees with the cold run in everything but that.
fn assert_agrees(step: &str, run: &CliRun, cold: &CliRun) {
    assert_eq!(run.code, cold.code, "{step}: exit code; stderr {}", run.stderr);
    assert_eq!(normalized(&run.report), normalized(&cold.report), "{step}: report");
}

/// A run with one notice on stderr that says the cache is rebuilt, and results equal to the cold run.
fn assert_rebuilt_with_one_notice(step: &str, run: &CliRun, cold: &CliRun, all: usize) {
    let notices = run.cache_lines();
    assert_eq!(notices.len(), 1, "{step}: one cache notice in {}", run.stderr);
    assert!(
        notices[0].starts_with("stedi-tui: cache: ") && notices[0].contains("rebuilding"),
        "{step}: {}",
        notices[0]
    );
    assert_eq!(
        run.stderr.lines().count(),
        cold.stderr.lines().count() + 1,
        "{step}: only the notice is new: {}",
        run.stderr
    );
    assert_agrees(step, run, cold);
    assert_eq!(run.files_parsed(), all as u64, "{step}: rebuilt from every file");
}

fn cache_file(data: &Path) -> PathBuf {
    data.join(".stedi").join("cache.duckdb")
}

fn remove_wal(file: &Path) {
    let _ = fs::remove_file(PathBuf::from(format!("{}.wal", file.display())));
}

fn set_meta(file: &Path, key: &str, value: &str) {
    let conn = duckdb::Connection::open(file).unwrap();
    let n = conn.execute("UPDATE stedi_cache.meta SET value = ? WHERE key = ?", [value, key]).unwrap();
    assert_eq!(n, 1, "meta {key} is there");
}

const HOLD_ENV: &str = "STEDI_TEST_HOLD_CACHE";
/// What the helper prints once it holds the file.
const HELD: &str = "STEDI-TEST-CACHE-HELD";

/// Not a test: the child process that `a_cache_of_another_build_corrupt_half_written_or_held_...`
/// starts to hold the cache open (DuckDB's lock is per process, so the test's own process cannot
/// stand in for another stedi-tui). Holds it until its stdin closes; without HOLD_ENV it does nothing.
#[test]
#[ignore = "a helper process for another test"]
fn hold_cache_helper() {
    let Some(path) = std::env::var_os(HOLD_ENV) else { return };
    let conn = duckdb::Connection::open(&path).expect("open the cache");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{HELD}").unwrap();
    stdout.flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(conn);
}

/// The helper process, killed when dropped (also when the test fails).
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hold(file: &Path) -> Holder {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["hold_cache_helper", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(HOLD_ENV, file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let holder = Holder(child);
    // libtest prints `test hold_cache_helper ... ` before the test's own output, on the same line.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(HELD) {
                let _ = tx.send(());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => holder,
        Err(_) => panic!("the helper process did not open {}", file.display()),
    }
}

#[test]
fn a_cache_of_another_build_corrupt_half_written_or_held_is_rebuilt_or_bypassed() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let all = landing_files(&data).len();
    let file = cache_file(&data);
    let cold = check(home, &data, &["--no-cache"]);
    assert!(cold.cache_lines().is_empty(), "{}", cold.stderr);
    assert!(!file.exists());

    let first = check(home, &data, &[]);
    assert!(first.cache_lines().is_empty(), "{}", first.stderr);
    assert_agrees("first cached run", &first, &cold);
    assert_eq!(first.files_parsed(), all as u64);
    let warm = check(home, &data, &[]);
    assert_agrees("warm run", &warm, &cold);
    assert_eq!(warm.files_parsed(), 0);

    // (a) Written by another build of stedi-tui.
    set_meta(&file, "build", "0.0.0 (x)");
    let run = check(home, &data, &[]);
    assert_rebuilt_with_one_notice("another build", &run, &cold, all);
    assert!(run.cache_lines()[0].contains("another stedi-tui build"), "{}", run.stderr);
    let again = check(home, &data, &[]);
    assert!(again.cache_lines().is_empty(), "the rebuilt cache is this build's: {}", again.stderr);
    assert_eq!(again.files_parsed(), 0);
    assert_agrees("after the rebuild", &again, &cold);

    // (b) Not a DuckDB file at all.
    remove_wal(&file);
    fs::write(&file, b"\x00garbage, not a database\xff".repeat(512)).unwrap();
    let run = check(home, &data, &[]);
    assert_rebuilt_with_one_notice("garbage", &run, &cold, all);
    assert_eq!(check(home, &data, &[]).files_parsed(), 0, "the rebuilt cache is used");

    // (c) Left half-written by a run that died while loading.
    set_meta(&file, "state", "dirty");
    let run = check(home, &data, &[]);
    assert_rebuilt_with_one_notice("dirty", &run, &cold, all);
    assert!(run.cache_lines()[0].contains("half-written"), "{}", run.stderr);

    // (d) Held by another process: a run without the cache, which it leaves as it was.
    let holder = hold(&file);
    let run = check(home, &data, &[]);
    let notices = run.cache_lines();
    assert_eq!(notices.len(), 1, "one notice: {}", run.stderr);
    assert!(notices[0].contains("in use by another stedi-tui; running without the cache"), "{}", run.stderr);
    assert_agrees("cache held by another process", &run, &cold);
    assert!(run.cache()["file"].is_null(), "no cache used: {}", run.cache());
    assert_eq!(run.files_parsed(), all as u64);
    drop(holder);
    let after = check(home, &data, &[]);
    assert!(after.cache_lines().is_empty(), "{}", after.stderr);
    assert_eq!(after.files_parsed(), 0, "the cache survived being held");
    assert_agrees("after the other process", &after, &cold);
}

/// A garbage cache in a folder whose path contains "lock" is rebuilt, not taken for a cache
/// another process holds (src/engine/cache.rs, `open`, used to match "lock" anywhere in the message).
#[test]
fn a_garbage_cache_in_a_folder_named_blocked_is_rebuilt() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let all = landing_files(&data).len();
    let cold = check(home, &data, &["--no-cache"]);
    let folder = dir.path().join("blocked");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(folder.join("cache.duckdb"), b"\x00garbage, not a database\xff".repeat(512)).unwrap();
    let args = ["--cache", folder.to_str().unwrap()];
    let run = check(home, &data, &args);
    assert_rebuilt_with_one_notice("garbage in blocked/", &run, &cold, all);
    assert!(!run.stderr.contains("running without the cache"), "{}", run.stderr);
    assert_eq!(run.cache()["file"].as_str(), Some(folder.join("cache.duckdb").to_str().unwrap()));
    let again = check(home, &data, &args);
    assert!(again.cache_lines().is_empty(), "{}", again.stderr);
    assert_eq!(again.files_parsed(), 0, "the rebuilt cache is used");
}

/// A cache file that cannot be opened for another reason than corruption or a lock (here a folder
/// in its place), or that cannot be removed to be rebuilt, is left as it is: the run goes on in
/// memory with one notice naming the problem, and its results are a cold run's.
#[test]
fn a_cache_that_cannot_be_opened_or_removed_is_left_alone() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let all = landing_files(&data).len() as u64;
    let cold = check(home, &data, &["--no-cache"]);
    let folder = data.join(".stedi");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    let file = cache_file(&data);

    // (a) A folder where the database file should be: never deleted.
    fs::create_dir(&file).unwrap();
    fs::write(file.join("keep.txt"), "not the cache's").unwrap();
    let run = check(home, &data, &[]);
    let notices = run.cache_lines();
    assert_eq!(notices.len(), 1, "one notice: {}", run.stderr);
    assert!(
        notices[0].contains("cannot open it") && notices[0].contains("Is a directory"),
        "the notice names the error: {}",
        notices[0]
    );
    assert!(notices[0].ends_with("running without the cache") && !notices[0].contains("rebuilding"), "{}", notices[0]);
    assert_agrees("a folder in the cache's place", &run, &cold);
    assert!(run.cache()["file"].is_null(), "{}", run.cache());
    assert_eq!(run.files_parsed(), all);
    assert_eq!(fs::read_to_string(file.join("keep.txt")).unwrap(), "not the cache's", "left as it was");
    fs::remove_dir_all(&file).unwrap();

    // (b) A garbage database whose write-ahead log cannot be removed (a folder, not empty): the
    // rebuild fails, and the run goes on without the cache rather than failing.
    fs::write(&file, b"\x00garbage, not a database\xff".repeat(512)).unwrap();
    let wal = folder.join("cache.duckdb.wal");
    fs::create_dir(&wal).unwrap();
    fs::write(wal.join("keep.txt"), "x").unwrap();
    let run = check(home, &data, &[]);
    let notices = run.cache_lines();
    assert_eq!(notices.len(), 1, "one notice: {}", run.stderr);
    assert!(
        notices[0].contains("cannot remove the old cache") && notices[0].ends_with("running without the cache"),
        "{}",
        notices[0]
    );
    assert_agrees("a cache that cannot be removed", &run, &cold);
    assert!(run.cache()["file"].is_null(), "{}", run.cache());
    assert!(wal.join("keep.txt").is_file());
}

fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap())
}

/// A cache that opens but is not this build's is emptied in place, while the run holds it: the
/// same file (the same inode), with nothing left of what it held (src/engine/cache.rs, `open`:
/// closing, deleting and creating it again let another process in between).
#[test]
fn a_cache_of_another_build_is_emptied_in_place() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let all = landing_files(&data).len();
    let cold = check(home, &data, &["--no-cache"]);
    let first = check(home, &data, &[]);
    assert_agrees("first cached run", &first, &cold);
    let file = cache_file(&data);
    {
        let conn = duckdb::Connection::open(&file).unwrap();
        conn.execute_batch(
            "CREATE TABLE main.leftover AS SELECT 1 AS x;
             CREATE VIEW main.leftover_view AS SELECT 2 AS y;
             CREATE MACRO main.leftover_macro(a) AS a + 1;
             CREATE MACRO main.leftover_table_macro() AS TABLE SELECT 3 AS z;
             CREATE SEQUENCE main.leftover_sequence;
             CREATE SCHEMA leftover_schema;
             CREATE TABLE leftover_schema.t AS SELECT 4 AS w;
             CREATE TABLE stedi_cache.leftover AS SELECT 5 AS v;
             UPDATE stedi_cache.meta SET value = '0.0.0 (x)' WHERE key = 'build';",
        )
        .unwrap();
    }
    // A second name for the file: deleting and creating the cache again would give it another inode.
    let link = data.join(".stedi").join("cache-link");
    fs::hard_link(&file, &link).unwrap();
    let run = check(home, &data, &[]);
    assert_rebuilt_with_one_notice("another build", &run, &cold, all);
    assert!(run.cache_lines()[0].contains("another stedi-tui build"), "{}", run.stderr);
    assert_eq!(inode(&file), inode(&link), "the same file, emptied in place");
    fs::remove_file(&link).unwrap();
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    let conn = duckdb::Connection::open_with_flags(&file, config).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'leftover%'"), 0);
    assert_eq!(count("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'leftover%'"), 0);
    assert_eq!(count("SELECT count(*) FROM duckdb_functions() WHERE function_name LIKE 'leftover%'"), 0);
    assert_eq!(count("SELECT count(*) FROM duckdb_sequences() WHERE sequence_name LIKE 'leftover%'"), 0);
    assert_eq!(count("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'leftover_schema'"), 0);
    assert_eq!(count("SELECT count(*) FROM stedi_cache.meta WHERE key = 'build' AND value = '0.0.0 (x)'"), 0);
    drop(conn);
    let again = check(home, &data, &[]);
    assert!(again.cache_lines().is_empty(), "{}", again.stderr);
    assert_eq!(again.files_parsed(), 0, "the emptied and rebuilt cache is used");
    assert_agrees("after the rebuild", &again, &cold);
}

// ---------------------------------------------------------------------------------------------
// Where the cache goes, and who may read it.

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and folder under `dir` with its length, to see that nothing was written.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| (e.path().to_path_buf(), e.metadata().unwrap().len()))
        .collect()
}

/// The cache folder holds cache.duckdb (and maybe its .wal), owner-only, and a .gitignore of `*`.
fn assert_private_cache(step: &str, folder: &Path) {
    assert_eq!(mode(folder), 0o700, "{step}: {} is owner-only", folder.display());
    let file = folder.join("cache.duckdb");
    assert!(file.is_file(), "{step}: {} exists", file.display());
    for entry in fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("cache.duckdb") {
            assert_eq!(mode(&path), 0o600, "{step}: {} is owner-only", path.display());
        }
    }
    let gitignore = fs::read_to_string(folder.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l.trim() == "*"), "{step}: .gitignore ignores everything: {gitignore}");
}

#[test]
fn the_cache_is_private_and_goes_where_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let source = common::project_root().join("sample_data");

    // Default: DATA/.stedi/cache.duckdb, private, also after a run that updates it.
    let data = dir.path().join("default");
    common::copy_tree(&source, &data);
    let run = check(home, &data, &[]);
    assert_eq!(run.cache()["file"].as_str(), Some(cache_file(&data).to_str().unwrap()));
    assert_private_cache("first run", &data.join(".stedi"));
    change_one_digit(&files_of(&data, "accelerometer")[0]);
    let run = check(home, &data, &[]);
    assert_eq!(run.files_parsed(), 1);
    assert_private_cache("run that updated the cache", &data.join(".stedi"));

    // A data folder read-only by its permission bits: the user's cache folder, nothing in DATA.
    let readonly = dir.path().join("readonly");
    common::copy_tree(&source, &readonly);
    fs::set_permissions(&readonly, fs::Permissions::from_mode(0o555)).unwrap();
    let before = listing(&readonly);
    let xdg = dir.path().join("xdg-readonly");
    let out = stedi(home)
        .env("XDG_CACHE_HOME", &xdg)
        .args(["--check", "--format", "json", "--quiet", "--data"])
        .arg(&readonly)
        .output()
        .unwrap();
    let after = listing(&readonly);
    fs::set_permissions(&readonly, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(after, before, "nothing written inside a read-only data folder");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = Sha256::digest(fs::canonicalize(&readonly).unwrap().to_string_lossy().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let folder = xdg.join("stedi-tui").join(&hex[..16]);
    assert_eq!(report["summary"]["cache"]["file"].as_str(), Some(folder.join("cache.duckdb").to_str().unwrap()));
    assert_private_cache("user cache folder", &folder);

    // --cache DIR, and STEDI_TUI_CACHE=DIR: there, nothing in DATA.
    let chosen = dir.path().join("chosen");
    common::copy_tree(&source, &chosen);
    let folder = dir.path().join("my-cache");
    let run = check(home, &chosen, &["--cache", folder.to_str().unwrap()]);
    assert_eq!(run.cache()["file"].as_str(), Some(folder.join("cache.duckdb").to_str().unwrap()));
    assert_private_cache("--cache DIR", &folder);
    let env_folder = dir.path().join("env-cache");
    let out = stedi(home)
        .env("STEDI_TUI_CACHE", &env_folder)
        .args(["--check", "--quiet", "--data"])
        .arg(&chosen)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_private_cache("STEDI_TUI_CACHE=DIR", &env_folder);
    assert!(!chosen.join(".stedi").exists(), "a chosen cache folder leaves DATA alone");

    // --no-cache and STEDI_TUI_CACHE=off: no cache anywhere.
    let none = dir.path().join("none");
    common::copy_tree(&source, &none);
    let before = listing(&none);
    let nowhere = tempfile::tempdir().unwrap();
    let run = check(nowhere.path(), &none, &["--no-cache"]);
    assert!(run.cache()["file"].is_null());
    let out = stedi(nowhere.path())
        .env("STEDI_TUI_CACHE", "off")
        .args(["--check", "--quiet", "--data"])
        .arg(&none)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(listing(&none), before, "no cache in DATA");
    assert_eq!(listing(nowhere.path()).len(), 1, "no cache in HOME or XDG_CACHE_HOME: {:?}", listing(nowhere.path()));
}

/// A DATA/.stedi that exists already and that others may enter gets the same notice as a
/// `--cache DIR` folder that others may enter (the cache holds personal data).
#[test]
fn an_existing_data_cache_folder_others_can_open_gets_a_notice() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let cold = check(home, &data, &["--no-cache"]);
    let folder = data.join(".stedi");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
    let run = check(home, &data, &[]);
    let notices = run.cache_lines();
    assert_eq!(notices.len(), 1, "one notice: {}", run.stderr);
    assert!(notices[0].contains("other users can open this folder"), "{}", notices[0]);
    assert!(notices[0].contains(folder.to_str().unwrap()), "{}", notices[0]);
    assert_agrees("a cache folder others can open", &run, &cold);
    assert_eq!(run.cache()["file"].as_str(), Some(cache_file(&data).to_str().unwrap()), "the cache is still used");
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    let run = check(home, &data, &[]);
    assert!(run.cache_lines().is_empty(), "no notice once it is owner-only: {}", run.stderr);
}

/// A warm run's write-ahead log does not exist when the cache is opened; DuckDB creates it 0644
/// (umask 022) at the run's first write, and it holds landing rows. The engine makes it 0600 again
/// after each phase (inside DATA/.stedi, 0700, nobody else could reach it anyway; a `--cache DIR`
/// folder that others can enter gets a notice).
#[test]
fn the_write_ahead_log_of_a_warm_run_is_private() {
    let (dir, data) = sample_copy();
    let folder = dir.path().join("existing-cache-folder");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
    let mut options = EngineOptions::new(&data, common::queries_dir());
    options.cache = CacheChoice::Dir(folder.clone());
    let mut engine = Engine::open(options.clone()).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    drop(engine);
    change_one_digit(&files_of(&data, "accelerometer")[0]);
    let mut engine = Engine::open(options).unwrap();
    engine.load(&mut |_| {}).unwrap();
    let wal = folder.join("cache.duckdb.wal");
    assert!(wal.is_file(), "the run has written its log");
    assert_eq!(mode(&wal), 0o600, "the write-ahead log holds landing rows: owner-only");
}

// ---------------------------------------------------------------------------------------------
// cache info, cache clear, forget.

#[test]
fn cache_clear_and_forget_delete_the_cache() {
    let (dir, data) = sample_copy();
    let home = dir.path();
    let all = landing_files(&data).len();
    let before = check(home, &data, &[]);
    let file = cache_file(&data);
    assert!(file.is_file());

    let info = stedi(home).args(["cache", "info", "--data"]).arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert_eq!(info.status.code(), Some(0));
    assert!(text.contains(file.to_str().unwrap()), "{text}");
    for table in ["customer_landing", "accelerometer_landing", "step_trainer_landing"] {
        assert!(text.lines().any(|l| l.starts_with("landing") && l.contains(table)), "{table} in {text}");
    }

    let clear = stedi(home).args(["cache", "clear", "--data"]).arg(&data).output().unwrap();
    assert_eq!(clear.status.code(), Some(0), "{}", String::from_utf8_lossy(&clear.stderr));
    assert!(!file.exists() && !data.join(".stedi").exists(), "the cache and its folder are gone");
    let info = stedi(home).args(["cache", "info", "--data"]).arg(&data).output().unwrap();
    assert_eq!(info.status.code(), Some(0));
    assert!(info.stdout.is_empty(), "{}", String::from_utf8_lossy(&info.stdout));
    assert!(String::from_utf8_lossy(&info.stderr).contains("no cache"), "{}", String::from_utf8_lossy(&info.stderr));

    // forget: a customer with phone data (so stages hold their rows), read from the landing data.
    let rebuilt = check(home, &data, &[]);
    assert_eq!(rebuilt.files_parsed(), all as u64);
    assert!(file.is_file());
    let accelerometer: String =
        files_of(&data, "accelerometer").iter().map(|f| fs::read_to_string(f).unwrap()).collect();
    let email = files_of(&data, "customer")
        .iter()
        .flat_map(|f| fs::read_to_string(f).unwrap().lines().map(String::from).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter(|r| r["shareWithResearchAsOfDate"].is_i64())
        .filter_map(|r| r["email"].as_str().map(String::from))
        .find(|e| accelerometer.contains(&format!("\"{e}\"")))
        .expect("a consenting customer with accelerometer readings");
    let forget = stedi(home).arg("forget").arg(&email).arg("--data").arg(&data).output().unwrap();
    assert_eq!(forget.status.code(), Some(0), "forget exits 0");
    assert!(!file.exists(), "forget removes the cache");
    let after = check(home, &data, &[]);
    assert_eq!(after.files_parsed(), all as u64, "rebuilt from every file");
    assert!(file.is_file());
    let cold = check(home, &data, &["--no-cache"]);
    assert_agrees("after forget", &after, &cold);
    let rows = |run: &CliRun, table: &str| {
        run.report["tables"].as_array().unwrap().iter().find(|t| t["name"] == table).unwrap()["rows"].as_u64().unwrap()
    };
    for table in ["customer_trusted", "accelerometer_trusted", "customer_curated"] {
        assert!(rows(&after, table) < rows(&before, table), "the erased customer's rows left {table}");
    }
    for check in after.report["checks"].as_array().unwrap() {
        if check["id"].as_str().unwrap().starts_with("erased.") {
            assert_eq!(check["failing_rows"], 0, "{}: no erased customer's row remains", check["id"]);
        }
    }
    // The rebuilt cache's stage tables hold nothing of the erased customer (its landing tables
    // still do, as the landing files do).
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    let conn = duckdb::Connection::open_with_flags(&file, config).unwrap();
    for (stage, column) in [
        ("customer_trusted", "email"),
        ("accelerometer_trusted", "user"),
        ("customer_curated", "email"),
        ("machine_learning_curated", "user"),
    ] {
        let sql = format!("SELECT count(*) FROM main.{stage} WHERE \"{column}\" = ?");
        let n: i64 = conn.query_row(&sql, [&email], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{stage} in the cache holds no row of the erased customer");
    }
    let n: i64 =
        conn.query_row("SELECT count(*) FROM main.customer_landing WHERE email = ?", [&email], |r| r.get(0)).unwrap();
    assert!(n > 0, "the landing rows are still there (the check above looked at the right cache)");
}

/// `cache clear` finds a cache chosen by STEDI_TUI_CACHE (as the runs do), and refuses to delete
/// one another stedi-tui holds open; `forget` deletes the cache wherever it may be for the data
/// folder: the default folder and the one chosen with --cache (src/cli.rs, `run_cache`, `run_forget`).
#[test]
fn cache_clear_follows_the_environment_and_spares_a_held_cache_and_forget_clears_every_folder() {
    let (dir, data) = sample_copy();
    let home = dir.path();

    // STEDI_TUI_CACHE=DIR: the run puts the cache there, `cache clear` removes it from there.
    let env_folder = dir.path().join("env-cache");
    let env_file = env_folder.join("cache.duckdb");
    let out =
        stedi(home).env("STEDI_TUI_CACHE", &env_folder).args(["--check", "--quiet", "--data"]).arg(&data).output();
    assert_eq!(out.unwrap().status.code(), Some(0));
    assert!(env_file.is_file());
    let info = stedi(home).env("STEDI_TUI_CACHE", &env_folder).args(["cache", "info", "--data"]).arg(&data).output();
    assert!(String::from_utf8_lossy(&info.unwrap().stdout).contains(env_file.to_str().unwrap()));
    let out = stedi(home).env("STEDI_TUI_CACHE", &env_folder).args(["cache", "clear", "--data"]).arg(&data).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!env_file.exists(), "cache clear removes the cache STEDI_TUI_CACHE chose");

    // A cache another process holds: refused, with one line, and left as it is.
    check(home, &data, &[]);
    let file = cache_file(&data);
    let size = fs::metadata(&file).unwrap().len();
    let holder = hold(&file);
    let out = stedi(home).args(["cache", "clear", "--data"]).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("in use") && stderr.contains(file.to_str().unwrap()), "{stderr}");
    assert_eq!(fs::metadata(&file).unwrap().len(), size, "the held cache is left as it is");
    drop(holder);
    let out = stedi(home).args(["cache", "clear", "--data"]).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!file.exists(), "cleared once nobody holds it");

    // forget --cache DIR: that cache and the default one both go.
    let chosen = dir.path().join("chosen-cache");
    check(home, &data, &[]);
    check(home, &data, &["--cache", chosen.to_str().unwrap()]);
    let chosen_file = chosen.join("cache.duckdb");
    assert!(file.is_file() && chosen_file.is_file());
    let out = stedi(home)
        .args(["forget", "nobody@example.com", "--data"])
        .arg(&data)
        .args(["--cache", chosen.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!file.exists(), "forget removes the default cache too");
    assert!(!chosen_file.exists(), "forget removes the chosen cache");
}

// ---------------------------------------------------------------------------------------------
// Stages and checks are reused by their SQL.

fn append_to(path: &Path, sql: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(!text.trim_end().ends_with(';'), "{} ends in a WHERE clause", path.display());
    fs::write(path, text.trim_end().to_string() + sql + "\n").unwrap();
}

/// Run with the cache and without, over `queries`; they must agree.
fn cached_and_cold_with(step: &str, data: &Path, queries: &Path) -> Run {
    let cached = run_engine(data, queries, CacheChoice::Auto);
    let cold = run_engine(data, queries, CacheChoice::Off);
    assert_same(step, &cached, &cold);
    cached
}

fn reused_checks(run: &Run) -> Vec<&str> {
    run.check_reused.iter().filter(|(_, r)| **r).map(|(id, _)| id.as_str()).collect()
}

#[test]
fn stages_and_checks_are_rebuilt_when_their_sql_or_what_it_reads_changes() {
    let (dir, data) = sample_copy();
    let queries = dir.path().join("queries");
    common::copy_tree(&common::queries_dir(), &queries);
    let first = cached_and_cold_with("first run", &data, &queries);
    assert_eq!(first.stats.stages_built, STAGES.len());

    // A stage late in the chain: it and what reads it, nothing before it.
    append_to(&queries.join("trusted/step_trainer_trusted.sql"), "\n  AND 1 = 1");
    let run = cached_and_cold_with("step_trainer_trusted edited", &data, &queries);
    assert_eq!(run.stats.files_parsed, 0);
    assert_eq!(rebuilt_stages(&first, &run), ["step_trainer_trusted", "machine_learning_curated"]);
    for id in
        ["consent_leak.step_trainer_trusted", "consent_leak.machine_learning_curated", "duplicate.step_trainer_trusted"]
    {
        assert!(!run.check_reused[id], "{id} reads an edited stage");
    }
    for id in [
        "consent_leak.customer_trusted",
        "consent_leak.accelerometer_trusted",
        "consent_leak.customer_curated",
        "orphan.step_trainer_landing",
        "duplicate.step_trainer_landing",
        "rejected.step_trainer_landing",
    ] {
        assert!(run.check_reused[id], "{id} reads nothing edited");
    }

    // The first stage: every stage reads it, directly or not; landing-only checks are reused.
    append_to(&queries.join("trusted/customer_trusted.sql"), "\n  AND 1 = 1");
    let edited = cached_and_cold_with("customer_trusted edited", &data, &queries);
    assert_eq!(rebuilt_stages(&run, &edited), STAGES);
    let landing_only = [
        "duplicate_key.customer_landing",
        "invalid_consent.customer_landing",
        "orphan.accelerometer_landing",
        "orphan.step_trainer_landing",
        "duplicate.customer_landing",
        "duplicate.accelerometer_landing",
        "duplicate.step_trainer_landing",
        "rejected.customer_landing",
        "rejected.accelerometer_landing",
        "rejected.step_trainer_landing",
    ];
    let mut expected = landing_only.to_vec();
    expected.sort();
    assert_eq!(reused_checks(&edited), expected, "only the checks of landing tables alone are reused");

    // A reference view the checks read (no rubric stage does): the checks that read it run again,
    // every stage is reused.
    append_to(&queries.join("reference/consent_by_email.sql"), "\n  AND 1 = 1");
    let view = cached_and_cold_with("consent_by_email edited", &data, &queries);
    assert_eq!(rebuilt_stages(&edited, &view), Vec::<&str>::new());
    assert_eq!(view.stats.stages_reused, STAGES.len());
    // consent_leak.step_trainer_trusted reads it through consent_by_serial: a device follows its owner's consent.
    for id in [
        "consent_leak.customer_trusted",
        "pre_consent.accelerometer_trusted",
        "consent_leak.machine_learning_curated",
        "consent_leak.step_trainer_trusted",
    ] {
        assert!(!view.check_reused[id], "{id} reads consent_by_email");
    }
    for id in ["orphan.accelerometer_landing", "orphan.step_trainer_landing", "duplicate.customer_trusted"] {
        assert!(view.check_reused[id], "{id} does not read consent_by_email");
    }

    // One check's SQL: only it runs again.
    append_to(&queries.join("checks/orphan.step_trainer_landing.sql"), "\n  AND 1 = 1");
    let one = cached_and_cold_with("one check edited", &data, &queries);
    assert_eq!(one.stats.stages_reused, STAGES.len());
    assert_eq!(one.stats.checks_run, 1, "{:?}", one.stats);
    assert!(!one.check_reused["orphan.step_trainer_landing"]);
}

fn write_check(queries: &Path, id: &str, sql: &str) {
    let text = format!("-- id: {id}\n-- severity: warn\n-- description: {id}\n{sql}\n");
    fs::write(queries.join("checks").join(format!("{id}.sql")), text).unwrap();
}

/// What the lineage cannot see by names alone: a quote inside a backquoted name (which used to
/// start a string that hid the rest of the SQL), files read by a table function, and volatile
/// functions. Each check must follow its inputs (src/engine/lineage.rs, `Lineage::of_sql`).
#[test]
fn checks_that_read_past_a_backquoted_quote_files_or_the_clock_are_not_reused_stale() {
    let (dir, data) = sample_copy();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for f in landing_files(&data) {
        set_mtime(&f, hour_ago);
    }
    let queries = dir.path().join("queries");
    common::copy_tree(&common::queries_dir(), &queries);
    write_check(&queries, "quoted.accelerometer_trusted", "SELECT x AS `it's` FROM accelerometer_trusted");
    let listing = format!("SELECT file FROM glob('{}/customer/landing/*')", data.display());
    write_check(&queries, "files.customer_landing", &listing);
    write_check(&queries, "clock.customer_landing", "SELECT * FROM customer_landing WHERE epoch_ms(now()) < 0");
    let first = cached_and_cold_with("first run", &data, &queries);
    assert!(first.checks["files.customer_landing"].0 > 0, "the file list check lists files");

    // Nothing changed: the file reader and the clock run again, the rest is reused.
    let same = cached_and_cold_with("no change", &data, &queries);
    assert!(same.check_reused["quoted.accelerometer_trusted"]);
    assert!(!same.check_reused["files.customer_landing"], "files no fingerprint covers: never reused");
    assert!(!same.check_reused["clock.customer_landing"], "now(): never reused");

    // The stage the backquoted check reads changes: it runs again (a stale result would differ
    // from the cold run's, which cached_and_cold_with compares).
    let cold = run_engine(&data, &queries, CacheChoice::Off);
    edit_trusted_reading(&data, &cold);
    let edited = cached_and_cold_with("a trusted reading edited", &data, &queries);
    assert!(!edited.check_reused["quoted.accelerometer_trusted"], "it reads accelerometer_trusted");

    // A file that is no landing file: no table changes, the file list does.
    fs::write(data.join("customer/landing/notes.txt"), "not a landing file").unwrap();
    let listed = cached_and_cold_with("a file added that no table reads", &data, &queries);
    assert_eq!(listed.stats.files_parsed, 0);
    assert_eq!(listed.checks["files.customer_landing"].0, first.checks["files.customer_landing"].0 + 1);
}

/// A reference view that reads a stage (possible once the cache holds the stage's table: DuckDB
/// binds a view when it is made) follows that stage: a check reading the view is run again when
/// the stage changes (src/engine/pipeline.rs: the views' fingerprints are set at load time, before
/// any stage has one, and again after each stage a view reads).
#[test]
fn a_check_reading_a_reference_view_over_a_stage_follows_the_stage() {
    let (dir, data) = sample_copy();
    let queries = dir.path().join("queries");
    common::copy_tree(&common::queries_dir(), &queries);
    run_engine(&data, &queries, CacheChoice::Auto);
    // Now the cache holds customer_trusted, a view over it can be made at load time.
    fs::write(queries.join("reference/trusted_emails.sql"), "SELECT email FROM customer_trusted\n").unwrap();
    write_check(&queries, "via_view.customer_trusted", "SELECT * FROM trusted_emails");
    write_check(&queries, "direct.customer_trusted", "SELECT email FROM customer_trusted");
    let with_view = run_engine(&data, &queries, CacheChoice::Auto);
    assert_eq!(with_view.checks["via_view.customer_trusted"], with_view.checks["direct.customer_trusted"]);

    // One more consenting customer: customer_trusted changes, and so does what the view shows.
    let record = files_of(&data, "customer")
        .iter()
        .flat_map(|f| fs::read_to_string(f).unwrap().lines().map(String::from).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .find(|r| r["shareWithResearchAsOfDate"].is_i64())
        .expect("a consenting customer");
    let mut extra = record.clone();
    extra["email"] = Value::from(format!("extra.{}", record["email"].as_str().unwrap()));
    fs::write(data.join("customer/landing/customer-extra.json"), extra.to_string() + "\n").unwrap();
    let after = run_engine(&data, &queries, CacheChoice::Auto);
    let (direct, via_view) = (&after.checks["direct.customer_trusted"], &after.checks["via_view.customer_trusted"]);
    assert_eq!(direct.0, with_view.checks["direct.customer_trusted"].0 + 1, "the new customer is trusted");
    assert!(!after.check_reused["via_view.customer_trusted"], "the view reads a stage that changed");
    assert_eq!(via_view, direct, "the check through the view sees the stage as it is now");
}
