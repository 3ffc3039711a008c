//! The command line: clap definitions and what each command does with the engine. `main.rs` only
//! maps the outcome to an exit code: 0 clean, 1 an error-severity check failed, 2 bad usage or input.
mod args;
mod setup;

pub use args::*;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{
    absolute_path, cache_contents, check_destination, clear_cache, emit_glue, existing_cache, export, forget, generate,
    history, printable, printable_path, CacheContents, CheckOptions, EmitOptions, Engine, EngineError, ExportCopy,
    ExportError, ExportOptions, GenerateOptions, Injections, QuerySource,
};
use crate::progress::ProgressReporter;
use crate::report::{
    github_annotations, mask_trace, render_diff_text, render_forget_text, render_html, render_junit, render_markdown,
    render_sarif, render_text, render_trace_json, render_trace_text, Evidence, Report,
};

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The engine's notices about its cache (rebuilt, unusable), one line each on stderr.
fn print_cache_notices(engine: &Engine) {
    for notice in &engine.cache.notices {
        eprintln!("stedi-tui: cache: {}", printable(notice));
    }
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
        Some(Command::Init(args)) => setup::run_init(&args),
        Some(Command::Completions(args)) => setup::run_completions(&args),
        Some(Command::Man) => setup::run_man(),
        Some(Command::History(args)) => run_history(&args),
        None if cli.run.version => setup::run_version(cli.run.source.queries.as_deref()),
        None if cli.run.check => run_check(&cli.run),
        None => run_tui(&cli.run),
    }
}

fn check_options(args: &RunArgs) -> Result<CheckOptions, CliError> {
    let expect = match &args.expect {
        Some(path) => Some((path.clone(), CheckOptions::read_expect(path)?)),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(path) => Some(crate::engine::Baseline::read(path)?),
        None => None,
    };
    let selection = crate::engine::Selection { select: args.select.clone(), exclude: args.exclude.clone() };
    Ok(CheckOptions { strict: args.strict, expect, selection, baseline })
}

fn run_tui(args: &RunArgs) -> Result<i32, CliError> {
    // Fail on a bad folder before taking over the screen, so the error stays readable.
    crate::engine::Catalog::load_mode(QuerySource::choose(args.source.queries.as_deref()), args.source.mode.into())?;
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
    let report = Report::build(&engine, &outcomes, options.is_strict(engine.catalog.mode), args.show_pii)?;
    let rendered = match args.format {
        Format::Text => render_text(&report),
        Format::Json => report.render_json(),
        Format::Junit => render_junit(&report),
        Format::Sarif => render_sarif(&report, &current_dir()),
        Format::Html => render_html(&Evidence::gather(&engine, &outcomes, &options, args.show_pii)?),
        Format::Markdown => render_markdown(&Evidence::gather(&engine, &outcomes, &options, args.show_pii)?),
    };
    if let Some(path) = &args.update_baseline {
        write_atomically(path, engine.baseline_of(&outcomes)?.render().as_bytes())?;
        eprintln!("stedi-tui: wrote the baseline of {} checks to {}", outcomes.len(), printable_path(path));
    }
    // GitHub Actions reads workflow commands from the job's output: one line per failed check,
    // on stderr so that a report on stdout stays clean.
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        for line in github_annotations(&report, &current_dir()) {
            eprintln!("{line}");
        }
    }
    // ... and a job summary from $GITHUB_STEP_SUMMARY: the Markdown report, appended.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        let markdown = render_markdown(&Evidence::gather(&engine, &outcomes, &options, args.show_pii)?);
        let appended = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(markdown.as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "stedi-tui: warning: {}: cannot append the job summary: {e}",
                printable_path(Path::new(&summary))
            );
        }
    }
    if let Err(why) = crate::engine::history::record(&engine, &outcomes) {
        eprintln!("stedi-tui: warning: the run was not recorded in the history: {}", printable(&why));
    }
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(rendered.as_bytes()).map_err(|e| CliError(format!("stdout: {e}")))?;
        }
    }
    if !report.summary.failed_error_checks.is_empty() {
        eprintln!("stedi-tui: failed: {}", printable(&report.summary.failed_error_checks.join(", ")));
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
    check_destination(&args.out)?;
    let mut engine = Engine::open(args.source.engine_options()?)?;
    print_cache_notices(&engine);
    let progress = ProgressReporter::stderr(args.source.quiet);
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |p| progress.update(&p))?;
    progress.finish();
    let mut options = ExportOptions::new(&args.out);
    options.force = args.force;
    options.partition_by = args.partition_by.clone();
    options.personal_partitions = args.show_pii;
    match export(&engine, &outcomes, &options) {
        Ok(s) => {
            eprintln!("stedi-tui: {}", s.describe());
            for notice in &s.notices {
                eprintln!("stedi-tui: warning: {}", printable(notice));
            }
            println!("{}", printable_path(&s.manifest_path));
            Ok(0)
        }
        Err(e @ (ExportError::Refused { .. } | ExportError::ChecksNotRun)) => {
            eprintln!("stedi-tui: {}", printable(&e.to_string()));
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
        DiffFormat::Json => write_stdout(&(crate::engine::to_json_pretty(&diff) + "\n"))?,
    }
    Ok(0)
}

