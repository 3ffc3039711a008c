//! A tool, not a checkout: the binary copied out of the build, run from a folder with no
//! `queries/` anywhere near it, uses the SQL built into it; `init` starts a project whose edited
//! SQL takes effect; every report names the SQL that ran and its hash; the CI jobs README gives
//! run as written. STEDI_TUI_QUERIES (which this checkout's .cargo/config.toml sets) is removed
//! wherever the built-in copy is meant.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary, copied into a temp folder with nothing else, and a separate folder to run it in.
struct Installed {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    work: PathBuf,
}

fn installed() -> Installed {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    let work = dir.path().join("work");
    fs::create_dir_all(&bin_dir).unwrap();
    fs::create_dir_all(&work).unwrap();
    let bin = bin_dir.join("stedi-tui");
    fs::copy(env!("CARGO_BIN_EXE_stedi-tui"), &bin).unwrap();
    // Once one exec has worked, no child forked during the copy holds it any more (see `output`).
    output(Command::new(&bin).arg("--version"));
    Installed { _dir: dir, bin, work }
}

impl Installed {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.work)
            .env_remove("STEDI_TUI_QUERIES")
            .env_remove("STEDI_TUI_CACHE")
            .env("XDG_CACHE_HOME", self.work.join(".xdg"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        output(self.command().args(args))
    }

    /// `--check --format json` on `data` (with `--no-cache`, so runs are independent).
    fn report(&self, data: &Path, extra: &[&str]) -> Value {
        let mut args = vec!["--check", "--format", "json", "--no-cache", "--quiet", "--data", data.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert!(out.status.code().is_some_and(|c| c < 2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Run `cmd`. The binary was just copied: a test thread that forks meanwhile holds the copy's
/// write handle until its child execs, and exec then fails with ETXTBSY; that passes in moments.
fn output(cmd: &mut Command) -> Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("{cmd:?}: the binary stayed busy");
}

/// The real data if CI gave it, else a copy of the sample data.
fn data_set(into: &Path) -> (PathBuf, bool) {
    match std::env::var_os("STEDI_REAL_DATA") {
        Some(dir) => (PathBuf::from(dir), true),
        None => {
            let copy = into.join("data");
            common::copy_tree(&common::project_root().join("sample_data"), &copy);
            (copy, false)
        }
    }
}

fn rows(report: &Value) -> Vec<(String, u64)> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["rows"].as_u64().unwrap()))
        .collect()
}

/// Tables and check results without times, cache figures or the SQL's origin.
fn results(report: &Value) -> Value {
    let checks: Vec<Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::json!([c["id"], c["status"], c["failing_rows"], c["sample"]]))
        .collect();
    serde_json::json!({ "tables": rows(report), "checks": checks })
}

const REAL_COUNTS: [(&str, u64); 8] = [
    ("customer_landing", 956),
    ("accelerometer_landing", 81_273),
    ("step_trainer_landing", 28_680),
    ("customer_trusted", 482),
    ("accelerometer_trusted", 40_981),
    ("step_trainer_trusted", 14_460),
    ("customer_curated", 482),
    ("machine_learning_curated", 43_681),
];

#[test]
fn the_copied_binary_runs_from_a_folder_without_queries_on_the_built_in_sql() {
    let app = installed();
    let (data, real) = data_set(&app.work);
    assert!(!app.work.join("queries").exists() && !app.bin.parent().unwrap().join("queries").exists());
    let report = app.report(&data, &[]);
    assert_eq!(report["sql"]["origin"], "built-in", "{}", report["sql"]);
    assert!(report["sql"].get("folder").is_none());
    if real {
        let rows = rows(&report);
        for (table, expected) in REAL_COUNTS {
            let got = rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
            assert_eq!(got, Some(expected), "{table}");
        }
    }
    // The built-in copy is the checkout's queries/, byte for byte: the same hash and results.
    let folder = app.report(&data, &["--queries", common::queries_dir().to_str().unwrap()]);
    assert_eq!(folder["sql"]["origin"], "folder");
    assert_eq!(folder["sql"]["sha256"], report["sql"]["sha256"]);
    assert_eq!(results(&folder), results(&report));

    // --version names the tool, DuckDB and the SQL.
    let version = String::from_utf8(app.run(&["--version"]).stdout).unwrap();
    let lines: Vec<&str> = version.lines().collect();
    assert_eq!(lines.len(), 3, "{version}");
    assert!(lines[0].starts_with("stedi-tui ") && lines[1].starts_with("duckdb v"), "{version}");
    let hash = report["sql"]["sha256"].as_str().unwrap();
    assert_eq!(lines[2], format!("sql built-in sha256:{}", &hash[..12]));
}

