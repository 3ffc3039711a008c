//! `stedi-tui emit glue`: the same pipeline as PySpark jobs for AWS Glue (or any Spark 3.4+).
//!
//! One job per stage runs the stage's SQL file, embedded verbatim, with `spark.sql`, reading its
//! inputs and writing its output as Parquet in the S3 zone layout of [`super::export`]
//! (`OUT/customer/trusted/`, ..., `OUT/step_trainer/curated/`). A landing job reads the landing JSON
//! with the types declared in `queries/landing/` and writes the typed tables (and the records that
//! do not fit) to `OUT/<dataset>/landing_typed/` (`landing_rejected/`); a checks job runs every check
//! instance and exits 1 when an error-severity check fails; `run_all.py` runs them all in the
//! catalog's stage order in one Spark session. The runtime they share (`stedi_glue.py`, from
//! `emit/stedi_glue.py`) carries the landing schemas and the reference views.
//!
//! The SQL runs unchanged in both engines (see [`super::dialect`]); a file that uses a construct
//! only DuckDB accepts is refused with advice rather than emitted to fail on Glue.
use std::fs;
use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::catalog::{Catalog, ForEach, Mode, Zone};
use super::dialect::{lint, KEY_COLUMNS};
use super::error::{EngineError, Result};
use super::export::table_folder;
use super::load::table_columns;

/// The runtime every emitted job imports; `# @@CATALOG@@` is replaced by the catalog.
const RUNTIME: &str = include_str!("emit/stedi_glue.py");
const CATALOG_MARKER: &str = "# @@CATALOG@@";
/// The runtime module's file name: it marks a folder as an emitted one (safe to overwrite).
pub const RUNTIME_FILE: &str = "stedi_glue.py";
pub const RUN_ALL_FILE: &str = "run_all.py";
/// The order and dependencies of the jobs, for creating them on Glue (see README).
pub const JOBS_FILE: &str = "glue_jobs.json";

#[derive(Debug, Clone)]
pub struct EmitOptions {
    pub queries: super::QuerySource,
    pub out: PathBuf,
    pub mode: Mode,
    /// `s3://bucket/prefix`: the jobs' default `--data` and `--out` (the original project kept
    /// landing and zones in one bucket). Without it both arguments are required.
    pub bucket: Option<String>,
}

/// One emitted job, in run order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmittedJob {
    /// `landing`, a stage's table name, or `checks`.
    pub name: String,
    /// The script, relative to the output folder, e.g. `job_customer_trusted.py`.
    pub script: String,
    /// The jobs that must have run before this one.
    pub after: Vec<String>,
    /// Where it writes, relative to OUT (`customer/trusted`, ...).
    pub writes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Emitted {
    pub out: PathBuf,
    pub mode: Mode,
    pub jobs: Vec<EmittedJob>,
    /// Every file written, relative to `out`.
    pub files: Vec<String>,
}

/// A landing table as Spark reads it.
struct SparkLanding {
    name: String,
    dataset: String,
    columns: Vec<(String, String)>,
    required: Vec<String>,
}

/// Spark SQL's name for a DuckDB column type of a landing DDL.
pub fn spark_type(duckdb_type: &str) -> Option<String> {
    let t = duckdb_type.trim().to_uppercase();
    let simple = match t.as_str() {
        "VARCHAR" => "STRING",
        "BIGINT" => "BIGINT",
        "INTEGER" => "INT",
        "SMALLINT" => "SMALLINT",
        "TINYINT" => "TINYINT",
        "DOUBLE" => "DOUBLE",
        "FLOAT" => "FLOAT",
        "BOOLEAN" => "BOOLEAN",
        "DATE" => "DATE",
        "TIMESTAMP" => "TIMESTAMP_NTZ",
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP",
        _ if t.starts_with("DECIMAL(") => return Some(t),
        _ => return None,
    };
    Some(simple.to_string())
}

/// A Python string literal: JSON's escapes are Python's.
fn py_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// SQL as a readable raw triple-quoted Python string (verbatim, between a leading and a trailing
/// newline), or a plain literal when the text could not survive that.
fn py_sql(sql: &str) -> String {
    if sql.contains("\"\"\"") || sql.contains('\r') {
        return py_str(sql);
    }
    format!("r\"\"\"\n{sql}\n\"\"\"")
}