/// Count the customer's rows everywhere, add them to the erasure list, remove every cache this
/// data folder is known to have used, and say which recorded exports still hold their rows. Exit 0, or 2.
fn run_forget(args: &ForgetArgs) -> Result<i32, CliError> {
    let email = args.email.trim();
    if email.is_empty() {
        return Err(CliError("forget: the email is empty".to_string()));
    }
    let shown =
        printable(&if args.show_pii { email.to_string() } else { crate::engine::mask_value(email) }).into_owned();
    let data = &args.source.data;
    let erased = forget(args.source.engine_options()?, email, &args.source.cache_choice())?;
    write_stdout(&render_forget_text(&shown, &erased.rows))?;
    if erased.rows.iter().all(|r| r.rubric == 0 && r.strict == 0) {
        eprintln!("stedi-tui: warning: no row names {shown}; is the email spelled as in the customer records?");
    }
    for file in erased.caches_removed.iter().filter(|f| f.extension().is_some_and(|e| e == "duckdb")) {
        eprintln!("stedi-tui: removed the cache ({})", printable_path(file));
    }
    for copy in &erased.exports {
        eprintln!("stedi-tui: {}", printable(&describe_export_copy(copy, data, &shown)));
    }
    if let Some(why) = &erased.registry_unreadable {
        eprintln!("stedi-tui: warning: {}: caches and exports recorded there were not reached", printable(why));
    }
    let what = if erased.added { "added to" } else { "already on" };
    eprintln!(
        "stedi-tui: {shown} {what} {} ({} erased); every stage of both modes now leaves them out, landing files untouched",
        printable_path(&crate::engine::erasure_list_path(data)),
        erased.listed
    );
    Ok(0)
}

/// One line on an export folder `forget` found recorded: whether it still holds the customer's
/// rows and, if so, the command that makes it again without them.
fn describe_export_copy(copy: &ExportCopy, data: &Path, shown: &str) -> String {
    use crate::engine::ExportState;
    let out = copy.out.display();
    match &copy.state {
        ExportState::Holds { mode, partition_by, forced, tables, pseudonyms_uncounted } => {
            let uncounted = if *pseudonyms_uncounted {
                " (rows keyed by pseudonym not counted: give the pseudonym key)"
            } else {
                ""
            };
            let total = copy.state.rows();
            if total == 0 {
                return format!("export {out} holds none of their rows{uncounted}");
            }
            let per_table: Vec<String> =
                tables.iter().filter(|(_, n)| *n > 0).map(|(t, n)| format!("{t} {n}")).collect();
            let mut command = format!(
                "stedi-tui export --data {} --out {}",
                shell_word(&absolute_path(data).to_string_lossy()),
                shell_word(&copy.out.to_string_lossy())
            );
            if mode != "rubric" {
                command += &format!(" --mode {mode}");
            }
            if let Some(column) = partition_by {
                command += &format!(" --partition-by {}", shell_word(column));
            }
            if *forced {
                command += " --force";
            }
            if mode == "strict" {
                command += " (with the same STEDI_PSEUDONYM_KEY)";
            }
            format!(
                "warning: export {out} still holds {total} rows of {shown} ({}){uncounted}; make it again without them: {command}",
                per_table.join(", ")
            )
        }
        ExportState::Gone => format!("export {out} is gone (no longer recorded)"),
        ExportState::OtherData { data_dir } => {
            format!("export {out} is now made from {} (no longer recorded for this data)", data_dir.display())
        }
        ExportState::Unreadable { why } => {
            format!("warning: export {out} could not be checked ({why}); it may still hold their rows")
        }
    }
}

