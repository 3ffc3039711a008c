//! The command line: clap definitions and what each command does with the engine. `main.rs` only
//! maps the outcome to an exit code: 0 clean, 1 an error-severity check failed, 2 bad usage or input.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::cache::{self, CacheChoice};
use crate::engine::emit::{emit_glue, EmitOptions};
use crate::engine::erasure;
use crate::engine::export::{self, ExportError, ExportOptions};
use crate::engine::generate::{generate, GenerateOptions, Injections};
use crate::engine::{CheckOptions, Engine, EngineError, EngineOptions, Mode, PseudonymKey};
use crate::progress::ProgressReporter;
use crate::report::{
    mask_trace, render_diff_text, render_forget_text, render_html, render_junit, render_markdown, render_text,
    render_trace_json, render_trace_text, Evidence, Report,
};

#[derive(Debug, Parser)]
#[command(name = "stedi-tui", version, about = "Explore and validate the STEDI lakehouse on embedded DuckDB")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Landing data: DATA/customer/landing, DATA/accelerometer/landing, DATA/step_trainer/landing
    #[arg(long, value_name = "DIR", default_value = "sample_data")]
    pub data: PathBuf,
    /// The SQL: landing/, reference/, trusted/, curated/, checks/
    #[arg(long, value_name = "DIR", default_value = "queries")]
    pub queries: PathBuf,
    /// DuckDB worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// DuckDB memory limit, e.g. 4GB (default: DuckDB's, 80% of RAM)
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Folder DuckDB spills to when the data outgrows the memory limit (default: the system's temp
    /// folder); a stedi-tui-<pid>-<n> folder inside it, removed at exit
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Keep loaded landing tables, stages and check results in DIR between runs, so unchanged
    /// files are never parsed twice (default: DATA/.stedi/, or the user's cache folder where DATA
    /// is read-only)
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,
    /// Use no cache: parse every file, keep nothing on disk (also STEDI_TUI_CACHE=off; a folder
    /// there is like --cache)
    #[arg(long)]
    pub no_cache: bool,
    /// No progress bar on stderr (it is drawn only when stderr is a terminal anyway)
    #[arg(long)]
    pub quiet: bool,
    /// Stage set: rubric (the original project, flaws included) or strict (queries/strict/; every
    /// check an error; needs a pseudonym key). diff and forget always run both
    #[arg(long, value_enum, default_value = "rubric")]
    pub mode: Mode,
    /// Key of the strict ML table's pseudonyms (16+ characters); prefer the STEDI_PSEUDONYM_KEY
    /// environment variable, which other users cannot see in the process list
    #[arg(long, value_name = "KEY")]
    pub salt: Option<String>,
}

impl SourceArgs {
    /// The engine's options; a pseudonym key that is given but unusable is an error (never echoed).
    pub fn engine_options(&self) -> Result<EngineOptions, CliError> {
        let key = PseudonymKey::from_flag_or_env(self.salt.as_deref()).map_err(CliError)?;
        Ok(EngineOptions {
            data_dir: self.data.clone(),
            queries_dir: self.queries.clone(),
            threads: self.threads,
            memory_limit: self.memory_limit.clone(),
            mode: self.mode,
            pseudonym_key: key,
            temp_dir: self.temp_dir.clone(),
            cache: self.cache_choice(),
        })
    }

    /// `--no-cache`, `--cache DIR`, else STEDI_TUI_CACHE (`off` or a folder), else the default.
    pub fn cache_choice(&self) -> CacheChoice {
        cache_choice(self.cache.as_deref(), self.no_cache)
    }
}

/// `--no-cache`, `--cache DIR`, else STEDI_TUI_CACHE (`off` or a folder), else the default: the
/// one precedence of every command that runs with a cache or deletes one.
pub fn cache_choice(flag: Option<&Path>, no_cache: bool) -> CacheChoice {
    match (flag, no_cache) {
        (_, true) => CacheChoice::Off,
        (Some(dir), false) => CacheChoice::Dir(dir.to_path_buf()),
        (None, false) => match std::env::var_os(cache::CACHE_ENV) {
            Some(v) if v == "off" => CacheChoice::Off,
            Some(v) if !v.is_empty() => CacheChoice::Dir(PathBuf::from(v)),
            _ => CacheChoice::Auto,
        },
    }
}