fn py_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| py_str(s)).collect::<Vec<_>>().join(", "))
}

fn relative(catalog: &Catalog, path: &Path) -> String {
    let rel = path.strip_prefix(&catalog.root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Every stage, reference and check file must be in the dialect both engines accept.
pub fn check_dialect(catalog: &Catalog) -> Result<()> {
    let files = catalog
        .stages
        .iter()
        .map(|s| (&s.path, &s.sql))
        .chain(catalog.references.iter().map(|r| (&r.path, &r.sql)))
        .chain(catalog.checks.iter().map(|c| (&c.path, &c.sql)));
    for (path, sql) in files {
        let problems = lint(sql);
        if !problems.is_empty() {
            let why: Vec<String> = problems.iter().map(|p| format!("{} ({})", p.construct, p.advice)).collect();
            return Err(EngineError::sql(path, format!("not portable to Spark SQL: {}", why.join("; "))));
        }
    }
    Ok(())
}

fn spark_landing(catalog: &Catalog) -> Result<Vec<SparkLanding>> {
    let conn = Connection::open_in_memory()?;
    let mut out = Vec::new();
    for table in &catalog.landing {
        conn.execute_batch(&table.ddl).map_err(|e| EngineError::sql(&table.path, e.to_string()))?;
        let mut columns = Vec::new();
        let mut required = Vec::new();
        for column in table_columns(&conn, &table.name)? {
            let Some(spark) = spark_type(&column.data_type) else {
                return Err(EngineError::sql(
                    &table.path,
                    format!("column {}: type {} has no Spark equivalent here", column.name, column.data_type),
                ));
            };
            if !column.nullable {
                required.push(column.name.clone());
            }
            columns.push((column.name, spark));
        }
        out.push(SparkLanding { name: table.name.clone(), dataset: table.dataset.clone(), columns, required });
    }
    Ok(out)
}

fn landing_folders(dataset: &str) -> (String, String) {
    (format!("{dataset}/landing_typed"), format!("{dataset}/landing_rejected"))
}

fn stage_module(name: &str) -> String {
    format!("job_{name}")
}

/// The stages a stage reads (its dependencies), in catalog order.
fn stage_reads(catalog: &Catalog, index: usize) -> Vec<String> {
    let stage = &catalog.stages[index];
    catalog
        .stages
        .iter()
        .filter(|s| s.name != stage.name && stage.reads.contains(&s.name.to_lowercase()))
        .map(|s| s.name.clone())
        .collect()
}

fn catalog_block(catalog: &Catalog, landing: &[SparkLanding], options: &EmitOptions) -> String {
    let mut py = String::new();
    let default = options.bucket.as_deref().map(py_str).unwrap_or_else(|| "None".to_string());
    py.push_str(&format!(
        "# ---- catalog: generated by stedi-tui {} from {} ({} mode) ----\nMODE = {}\nGENERATED_BY = {}\n",
        env!("CARGO_PKG_VERSION"),
        catalog.sql.provenance(),
        options.mode.as_str(),
        py_str(options.mode.as_str()),
        py_str(&format!("stedi-tui {} emit glue", env!("CARGO_PKG_VERSION"))),
    ));
    py.push_str(&format!("DEFAULT_DATA = {default}\nDEFAULT_OUT = {default}\n"));
    let keys: Vec<String> = KEY_COLUMNS.iter().map(|k| k.to_string()).collect();
    py.push_str(&format!("KEY_COLUMNS = {}\n\n", py_list(&keys)));

    py.push_str("# Landing tables: queries/landing/*.sql as Spark schemas; `required` are the NOT NULL columns.\n");
    py.push_str("LANDING = [\n");
    for t in landing {
        let (folder, rejected) = landing_folders(&t.dataset);
        let schema: Vec<String> = t.columns.iter().map(|(c, ty)| format!("`{}` {ty}", c.replace('`', "``"))).collect();
        let columns: Vec<String> = t.columns.iter().map(|(c, ty)| format!("({}, {})", py_str(c), py_str(ty))).collect();
        py.push_str(&format!(
            "    {{\n        \"name\": {},\n        \"dataset\": {},\n        \"folder\": {},\n        \
             \"rejected_folder\": {},\n        \"schema\": {},\n        \"columns\": [{}],\n        \"required\": {},\n    }},\n",
            py_str(&t.name),
            py_str(&t.dataset),
            py_str(&folder),
            py_str(&rejected),
            py_str(&schema.join(", ")),
            columns.join(", "),
            py_list(&t.required),
        ));
    }
    py.push_str("]\n\n");

    py.push_str("# Reference views (queries/reference/), created in this order before any stage or check.\n");
    py.push_str("REFERENCE_VIEWS = [\n");
    for view in &catalog.references {
        py.push_str(&format!("    ({}, {}),\n", py_str(&view.name), py_sql(&view.sql)));
    }
    py.push_str("]\n\n");

    py.push_str("# Stages in run order (dependencies first), each written to OUT/<folder>/.\n");
    py.push_str("STAGES = [\n");
    for (i, stage) in catalog.stages.iter().enumerate() {
        py.push_str(&format!(
            "    {{\"name\": {}, \"zone\": {}, \"folder\": {}, \"module\": {}, \"file\": {}, \"reads\": {}}},\n",
            py_str(&stage.name),
            py_str(stage.zone.as_str()),
            py_str(&table_folder(&stage.name, stage.zone)),
            py_str(&stage_module(&stage.name)),
            py_str(&relative(catalog, &stage.path)),
            py_list(&stage_reads(catalog, i)),
        ));
    }
    py.push_str("]\nSTAGE_BY_NAME = {s[\"name\"]: s for s in STAGES}\n");
    let tables: Vec<String> = catalog.table_names().into_iter().map(|(t, _)| t).collect();
    py.push_str(&format!(
        "# Every pipeline table, landing first (the checks' `for_each: tables`).\nTABLES = {}\n",
        py_list(&tables)
    ));
    py.push_str("# ---- end of catalog ----");
    py
}

fn job_header(title: &str, about: &str, script: &str) -> String {
    format!(
        "\"\"\"{title}\n\n{about}\n\nGenerated by `stedi-tui emit glue`; edit the SQL under queries/ and emit again.\n\
         Run alone: python {script} --data DATA --out OUT\n\
         On AWS Glue: job parameters --data and --out, and --extra-py-files .../stedi_glue.py.\n\
         run_all.py runs every job in order, in one Spark session.\n\"\"\"\n\
         import sys\n\nimport stedi_glue\n\n"
    )
}

const JOB_FOOTER: &str = "\n\nif __name__ == \"__main__\":\n    stedi_glue.main(sys.modules[__name__])\n";

fn landing_job(catalog: &Catalog) -> String {
    let tables: Vec<String> = catalog.landing.iter().map(|t| t.name.clone()).collect();
    let mut py = job_header(
        &format!("Glue job: landing ({} mode).", catalog.mode.as_str()),
        &format!(
            "Reads DATA/<dataset>/landing/ (JSON lines, optionally gzipped, found recursively) with the types\n\
             declared in queries/landing/*.sql and writes {} as Parquet to\n\
             OUT/<dataset>/landing_typed/; records that do not fit (malformed, a missing required field, a value\n\
             of the wrong type) go to OUT/<dataset>/landing_rejected/ (the checks' rejected.<table>).",
            tables.join(", ")
        ),
        "job_landing.py",
    );
    py.push_str("NAME = \"landing\"\nKIND = \"landing\"\n\n\ndef run(ctx):\n    return ctx.landing_job()\n");
    py.push_str(JOB_FOOTER);
    py
}

fn stage_job(catalog: &Catalog, index: usize) -> String {
    let stage = &catalog.stages[index];
    let reads = stage_reads(catalog, index);
    let folder = table_folder(&stage.name, stage.zone);
    let mut py = job_header(
        &format!("Glue job: stage {} ({} zone, {} mode).", stage.name, stage.zone.as_str(), catalog.mode.as_str()),
        &format!(
            "Runs {} with spark.sql.\nReads: the landing tables, the reference views{}.\n\
             Writes: OUT/{folder}/ (Parquet, replaced).",
            relative(catalog, &stage.path),
            if reads.is_empty() { String::new() } else { format!(", {}", reads.join(", ")) }
        ),
        &format!("{}.py", stage_module(&stage.name)),
    );
    py.push_str(&format!(
        "NAME = {}\nKIND = \"stage\"\n# The stages this one reads (their jobs run first).\nREADS = {}\n\
         # {} verbatim.\nSQL = {}\n\n\ndef run(ctx):\n    return ctx.stage_job(NAME, SQL, READS)\n",
        py_str(&stage.name),
        py_list(&reads),
        relative(catalog, &stage.path),
        py_sql(&stage.sql)
    ));
    py.push_str(JOB_FOOTER);
    py
}

fn checks_job(catalog: &Catalog) -> String {
    let mut py = job_header(
        &format!("Glue job: checks ({} mode).", catalog.mode.as_str()),
        "Runs every check of queries/checks/ (each `for_each` instance) over the landing and zone tables and\n\
         prints one line per check (status, severity, id, failing rows; never the rows themselves). Exits 1\n\
         when an error-severity check fails (strict mode or --strict: every check), as `stedi-tui --check`.\n\
         The results also go to OUT/_checks/ (JSON lines) and, with --report FILE, to a local file.",
        "job_checks.py",
    );
    py.push_str("NAME = \"checks\"\nKIND = \"checks\"\n# queries/checks/*.sql verbatim; `for_each` as in their headers.\nCHECKS = [\n");
    for check in &catalog.checks {
        let for_each = match &check.for_each {
            None => "None".to_string(),
            Some(ForEach::Tables) => py_str("tables"),
            Some(ForEach::Landing) => py_str("landing"),
            Some(ForEach::Expected) => py_str("expected"),
            Some(ForEach::List(list)) => py_list(list),
        };
        py.push_str(&format!(
            "    {{\n        \"id\": {},\n        \"severity\": {},\n        \"description\": {},\n        \
             \"for_each\": {for_each},\n        \"file\": {},\n        \"sql\": {},\n    }},\n",
            py_str(&check.id),
            py_str(check.severity.as_str()),
            py_str(&check.description),
            py_str(&relative(catalog, &check.path)),
            py_sql(&check.sql),
        ));
    }
    py.push_str("]\n\n\ndef run(ctx):\n    return ctx.checks_job(CHECKS)\n");
    py.push_str(JOB_FOOTER);
    py
}

fn run_all(catalog: &Catalog, jobs: &[EmittedJob]) -> String {
    let modules: Vec<String> = jobs.iter().map(|j| j.script.trim_end_matches(".py").to_string()).collect();
    format!(
        "\"\"\"Run every stedi-tui job ({} mode) in the engine's order, in one Spark session:\n\
         landing, the stages (dependencies first, as stedi-tui runs them), then the checks.\n\n\
         python run_all.py --data DATA --out OUT [--report FILE] [--strict] [--expect FILE]\n\
         Exit code: 0, 1 when an error-severity check fails, 2 on bad input or SQL.\n\
         Generated by `stedi-tui emit glue`.\n\"\"\"\n\
         import importlib\n\nimport stedi_glue\n\nJOBS = {}\n\n\
         if __name__ == \"__main__\":\n    stedi_glue.main_all([importlib.import_module(name) for name in JOBS])\n",
        catalog.mode.as_str(),
        py_list(&modules)
    )
}

/// The jobs in run order: landing, the stages in catalog order, checks.
fn plan(catalog: &Catalog) -> Vec<EmittedJob> {
    let mut jobs = vec![EmittedJob {
        name: "landing".to_string(),
        script: "job_landing.py".to_string(),
        after: Vec::new(),
        writes: catalog
            .landing
            .iter()
            .flat_map(|t| {
                let (a, b) = landing_folders(&t.dataset);
                [a, b]
            })
            .collect(),
    }];
    for (i, stage) in catalog.stages.iter().enumerate() {
        let mut after = vec!["landing".to_string()];
        after.extend(stage_reads(catalog, i));
        jobs.push(EmittedJob {
            name: stage.name.clone(),
            script: format!("{}.py", stage_module(&stage.name)),
            after,
            writes: vec![table_folder(&stage.name, stage.zone)],
        });
    }
    let mut after = vec!["landing".to_string()];
    after.extend(catalog.stages.iter().map(|s| s.name.clone()));
    jobs.push(EmittedJob {
        name: "checks".to_string(),
        script: "job_checks.py".to_string(),
        after,
        writes: vec!["_checks".to_string()],
    });
    jobs
}

/// Refuse to write into a folder that holds something other than a previous emit; clear the
/// previous emit's scripts so a removed stage leaves no stale job behind.
fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(EngineError::input(out, "not a folder"));
        }
        let entries: Vec<PathBuf> = fs::read_dir(out)
            .map_err(|e| EngineError::input(out, format!("cannot read folder: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        if !entries.is_empty() && !out.join(RUNTIME_FILE).is_file() {
            return Err(EngineError::input(out, "folder is not empty and holds no previous emit (stedi_glue.py)"));
        }
        for path in entries {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let ours = name.ends_with(".py") || name == JOBS_FILE || name == "__pycache__";
            if ours {
                let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
                removed.map_err(|e| EngineError::input(&path, format!("cannot remove: {e}")))?;
            }
        }
    }
    fs::create_dir_all(out).map_err(|e| EngineError::input(out, format!("cannot create: {e}")))
}

/// Write the Glue jobs of `options.mode` for the SQL of `options.queries` into `options.out`.
pub fn emit_glue(options: &EmitOptions) -> Result<Emitted> {
    if let Some(bucket) = &options.bucket {
        if !bucket.contains("://") || bucket.trim() != bucket {
            return Err(EngineError::input(Path::new("--bucket"), "expected a URI such as s3://bucket/prefix"));
        }
    }
    let catalog = Catalog::load_mode(&options.queries, options.mode)?;
    check_dialect(&catalog)?;
    let landing = spark_landing(&catalog)?;
    let jobs = plan(&catalog);

    let mut files: Vec<(String, String)> = Vec::new();
    let runtime = RUNTIME.replacen(CATALOG_MARKER, &catalog_block(&catalog, &landing, options), 1);
    files.push((RUNTIME_FILE.to_string(), runtime));
    files.push((jobs[0].script.clone(), landing_job(&catalog)));
    for (i, stage) in catalog.stages.iter().enumerate() {
        debug_assert!(matches!(stage.zone, Zone::Trusted | Zone::Curated));
        files.push((jobs[i + 1].script.clone(), stage_job(&catalog, i)));
    }
    files.push((jobs[jobs.len() - 1].script.clone(), checks_job(&catalog)));
    files.push((RUN_ALL_FILE.to_string(), run_all(&catalog, &jobs)));
    let manifest = serde_json::json!({ "mode": options.mode, "bucket": options.bucket, "jobs": jobs });
    files.push((JOBS_FILE.to_string(), super::printable::to_json_pretty(&manifest) + "\n"));

    prepare_out(&options.out)?;
    for (name, text) in &files {
        let path = options.out.join(name);
        fs::write(&path, text).map_err(|e| EngineError::input(&path, format!("cannot write: {e}")))?;
    }
    Ok(Emitted {
        out: options.out.clone(),
        mode: options.mode,
        jobs,
        files: files.into_iter().map(|(name, _)| name).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals_keep_sql_verbatim() {
        assert_eq!(py_sql("SELECT 'a\\n'"), "r\"\"\"\nSELECT 'a\\n'\n\"\"\"");
        assert_eq!(py_sql("SELECT \"\"\"x\"\"\""), "\"SELECT \\\"\\\"\\\"x\\\"\\\"\\\"\"");
        assert_eq!(py_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn spark_types_for_the_landing_ddl() {
        assert_eq!(spark_type("VARCHAR").as_deref(), Some("STRING"));
        assert_eq!(spark_type("INTEGER").as_deref(), Some("INT"));
        assert_eq!(spark_type("DECIMAL(18,3)").as_deref(), Some("DECIMAL(18,3)"));
        assert_eq!(spark_type("STRUCT(a INTEGER)"), None);
    }
}
