//! Validated records never touch the temp folder: while a run validates customer records (bad
//! ones included), nothing but the engine's own owner-only spill folder appears in TMPDIR, a file
//! planted where older builds wrote their scratch files (`stedi-tui-<pid>-<n>.ndjson`) receives
//! nothing, and the spill folder is gone when the engine is. One test alone in this binary: it
//! points the process's TMPDIR at a fresh folder, which no other test may share.
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use stedi_tui::engine::{generate, GenerateOptions};
use stedi_tui::engine::{CheckOptions, Engine, EngineOptions};

/// Everything under `dir` (relative path, whether a folder, permission bits).
fn listing(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path().strip_prefix(dir).unwrap().to_path_buf(), meta.is_dir(), meta.permissions().mode() & 0o777))
        })
        .collect()
}

#[test]
fn validating_writes_nothing_to_the_temp_folder_and_its_spill_folder_is_private_and_goes() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut generated = GenerateOptions::new(&data, 400, 3);
    generated.readings = 4;
    generate(&generated).unwrap();
    let customers = data.join("customer/landing");
    let files: Vec<PathBuf> = fs::read_dir(&customers).unwrap().map(|e| e.unwrap().path()).collect();
    let records: u64 = files.iter().map(|f| fs::read_to_string(f).unwrap().lines().count() as u64).sum();
    let file = &files[0];
    let mut text = fs::read_to_string(file).unwrap();
    // Two bad records: the file goes through the validator's reject path too.
    text.push_str("{\"email\": \"Bad.Consent@test.com\", \"serialNumber\": \"x\", \"shareWithResearchAsOfDate\": true}\nnot json\n");
    fs::write(file, text).unwrap();

    let tmp = root.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    // Where a build that wrote scratch files would have written this process's records.
    let planted: Vec<PathBuf> =
        (0..4).map(|n| tmp.join(format!("stedi-tui-{}-{n}.ndjson", std::process::id()))).collect();
    for p in &planted {
        fs::write(p, "").unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(0o666)).unwrap();
    }
    let before: BTreeSet<PathBuf> = listing(&tmp).into_iter().map(|(p, _, _)| p).collect();
    // SAFETY of the process-wide change: this binary has this one test, and no thread runs yet.
    std::env::set_var("TMPDIR", &tmp);
    assert_eq!(std::env::temp_dir(), tmp);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, stop, tmp) = (seen.clone(), stop.clone(), tmp.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now = listing(&tmp);
                seen.lock().unwrap().extend(now);
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let mut engine = Engine::open(EngineOptions::new(&data, common::queries_dir())).unwrap();
    engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let stats = engine.table("customer_landing").unwrap().clone();
    drop(engine);
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();

    assert_eq!((stats.rows, stats.rejected), (records, 2), "every record loaded or rejected");
    let seen = seen.lock().unwrap().clone();
    let new: BTreeSet<(PathBuf, bool, u32)> = seen.into_iter().filter(|(p, _, _)| !before.contains(p)).collect();
    assert!(!new.is_empty(), "the watcher saw the spill folder");
    for (path, is_dir, mode) in &new {
        let name = path.to_string_lossy();
        let hex = name.strip_prefix(&format!("stedi-tui-{}-", std::process::id())).unwrap_or("");
        assert!(*is_dir && path.components().count() == 1, "only a folder appears: {name}");
        assert!(hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "a random name: {name}");
        assert_eq!(*mode, 0o700, "{name} is owner-only");
    }
    for p in &planted {
        assert_eq!(fs::metadata(p).unwrap().len(), 0, "{} received nothing", p.display());
    }
    let after: BTreeSet<PathBuf> = listing(&tmp).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(after, before, "the spill folder is gone with the engine; the planted files of a live pid stay");
}