/// The engine's notices about its cache (rebuilt, unusable), one line each on stderr.
fn print_cache_notices(engine: &Engine) {
    for notice in &engine.cache.notices {
        eprintln!("stedi-tui: cache: {notice}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    /// One self-contained HTML evidence report (pipeline picture, stages, checks, consent chart,
    /// rubric vs strict, provenance)
    Html,
    /// The evidence report as GitHub-flavoured Markdown, under 64 KB (a CI job summary)
    Markdown,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Run without the TUI: load, run the stages and checks, print the report, exit 0/1/2
    #[arg(long)]
    pub check: bool,
    /// Report format for --check
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Every warning counts as an error
    #[arg(long)]
    pub strict: bool,
    /// Show personal fields (emails, names, phones, birthdays) unmasked
    #[arg(long)]
    pub show_pii: bool,
    /// JSON {"table": rows}: add a row_count.<table> check (error) per table
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write deterministic synthetic landing data in the layout of the real STEDI data
    Generate(GenerateArgs),
    /// Write the trusted and curated zones as Parquet (OUT/customer/trusted/, ...) with a manifest
    Export(ExportArgs),
    /// Run both modes and show, table by table, the rows one keeps and the other does not, by reason
    Diff(DiffArgs),
    /// Erase a customer: count their rows in every table of both modes, then add them to
    /// DATA/_erasure_list.json, which every stage honours (the landing files stay untouched)
    Forget(ForgetArgs),
    /// Trace one customer through every zone in both modes: their records in time order, their rows
    /// in every table, what each stage dropped of them, readings before and after their consent
    Trace(TraceArgs),
    /// Write the stages and checks as PySpark jobs for AWS Glue 5.0 / Spark 3.4+ (one per stage, a
    /// landing job, a checks job and run_all.py), running the same SQL files
    Emit(EmitArgs),
    /// The warm-start cache of a data folder: `info` says where it is and what it holds, `clear`
    /// deletes it
    Cache(CacheArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheAction {
    /// Where the cache is, its size and what it holds
    Info,
    /// Delete it (the next run parses every file again)
    Clear,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[arg(value_enum)]
    pub action: CacheAction,
    /// The data folder whose cache it is
    #[arg(long, value_name = "DIR", default_value = "sample_data")]
    pub data: PathBuf,
    /// The cache folder, when it was chosen with --cache (default: STEDI_TUI_CACHE when it names
    /// a folder, else DATA/.stedi/ or the user's cache folder)
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitTarget {
    /// PySpark scripts for AWS Glue (or spark-submit, or python with pyspark installed)
    Glue,
}

#[derive(Debug, Args)]
pub struct EmitArgs {
    #[arg(value_enum)]
    pub target: EmitTarget,
    /// Folder for the scripts; created if missing, a previous emit's scripts replaced
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The SQL: landing/, reference/, trusted/, curated/, checks/
    #[arg(long, value_name = "DIR", default_value = "queries")]
    pub queries: PathBuf,
    /// Stage set of the jobs: rubric or strict (whose jobs need a pseudonym key when they run)
    #[arg(long, value_enum, default_value = "rubric")]
    pub mode: Mode,
    /// The jobs' default --data and --out, e.g. s3://stedi-lakehouse (landing and zones in one bucket)
    #[arg(long, value_name = "URI")]
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The customer's email, exactly as in the customer records
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the email unmasked
    #[arg(long)]
    pub show_pii: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The customer's email (any spelling: compared trimmed and case-folded)
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Show names and emails unmasked
    #[arg(long)]
    pub show_pii: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output folder (DIR/customer/landing, ...); created if missing
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of customers
    #[arg(long, value_name = "N", conflicts_with = "scale")]
    pub customers: Option<usize>,
    /// Size relative to the real data: 1 = 956 customers, ~81k accelerometer readings
    #[arg(long, value_name = "F")]
    pub scale: Option<f64>,
    /// Random seed: the same seed gives the same files
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Average Step Trainer readings per customer (each with ~2.8 accelerometer readings)
    #[arg(long, value_name = "N", default_value_t = crate::engine::generate::DEFAULT_READINGS)]
    pub readings: usize,
    /// Problems to inject: orphans, pre-consent, cross-customer, revoked, duplicates or all,
    /// comma separated, each optionally =COUNT (default 3)
    #[arg(long, value_name = "KINDS", default_value = "")]
    pub inject: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Export folder (OUT/customer/trusted/, ..., OUT/_manifest.json); replaced atomically
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Export although error-severity privacy checks fail (recorded in the manifest)
    #[arg(long)]
    pub force: bool,
    /// Hive-style partitions (COLUMN=value/) for the tables that have COLUMN
    #[arg(long, value_name = "COLUMN")]
    pub partition_by: Option<String>,
}

/// What went wrong, as the user sees it: one line and exit code 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        CliError(e.to_string())
    }
}

pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Some(Command::Generate(args)) => run_generate(&args),
        Some(Command::Export(args)) => run_export(&args),
        Some(Command::Diff(args)) => run_diff(&args),
        Some(Command::Forget(args)) => run_forget(&args),
        Some(Command::Trace(args)) => run_trace(&args),
        Some(Command::Emit(args)) => run_emit(&args),
        Some(Command::Cache(args)) => run_cache(&args),
        None if cli.run.check => run_check(&cli.run),
        None => run_tui(&cli.run),
    }
}

fn check_options(args: &RunArgs) -> Result<CheckOptions, CliError> {
    let expect = match &args.expect {
        Some(path) => Some((path.clone(), CheckOptions::read_expect(path)?)),
        None => None,
    };
    // Strict mode implies --strict (the engine enforces it too).
    Ok(CheckOptions { strict: args.strict || args.source.mode == Mode::Strict, expect })
}

fn run_tui(args: &RunArgs) -> Result<i32, CliError> {
    // Fail on a bad folder before taking over the screen, so the error stays readable.
    crate::engine::Catalog::load_mode(&args.source.queries, args.source.mode)?;
    if !args.source.data.is_dir() {
        return Err(EngineError::input(&args.source.data, "data folder not found").into());
    }
    let engine_options = args.source.engine_options()?;
    engine_options.check_key()?;
    let options = check_options(args)?;
    crate::tui::run(engine_options, options, args.show_pii).map_err(|e| CliError(format!("terminal: {e}")))
}

fn run_check(args: &RunArgs) -> Result<i32, CliError> {
    let mut engine = Engine::open(args.source.engine_options()?)?;
    print_cache_notices(&engine);
    let options = check_options(args)?;
    let progress = ProgressReporter::stderr(args.source.quiet);
    let outcomes = engine.run_all(&options, &mut |p| progress.update(&p))?;
    progress.finish();
    let report = Report::build(&engine, &outcomes, options.strict, args.show_pii)?;
    let rendered = match args.format {
        Format::Text => render_text(&report),
        Format::Json => report.render_json(),
        Format::Junit => render_junit(&report),
        Format::Html => render_html(&Evidence::gather(&engine, &outcomes, &options, args.show_pii)?),
        Format::Markdown => render_markdown(&Evidence::gather(&engine, &outcomes, &options, args.show_pii)?),
    };
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(rendered.as_bytes()).map_err(|e| CliError(format!("stdout: {e}")))?;
        }
    }
    if !report.summary.failed_error_checks.is_empty() {
        eprintln!("stedi-tui: failed: {}", report.summary.failed_error_checks.join(", "));
    }
    Ok(report.summary.exit_code)
}

