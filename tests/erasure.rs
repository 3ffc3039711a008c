//! Erasure reaches every copy or says where it could not: `forget` removes every cache a data
//! folder has used (recorded in the user's registry, even when not named again) and reports, one
//! line each, the exports recorded for it that still hold the customer's rows, counted in their
//! Parquet files. Every test has its own user cache folder (XDG_CACHE_HOME) in a temp folder.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

const KEY: &str = "a-pseudonym-key-for-tests-only";

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    xdg: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let data = root.join("data");
    common::copy_tree(&common::project_root().join("sample_data"), &data);
    let xdg = root.join("xdg");
    Setup { _dir: dir, root, data, xdg }
}

impl Setup {
    /// The binary from `/` (no checkout around it), with this test's user cache folder.
    fn stedi(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
        cmd.current_dir(&self.root)
            .env_remove("STEDI_TUI_CACHE")
            .env("XDG_CACHE_HOME", &self.xdg)
            .env("STEDI_PSEUDONYM_KEY", KEY);
        let out = cmd.args(args).arg("--queries").arg(common::queries_dir()).output().unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn data(&self) -> &str {
        self.data.to_str().unwrap()
    }

    fn registry(&self) -> PathBuf {
        self.xdg.join("stedi-tui").join("registry.json")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The first customer who consented, as written in the landing data.
fn consenting_email(data: &Path) -> String {
    let mut files: Vec<PathBuf> =
        fs::read_dir(data.join("customer/landing")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        for line in fs::read_to_string(file).unwrap().lines() {
            let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if record["shareWithResearchAsOfDate"].is_number() {
                if let Some(email) = record["email"].as_str() {
                    return email.to_string();
                }
            }
        }
    }
    panic!("no consenting customer in the sample data");
}

/// forget's table: the customer's rows of the trusted and curated tables, (rubric, strict).
fn zone_rows(stdout: &str) -> (u64, u64) {
    let mut sums = (0, 0);
    for line in stdout.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() == 4 && (cells[0] == "trusted" || cells[0] == "curated") {
            sums.0 += cells[2].replace(',', "").parse::<u64>().unwrap();
            sums.1 += cells[3].replace(',', "").parse::<u64>().unwrap();
        }
    }
    sums
}

/// The one line of `stderr` about the export `out`.
fn line_about(stderr: &str, out: &Path) -> String {
    let needle = format!("export {} ", out.display());
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&needle)).collect();
    assert_eq!(lines.len(), 1, "one line about {}: {stderr}", out.display());
    lines[0].to_string()
}

#[test]
fn forget_removes_every_cache_the_data_used_and_names_every_export_that_still_holds_the_customer() {
    let s = setup();
    let email = consenting_email(&s.data);
    let (cache_a, cache_b) = (s.root.join("cache-a"), s.root.join("cache-b"));
    s.stedi(&["--check", "--quiet", "--data", s.data()]);
    s.stedi(&["--check", "--quiet", "--data", s.data(), "--cache", cache_a.to_str().unwrap()]);
    s.stedi(&["--check", "--quiet", "--data", s.data(), "--cache", cache_b.to_str().unwrap()]);
    let (rubric_out, strict_out) = (s.root.join("exports/rubric"), s.root.join("exports/strict 'quoted'"));
    fs::create_dir_all(s.root.join("exports")).unwrap();
    s.stedi(&["export", "--quiet", "--force", "--data", s.data(), "--out", rubric_out.to_str().unwrap()]);
    s.stedi(&[
        "export",
        "--quiet",
        "--force",
        "--mode",
        "strict",
        "--data",
        s.data(),
        "--out",
        strict_out.to_str().unwrap(),
    ]);
    // An export of another data folder is not this data's copy.
    let other = s.root.join("other-data");
    common::copy_tree(&s.data, &other);
    let other_out = s.root.join("exports/other");
    s.stedi(&["export", "--quiet", "--force", "--data", other.to_str().unwrap(), "--out", other_out.to_str().unwrap()]);

    // The registry: owner-only, paths only (no personal value of the input).
    let registry = fs::read_to_string(s.registry()).unwrap();
    assert!(!registry.to_lowercase().contains(&email.to_lowercase()), "{registry}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(s.registry()).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(s.registry().parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }

    // forget, naming no cache: every one of them goes.
    let forget = s.stedi(&["forget", &email, "--data", s.data()]);
    let (err, stdout) = (stderr(&forget), String::from_utf8_lossy(&forget.stdout).into_owned());
    for file in [s.data.join(".stedi/cache.duckdb"), cache_a.join("cache.duckdb"), cache_b.join("cache.duckdb")] {
        assert!(!file.exists(), "{} removed: {err}", file.display());
        assert!(err.contains(&format!("removed the cache ({})", file.display())), "{err}");
    }
    // Each export of this data: one line, the customer's rows counted in its Parquet, which must
    // be what the pipeline held for them in that mode (the stdout table, before erasure).
    let (rubric_rows, strict_rows) = zone_rows(&stdout);
    assert!(rubric_rows > 0 && strict_rows > 0, "the customer has trusted rows: {stdout}");
    let line = line_about(&err, &rubric_out);
    assert!(line.contains(&format!("still holds {rubric_rows} rows of ")), "{line}");
    let forced = |out: &Path| {
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join("_manifest.json")).unwrap()).unwrap();
        if manifest["forced"].as_bool().unwrap() {
            " --force"
        } else {
            ""
        }
    };
    let command = format!("stedi-tui export --data {} --out {}{}", s.data(), rubric_out.display(), forced(&rubric_out));
    assert!(line.ends_with(&command), "{line}");
    let line = line_about(&err, &strict_out);
    assert!(line.contains(&format!("still holds {strict_rows} rows of ")), "{line}");
    assert!(
        line.contains(&format!("--mode strict{} (with the same STEDI_PSEUDONYM_KEY)", forced(&strict_out))),
        "{line}"
    );
    assert!(line.contains("'") && line.contains("'\\''quoted'\\'''"), "the path is one shell word: {line}");
    assert!(!err.contains(&other_out.display().to_string()), "another data's export is not listed: {err}");
    assert!(!format!("{err}{stdout}").to_lowercase().contains(&email.to_lowercase()), "the email is masked: {err}");

    // Made again as the line says, the export holds none of their rows; a removed one is
    // reported gone once, then no longer recorded.
    s.stedi(&["export", "--quiet", "--force", "--data", s.data(), "--out", rubric_out.to_str().unwrap()]);
    fs::remove_dir_all(&strict_out).unwrap();
    let err = stderr(&s.stedi(&["forget", &email, "--data", s.data()]));
    assert!(line_about(&err, &rubric_out).ends_with("holds none of their rows"), "{err}");
    assert!(line_about(&err, &strict_out).ends_with("is gone (no longer recorded)"), "{err}");
    let err = stderr(&s.stedi(&["forget", &email, "--data", s.data()]));
    assert!(!err.contains(&strict_out.display().to_string()), "{err}");
    let registry = fs::read_to_string(s.registry()).unwrap();
    assert!(!registry.contains("strict"), "{registry}");
    assert!(registry.contains(rubric_out.to_str().unwrap()) && registry.contains(other_out.to_str().unwrap()));
}