/// `word` as one shell word: as it is when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Exit 0, or 2: bad input, or no customer record has the email.
fn run_trace(args: &TraceArgs) -> Result<i32, CliError> {
    let email = args.email.trim();
    let shown = if args.show_pii { email.to_string() } else { crate::engine::mask_value(email) };
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
        queries: QuerySource::choose(args.queries.as_deref()),
        out: args.out.clone(),
        mode: args.mode.into(),
        bucket: args.bucket.clone(),
    };
    let emitted = emit_glue(&options)?;
    eprintln!(
        "stedi-tui: wrote {} Glue jobs ({} mode) to {}; run them in order with run_all.py",
        emitted.jobs.len(),
        emitted.mode.as_str(),
        printable_path(&emitted.out)
    );
    println!("{}", printable_path(&emitted.out.join(crate::engine::RUN_ALL_FILE)));
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
        printable_path(&args.out)
    );
    println!("{}", crate::engine::to_json_pretty(&summary));
    Ok(0)
}

/// `stedi-tui history`. Exit 0, or 2 (no cache, or none of that check).
fn run_history(args: &HistoryArgs) -> Result<i32, CliError> {
    let choice = cache_choice(args.cache.as_deref(), false);
    let Some(entries) = history::of(&args.data, &choice, args.check.as_deref())? else {
        return Err(CliError(format!(
            "{}: no cache, so no history (--check runs record it)",
            printable_path(&args.data)
        )));
    };
    if entries.is_empty() {
        let what = args.check.as_deref().map_or("no run".to_string(), |c| format!("no run of {}", printable(c)));
        return Err(CliError(format!("{}: {what} recorded yet", printable_path(&args.data))));
    }
    write_stdout(&printable_lines(&crate::report::render_history(&entries, args.check.is_some(), args.last.max(1))))?;
    Ok(0)
}

/// Each line escaped on its own (ids and paths come from files a user may not have written).
fn printable_lines(text: &str) -> String {
    text.lines().map(|l| printable(l).into_owned() + "\n").collect()
}

/// `cache info` and `cache clear`. Exit 0, or 2.
fn run_cache(args: &CacheArgs) -> Result<i32, CliError> {
    let choice = cache_choice(args.cache.as_deref(), false);
    match args.action {
        CacheAction::Clear => {
            let removed = clear_cache(&args.data, &choice)?;
            match removed.first() {
                Some(file) => {
                    let others = match removed.len() - 1 {
                        0 => String::new(),
                        n => format!(" and {n} more file{}", if n == 1 { "" } else { "s" }),
                    };
                    eprintln!("stedi-tui: removed {}{others}", printable_path(file))
                }
                None => eprintln!("stedi-tui: no cache for {}", printable_path(&args.data)),
            }
        }
        CacheAction::Info => match existing_cache(&args.data, &choice) {
            Some(file) => write_stdout(&describe_cache(&cache_contents(&file)?))?,
            None => eprintln!("stedi-tui: no cache for {}", printable_path(&args.data)),
        },
    }
    Ok(0)
}

/// `cache info`'s text: where the cache is, its size, what it holds (counts only).
fn describe_cache(c: &CacheContents) -> String {
    use crate::report::thousands;
    let mut out = format!("cache      {}\nsize       {} bytes\n", printable_path(&c.file), thousands(c.size));
    if let Some(why) = &c.unreadable {
        out += &format!("contents   unreadable now ({})\n", printable(why));
    }
    for (key, value) in &c.meta {
        out += &format!("{:<10} {}\n", printable(key), printable(value));
    }
    for t in &c.landing {
        out += &format!(
            "landing    {}: {} files, {} bytes, {} rows, {} rejected\n",
            printable(&t.table),
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