/// Write next to the target and rename, so a reader never sees half a report.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError(format!("{}: cannot write: {e}", path.display()));
    let name = path.file_name().ok_or_else(|| CliError(format!("{}: not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    fs::write(&tmp, bytes).map_err(fail)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e)
    })
}

/// Exit 0 exported, 1 refused by the privacy gate, 2 bad input or a path that cannot be written.
fn run_export(args: &ExportArgs) -> Result<i32, CliError> {
    // A bad OUT fails before the pipeline runs, not after.
    export::check_destination(&args.out)?;
    let mut engine = Engine::open(args.source.engine_options()?)?;
    print_cache_notices(&engine);
    let progress = ProgressReporter::stderr(args.source.quiet);
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |p| progress.update(&p))?;
    progress.finish();
    let mut options = ExportOptions::new(&args.out);
    options.force = args.force;
    options.partition_by = args.partition_by.clone();
    match export::export(&engine, &outcomes, &options) {
        Ok(s) => {
            let forced = if s.manifest.forced { " (forced past failed checks)" } else { "" };
            eprintln!(
                "stedi-tui: exported {} tables, {} rows, {} files, {} bytes in {:.2}s to {}{forced}",
                s.tables,
                s.rows,
                s.files,
                s.bytes,
                s.elapsed.as_secs_f64(),
                s.out.display()
            );
            println!("{}", s.manifest_path.display());
            Ok(0)
        }
        Err(e @ (ExportError::Refused { .. } | ExportError::ChecksNotRun)) => {
            eprintln!("stedi-tui: {e}");
            Ok(1)
        }
        Err(ExportError::Engine(e)) => Err(e.into()),
    }
}