#[test]
fn init_writes_an_editable_project_whose_edits_change_the_result_and_the_hash() {
    let app = installed();
    let (data, _) = data_set(&app.work);
    let project = app.work.join("project");
    let out = app.run(&["init", project.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Every built-in file (header comments included), a README, an example --expect, nothing else.
    let written: Vec<PathBuf> = walkdir::WalkDir::new(&project)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&project).unwrap().to_path_buf())
        .collect();
    let shipped: Vec<PathBuf> = walkdir::WalkDir::new(common::queries_dir())
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "sql"))
        .map(|e| Path::new("queries").join(e.path().strip_prefix(common::queries_dir()).unwrap()))
        .collect();
    assert_eq!(written.len(), shipped.len() + 2, "{written:?}");
    for file in &shipped {
        let copy = fs::read_to_string(project.join(file)).unwrap();
        assert_eq!(copy, fs::read_to_string(common::project_root().join(file)).unwrap(), "{}", file.display());
    }
    assert!(project.join("README.md").is_file());
    let expect: Value = serde_json::from_str(&fs::read_to_string(project.join("expect.json")).unwrap()).unwrap();
    assert_eq!(expect["machine_learning_curated"], 43_681);

    let queries = project.join("queries");
    let built_in = app.report(&data, &[]);
    let copy = app.report(&data, &["--queries", queries.to_str().unwrap()]);
    assert_eq!(copy["sql"]["sha256"], built_in["sql"]["sha256"], "an untouched copy is the built-in SQL");
    assert_eq!(copy["sql"]["folder"], queries.canonicalize().unwrap().to_str().unwrap());

    // One byte more (a space in a comment) is another hash, with the same results.
    let check = queries.join("checks/duplicate.sql");
    let text = fs::read_to_string(&check).unwrap();
    fs::write(&check, format!("{text} ")).unwrap();
    let spaced = app.report(&data, &["--queries", queries.to_str().unwrap()]);
    assert_ne!(spaced["sql"]["sha256"], built_in["sql"]["sha256"]);
    assert_eq!(results(&spaced), results(&built_in));

    // An edited stage changes the result: customer_trusted that keeps nobody.
    let stage = queries.join("trusted/customer_trusted.sql");
    let sql = fs::read_to_string(&stage).unwrap();
    fs::write(&stage, format!("SELECT * FROM ({}) WHERE false", sql.trim_end().trim_end_matches(';'))).unwrap();
    let edited = app.report(&data, &["--queries", queries.to_str().unwrap()]);
    let trusted = rows(&edited).into_iter().find(|(t, _)| t == "customer_trusted").unwrap().1;
    assert_eq!(trusted, 0, "the edited stage ran");
    // STEDI_TUI_QUERIES does the same as --queries.
    let out = app
        .command()
        .env("STEDI_TUI_QUERIES", &queries)
        .args(["--check", "--format", "json", "--no-cache", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let via_env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_env["sql"], edited["sql"]);

    // init again: refused, exit 2, naming files; the edit survives; --force overwrites.
    let out = app.run(&["init", project.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("would overwrite") && err.contains(" more (--force overwrites them)"), "{err}");
    assert!(fs::read_to_string(&stage).unwrap().contains("WHERE false"));
    let out = app.run(&["init", "--force", project.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fs::read_to_string(&stage).unwrap(),
        fs::read_to_string(common::queries_dir().join("trusted/customer_trusted.sql")).unwrap()
    );
}

#[test]
fn a_misspelt_header_key_or_an_incomplete_queries_folder_is_one_line_naming_file_and_line() {
    let app = installed();
    let (data, _) = data_set(&app.work);
    let project = app.work.join("project");
    assert!(app.run(&["init", project.to_str().unwrap()]).status.success());
    let queries = project.join("queries");
    let check = queries.join("checks/duplicate.sql");
    let text = fs::read_to_string(&check).unwrap();
    let line = text.lines().position(|l| l.starts_with("-- severity:")).unwrap() + 1;
    fs::write(&check, text.replace("-- severity:", "-- severty:")).unwrap();
    let one_line = |args: &[&str], needles: &[&str]| {
        let out = app.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} in {err}");
        }
    };
    let q = queries.to_str().unwrap();
    let d = data.to_str().unwrap();
    one_line(
        &["--check", "--data", d, "--queries", q],
        &[check.to_str().unwrap(), &format!("line {line}"), "unknown header key \"severty\""],
    );
    // The same parse for every command: diff, forget, emit.
    one_line(&["diff", "--data", d, "--queries", q], &["severty"]);
    one_line(&["emit", "glue", "--out", app.work.join("glue").to_str().unwrap(), "--queries", q], &["severty"]);
    fs::write(&check, text).unwrap();

    fs::remove_dir_all(queries.join("checks")).unwrap();
    fs::remove_dir_all(queries.join("reference")).unwrap();
    one_line(&["--check", "--data", d, "--queries", q], &["lacks reference/, checks/", "stedi-tui init"]);
    // A data folder that is not one: what was expected and what is there.
    let wrong = app.work.join("wrong");
    fs::create_dir_all(wrong.join("customers")).unwrap();
    one_line(
        &["--check", "--data", wrong.to_str().unwrap()],
        &["expected accelerometer/landing/, customer/landing/, step_trainer/landing/", "found customers/"],
    );
}