#[test]
fn an_export_whose_manifest_is_not_readable_is_reported_as_possibly_holding_the_customer() {
    let s = setup();
    let email = consenting_email(&s.data);
    let out = s.root.join("export");
    s.stedi(&["export", "--quiet", "--force", "--data", s.data(), "--out", out.to_str().unwrap()]);
    fs::write(out.join("_manifest.json"), "not json").unwrap();
    let err = stderr(&s.stedi(&["forget", &email, "--data", s.data()]));
    let line = line_about(&err, &out);
    assert!(line.contains("could not be checked") && line.contains("it may still hold their rows"), "{line}");
    // Still recorded: the next forget asks again.
    assert!(fs::read_to_string(s.registry()).unwrap().contains(out.to_str().unwrap()));
}

#[test]
fn a_corrupt_registry_is_left_as_it_is_and_every_run_says_what_it_cannot_record() {
    let s = setup();
    let email = consenting_email(&s.data);
    let chosen = s.root.join("chosen");
    fs::create_dir_all(s.registry().parent().unwrap()).unwrap();
    fs::write(s.registry(), "{ half a file").unwrap();

    let check = s.stedi(&["--check", "--quiet", "--data", s.data(), "--cache", chosen.to_str().unwrap()]);
    let err = stderr(&check);
    assert!(err.contains("the registry is corrupt") && err.contains("forget` will not know of the cache"), "{err}");
    let out = s.root.join("export");
    let export = s.stedi(&["export", "--quiet", "--force", "--data", s.data(), "--out", out.to_str().unwrap()]);
    assert!(stderr(&export).contains("will not know of this export"), "{}", stderr(&export));

    let forget = s.stedi(&["forget", &email, "--data", s.data(), "--cache", chosen.to_str().unwrap()]);
    let err = stderr(&forget);
    assert_eq!(forget.status.code(), Some(0), "{err}");
    assert!(
        err.contains("the registry is corrupt") && err.contains("caches and exports recorded there were not reached"),
        "{err}"
    );
    assert!(!chosen.join("cache.duckdb").exists(), "the cache named now still goes");
    assert_eq!(fs::read_to_string(s.registry()).unwrap(), "{ half a file", "never overwritten");
}

#[test]
fn parallel_runs_each_leave_their_cache_in_the_registry() {
    let s = setup();
    let dirs: Vec<PathBuf> = (0..4).map(|i| s.root.join(format!("cache-{i}"))).collect();
    std::thread::scope(|scope| {
        for dir in &dirs {
            let s = &s;
            scope.spawn(move || s.stedi(&["--check", "--quiet", "--data", s.data(), "--cache", dir.to_str().unwrap()]));
        }
    });
    let registry = fs::read_to_string(s.registry()).unwrap();
    for dir in &dirs {
        assert!(registry.contains(dir.to_str().unwrap()), "{} recorded: {registry}", dir.display());
    }
}