fn write_stdout(text: &str) -> Result<(), CliError> {
    std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| CliError(format!("stdout: {e}")))
}

/// Exit 0 (the diff informs, it does not judge), 2 bad input.
fn run_diff(args: &DiffArgs) -> Result<i32, CliError> {
    let engine = Engine::run_both_modes(args.source.engine_options()?)?;
    let diff = engine.diff()?;
    match args.format {
        DiffFormat::Text => write_stdout(&render_diff_text(&diff))?,
        DiffFormat::Json => write_stdout(&(serde_json::to_string_pretty(&diff).expect("a diff serialises") + "\n"))?,
    }
    Ok(0)
}

/// Count the customer's rows everywhere, then add them to the erasure list. Exit 0, or 2.
fn run_forget(args: &ForgetArgs) -> Result<i32, CliError> {
    let email = args.email.trim();
    if email.is_empty() {
        return Err(CliError("forget: the email is empty".to_string()));
    }
    let shown = if args.show_pii { email.to_string() } else { crate::engine::mask::mask_value(email) };
    let engine = Engine::run_both_modes(args.source.engine_options()?)?;
    let rows = engine.customer_rows(email)?;
    let added = erasure::add_to_list(&args.source.data, email)?;
    let listed = erasure::read_list(&args.source.data)?.len();
    write_stdout(&render_forget_text(&shown, &rows))?;
    let list = erasure::list_path(&args.source.data);
    if rows.iter().all(|r| r.rubric == 0 && r.strict == 0) {
        eprintln!("stedi-tui: warning: no row names {shown}; is the email spelled as in the customer records?");
    }
    drop(engine);
    // The cache holds the customer's landing rows too: it goes (the next run rebuilds it), from
    // wherever it may be for this data folder: the default folders and the one chosen now.
    let mut removed = cache::clear(&args.source.data, &CacheChoice::Auto)?;
    if let chosen @ CacheChoice::Dir(_) = args.source.cache_choice() {
        removed.extend(cache::clear(&args.source.data, &chosen)?);
    }
    for file in removed.iter().filter(|f| f.extension().is_some_and(|e| e == "duckdb")) {
        eprintln!("stedi-tui: removed the cache ({})", file.display());
    }
    let what = if added { "added to" } else { "already on" };
    eprintln!(
        "stedi-tui: {shown} {what} {} ({listed} erased); every stage of both modes now leaves them out, landing files untouched",
        list.display()
    );
    Ok(0)
}

/// Exit 0, or 2: bad input, or no customer record has the email.
fn run_trace(args: &TraceArgs) -> Result<i32, CliError> {
    let email = args.email.trim();
    let shown = if args.show_pii { email.to_string() } else { crate::engine::mask::mask_value(email) };
    let engine = Engine::run_both_modes(args.source.engine_options()?)?;
    let Some(trace) = engine.trace(email)? else {
        return Err(CliError(format!(
            "trace: no customer record has the email {shown} (compared trimmed and case-folded)"
        )));
    };
    let trace = mask_trace(&trace, args.show_pii);
    match args.format {
        DiffFormat::Text => write_stdout(&render_trace_text(&trace))?,
        DiffFormat::Json => write_stdout(&render_trace_json(&trace))?,
    }
    Ok(0)
}