#[test]
fn completions_and_the_man_page_are_written_for_every_command() {
    let app = installed();
    for shell in ["bash", "zsh", "fish"] {
        let out = app.run(&["completions", shell]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for command in ["forget", "export", "init", "queries", "show-pii"] {
            assert!(text.contains(command), "{shell} completes {command}");
        }
    }
    let man = String::from_utf8(app.run(&["man"]).stdout).unwrap();
    assert!(man.starts_with(".ie") && man.contains(".TH stedi-tui 1") && man.contains("forget"), "{}", &man[..200]);
}

/// The GitHub Actions and GitLab CI jobs README gives: each file is in README verbatim, and its
/// check step, run by bash as written (with the binary on PATH), exits 0 on passing data, 1 on a
/// consent leak, with a JUnit report either way.
#[test]
fn the_ci_jobs_in_readme_run_as_written() {
    let readme = fs::read_to_string(common::project_root().join("README.md")).unwrap();
    let app = installed();
    let (data, _) = data_set(&app.work);
    // A copy of the SQL whose customer_trusted keeps everyone: a consent leak.
    let leaky = app.work.join("leaky");
    assert!(app.run(&["init", leaky.to_str().unwrap()]).status.success());
    fs::write(leaky.join("queries/trusted/customer_trusted.sql"), "SELECT * FROM customer_landing").unwrap();
    for file in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = fs::read_to_string(common::project_root().join("examples/ci").join(file)).unwrap();
        assert!(readme.contains(&text), "README.md holds examples/ci/{file} verbatim");
        let start = text.find("# >>> stedi-tui check").expect("start marker");
        let end = text.find("# <<< stedi-tui check").expect("end marker");
        let script: String = text[start..end].lines().map(|l| l.trim_start()).collect::<Vec<_>>().join("\n");
        for (queries, expected) in [(None, 0), (Some(leaky.join("queries")), 1)] {
            let job = tempfile::tempdir().unwrap();
            let mut cmd = Command::new("bash");
            cmd.arg("-c").arg(&script).current_dir(job.path());
            cmd.env("PATH", format!("{}:{}", app.bin.parent().unwrap().display(), std::env::var("PATH").unwrap()));
            cmd.env("HOME", job.path()).env("STEDI_DATA", &data).env_remove("STEDI_TUI_QUERIES");
            if let Some(q) = &queries {
                cmd.env("STEDI_TUI_QUERIES", q);
            }
            let out = cmd.output().unwrap();
            let report = fs::read_to_string(job.path().join("report.xml")).unwrap_or_default();
            assert_eq!(out.status.code(), Some(expected), "{file}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(report.contains("<testsuite") && report.contains("consent_leak.customer_trusted"), "{file}");
            if expected == 1 {
                assert!(report.contains("<failure"), "{file}");
            }
        }
    }
}
