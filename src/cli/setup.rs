//! Commands that set a user up rather than run the pipeline: `init` (an editable copy of the SQL
//! to start a project from), `completions`, `man`, and `--version`.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, CliError};
use crate::engine::{EngineError, QuerySource};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project folder: DIR/queries/ (every SQL file, with its header comments), DIR/README.md
    /// and DIR/expect.json are written there
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

const PROJECT_README: &str = "\
# STEDI checks, as SQL you own

Made by `stedi-tui init`. Run them with `stedi-tui --check --queries queries --data DATA`
(or set `STEDI_TUI_QUERIES` to this `queries/` folder); without `--queries` stedi-tui uses the
copy built into it. Every report says which SQL ran and its SHA-256.

- `queries/landing/`: the landing tables' declared types (a record that does not fit is rejected).
- `queries/reference/`: views the stages and checks share: who each customer is, who consents.
- `queries/trusted/`, `queries/curated/`: the rubric stages, one SELECT per zone table.
- `queries/strict/`: the strict mode's stages (`--mode strict`).
- `queries/checks/`: one SELECT per check, returning the failing rows; `-- id:` and `-- severity:`.
- `queries/diff/`, `queries/erasure/`: what `stedi-tui diff` and `stedi-tui forget` run.
- `expect.json`: row counts for `--expect expect.json` (these are the counts the original project's
  grading expects of the public STEDI data; put your own data's counts here).
";

/// The row counts the original project's grading expects of the public STEDI data.
const EXAMPLE_EXPECT: &str = r#"{
  "customer_landing": 956,
  "accelerometer_landing": 81273,
  "step_trainer_landing": 28680,
  "customer_trusted": 482,
  "accelerometer_trusted": 40981,
  "step_trainer_trusted": 14460,
  "customer_curated": 482,
  "machine_learning_curated": 43681
}
"#;

/// `stedi-tui init DIR`: the built-in SQL, a README and an example `--expect` file, and nothing
/// else. Refuses (exit 2, naming them) to overwrite files that exist, unless `--force`.
pub fn run_init(args: &InitArgs) -> Result<i32, CliError> {
    let sql = QuerySource::BuiltIn.read()?;
    let mut files: Vec<(PathBuf, &str)> =
        sql.iter().map(|(rel, text)| (args.dir.join("queries").join(rel), text)).collect();
    files.push((args.dir.join("README.md"), PROJECT_README));
    files.push((args.dir.join("expect.json"), EXAMPLE_EXPECT));
    if !args.force {
        let existing: Vec<String> =
            files.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
        if !existing.is_empty() {
            let more = match existing.len() {
                n if n > 5 => format!(" and {} more", n - 5),
                _ => String::new(),
            };
            return Err(CliError(format!(
                "init: would overwrite {}{more} (--force overwrites them)",
                existing.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    for (path, text) in &files {
        let parent = path.parent().expect("a file inside DIR");
        fs::create_dir_all(parent).map_err(|e| EngineError::input(parent, format!("cannot create: {e}")))?;
        fs::write(path, text).map_err(|e| EngineError::input(path, format!("cannot write: {e}")))?;
    }
    eprintln!(
        "stedi-tui: wrote {} SQL files ({}), README.md and expect.json to {}; run them with --queries {}",
        files.len() - 2,
        sql.describe(),
        args.dir.display(),
        args.dir.join("queries").display()
    );
    Ok(0)
}

pub fn run_completions(args: &CompletionsArgs) -> Result<i32, CliError> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "stedi-tui", &mut out);
    write_all(&out)
}

pub fn run_man() -> Result<i32, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out).map_err(|e| CliError(format!("man: {e}")))?;
    write_all(&out)
}

fn write_all(bytes: &[u8]) -> Result<i32, CliError> {
    std::io::stdout().lock().write_all(bytes).map_err(|e| CliError(format!("stdout: {e}")))?;
    Ok(0)
}

/// `--version`: the tool, the DuckDB built into it, and the SQL this invocation would run.
pub fn run_version(queries: Option<&Path>) -> Result<i32, CliError> {
    let duckdb = duckdb::Connection::open_in_memory()
        .and_then(|c| c.query_row("SELECT version()", [], |r| r.get::<_, String>(0)))
        .map_err(|e| CliError(format!("duckdb: {e}")))?;
    let sql = match QuerySource::choose(queries).read() {
        Ok(files) => files.describe(),
        Err(e) => format!("{} (unreadable: {e})", QuerySource::choose(queries)),
    };
    let text = format!("stedi-tui {}\nduckdb {duckdb}\nsql {sql}\n", env!("CARGO_PKG_VERSION"));
    write_all(text.as_bytes())
}