/// Exit 0 written, 2 bad input (a missing queries folder, SQL only DuckDB accepts, an unwritable DIR).
fn run_emit(args: &EmitArgs) -> Result<i32, CliError> {
    let EmitTarget::Glue = args.target;
    let options = EmitOptions {
        queries_dir: args.queries.clone(),
        out: args.out.clone(),
        mode: args.mode,
        bucket: args.bucket.clone(),
    };
    let emitted = emit_glue(&options)?;
    eprintln!(
        "stedi-tui: wrote {} Glue jobs ({} mode) to {}; run them in order with run_all.py",
        emitted.jobs.len(),
        emitted.mode.as_str(),
        emitted.out.display()
    );
    println!("{}", emitted.out.join(crate::engine::emit::RUN_ALL_FILE).display());
    Ok(0)
}

fn run_generate(args: &GenerateArgs) -> Result<i32, CliError> {
    let customers = match (args.customers, args.scale) {
        (Some(n), _) => n,
        (None, Some(f)) if f > 0.0 => GenerateOptions::customers_for_scale(f),
        (None, Some(f)) => return Err(CliError(format!("--scale must be positive, not {f}"))),
        (None, None) => 300,
    };
    let inject = Injections::parse(&args.inject, 3).map_err(|e| CliError(format!("--inject: {e}")))?;
    let options =
        GenerateOptions { out: args.out.clone(), customers, seed: args.seed, readings: args.readings, inject };
    let summary = generate(&options)?;
    eprintln!(
        "stedi-tui: wrote {} customer records, {} accelerometer and {} step trainer readings in {} files ({} bytes) to {}",
        summary.customer_records,
        summary.accelerometer_readings,
        summary.step_trainer_readings,
        summary.files,
        summary.bytes,
        args.out.display()
    );
    println!("{}", serde_json::to_string_pretty(&summary).expect("summary serialises"));
    Ok(0)
}

/// `cache info` and `cache clear`. Exit 0, or 2.
fn run_cache(args: &CacheArgs) -> Result<i32, CliError> {
    let choice = cache_choice(args.cache.as_deref(), false);
    match args.action {
        CacheAction::Clear => {
            // A cache a running stedi-tui holds stays: deleting it under the TUI would only
            // hide it (the TUI goes on writing to it).
            for dir in cache::candidate_dirs(&args.data, &choice) {
                let file = dir.join(cache::CACHE_FILE);
                if cache::held_by_another(&file) {
                    return Err(CliError(format!(
                        "{}: in use by another stedi-tui; close it and clear again",
                        file.display()
                    )));
                }
            }
            let removed = cache::clear(&args.data, &choice)?;
            match removed.first() {
                Some(file) => {
                    let others = match removed.len() - 1 {
                        0 => String::new(),
                        n => format!(" and {n} more file{}", if n == 1 { "" } else { "s" }),
                    };
                    eprintln!("stedi-tui: removed {}{others}", file.display())
                }
                None => eprintln!("stedi-tui: no cache for {}", args.data.display()),
            }
        }
        CacheAction::Info => match cache::existing(&args.data, &choice) {
            Some(file) => write_stdout(&describe_cache(&cache::contents(&file)?))?,
            None => eprintln!("stedi-tui: no cache for {}", args.data.display()),
        },
    }
    Ok(0)
}

/// `cache info`'s text: where the cache is, its size, what it holds (counts only).
fn describe_cache(c: &cache::Contents) -> String {
    use crate::report::thousands;
    let mut out = format!("cache      {}\nsize       {} bytes\n", c.file.display(), thousands(c.size));
    if let Some(why) = &c.unreadable {
        out += &format!("contents   unreadable now ({why})\n");
    }
    for (key, value) in &c.meta {
        out += &format!("{key:<10} {value}\n");
    }
    for t in &c.landing {
        out += &format!(
            "landing    {}: {} files, {} bytes, {} rows, {} rejected\n",
            t.table,
            t.files,
            thousands(t.bytes),
            thousands(t.rows),
            thousands(t.rejected)
        );
    }
    for (kind, n) in &c.built {
        out += &format!("{:<10} {n} built\n", format!("{kind}s"));
    }
    out
}
