//! The catalog: every SQL file of the run (the built-in copy of `queries/`, or a folder the user
//! names; see [`sql_source`](super::sql_source)), parsed once. Nothing else reads SQL files.
//! Layout (dbt-like, one SQL file per model or test):
//!
//! - `landing/<table>_landing.sql`   CREATE TABLE with the declared landing types
//! - `reference/<view>.sql`          SELECTs the checks (and strict stages) share, e.g. who consents
//! - `trusted/<table>.sql`, `curated/<table>.sql`   one SELECT per zone table (a stage)
//! - `checks/<id>.sql`               a SELECT returning failing rows, with an id/severity header
//! - `strict/trusted/`, `strict/curated/`   the strict mode's stages: the same tables, made without the
//!   original design's privacy flaws; landing, reference and checks are shared by both modes
//! - `diff/<table>.sql`              why a row is in one mode's table only (`stedi-tui diff`)
//! - `erasure/customer_rows.sql`     a customer's rows in one table (`stedi-tui forget`)
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{EngineError, Result};
use super::gate::Threshold;
use super::sql_source::{QuerySource, SqlFiles};
use super::sql_text::{identifiers, strip_trailing_semicolons};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    Landing,
    Trusted,
    Curated,
}

impl Zone {
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Landing => "landing",
            Zone::Trusted => "trusted",
            Zone::Curated => "curated",
        }
    }
}

/// Which stage set builds the zone tables: the original project's (flaws included) or the strict one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `trusted/`, `curated/`: the Udacity rubric's Glue jobs, reproduced as they were
    #[default]
    Rubric,
    /// `strict/trusted/`, `strict/curated/`: latest-record consent, no pre-consent readings, owner join,
    /// pseudonymous ML table; every check counts as an error
    Strict,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rubric => "rubric",
            Mode::Strict => "strict",
        }
    }

    /// The folder (relative to the queries folder) holding this mode's `trusted/` and `curated/`.
    pub fn stage_prefix(self) -> &'static str {
        match self {
            Mode::Rubric => "",
            Mode::Strict => "strict/",
        }
    }
}

/// A SQL file's leading `--` comment block: `key: value` lines become fields, the rest is prose.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub fields: BTreeMap<String, String>,
    /// The line (1-based) of each field.
    pub lines: BTreeMap<String, usize>,
    pub prose: Vec<String>,
}

pub const HEADER_KEYS: [&str; 8] =
    ["id", "severity", "description", "for_each", "drops", "validate", "warn_if", "error_if"];

impl Header {
    /// A header line `-- word: ...` whose word is one lowercase snake_case word is a field, and
    /// must be a known key or, on the first line, the file's own name (its title): a misspelt key
    /// (`-- severty: error`) is an error naming the file and line, never silently prose.
    pub fn parse(path: &Path, sql: &str) -> Result<Header> {
        let mut header = Header::default();
        let title = stem(path);
        for (index, line) in sql.lines().enumerate() {
            let line = line.trim();
            let Some(text) = line.strip_prefix("--") else {
                if line.is_empty() {
                    continue;
                }
                break;
            };
            let text = text.trim();
            let key = text.split_once(':').map(|(k, v)| (k.trim(), v.trim())).filter(|(k, _)| is_field_word(k));
            match key {
                Some((key, value)) if HEADER_KEYS.contains(&key) => {
                    header.fields.insert(key.to_string(), value.to_string());
                    header.lines.insert(key.to_string(), index + 1);
                }
                Some((key, _)) if index == 0 && key == title => header.prose.push(text.to_string()),
                Some((key, _)) => {
                    return Err(EngineError::sql(
                        path,
                        format!(
                            "line {}: unknown header key {key:?} (known: {}; prose must not start with `word:`)",
                            index + 1,
                            HEADER_KEYS.join(", ")
                        ),
                    ))
                }
                None => header.prose.push(text.to_string()),
            }
        }
        Ok(header)
    }
}

fn is_field_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[derive(Debug, Clone)]
pub struct LandingTable {
    /// e.g. `customer_landing`
    pub name: String,
    /// the folder under DATA, e.g. `customer` for `DATA/customer/landing/`
    pub dataset: String,
    pub path: PathBuf,
    pub ddl: String,
    /// `-- validate: every record`: check each record in Rust, stricter than DuckDB's casts,
    /// instead of loading whole files at once (for the table where consent lives).
    pub validate_all: bool,
}

/// A named SQL file: a reference view, a diff or an erasure query.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub name: String,
    pub path: PathBuf,
    pub sql: String,
}

pub type ReferenceView = SqlFile;

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub zone: Zone,
    pub path: PathBuf,
    /// The SELECT, as written (header comment included; DuckDB ignores comments).
    pub sql: String,
    /// The header comment's prose: what it keeps and why.
    pub about: String,
    /// The header's `-- drops:` line: why a row of its main input is not kept.
    pub drops: Option<String>,
    /// Tables (landing, reference or other stages) the SELECT mentions, in file order.
    pub reads: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// Which tables a generic check (one whose id contains `{table}`) is instantiated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForEach {
    /// every landing and zone table
    Tables,
    /// every table named in the `--expect` file
    Expected,
    /// every landing table
    Landing,
    /// an explicit list
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct CheckDef {
    /// The id, possibly a template such as `duplicate.{table}`.
    pub id: String,
    pub severity: Severity,
    pub description: String,
    pub for_each: Option<ForEach>,
    /// `-- warn_if:` / `-- error_if:` (see [`gate`](super::gate)); without them any failing row
    /// fails the check at its severity.
    pub warn_if: Option<Threshold>,
    pub error_if: Option<Threshold>,
    pub path: PathBuf,
    /// The line of its `-- id:` (CI annotations point there).
    pub id_line: usize,
    pub sql: String,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    /// The folder the files are named under (`<built-in>` for the built-in copy).
    pub root: PathBuf,
    /// Every SQL file of the run, with its origin and hash.
    pub sql: Arc<SqlFiles>,
    pub mode: Mode,
    pub landing: Vec<LandingTable>,
    pub references: Vec<ReferenceView>,
    /// Stages in an order where every stage comes after the stages it reads.
    pub stages: Vec<Stage>,
    pub checks: Vec<CheckDef>,
    /// `diff/<table>.sql`, in file order (empty when the folder has none).
    pub diffs: Vec<SqlFile>,
    /// `erasure/*.sql`, in file order.
    pub erasure: Vec<SqlFile>,
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Catalog {
    /// The rubric mode's catalog.
    pub fn load(source: impl Into<QuerySource>) -> Result<Catalog> {
        Catalog::load_mode(source, Mode::Rubric)
    }

    /// The catalog of `mode`: its stage folders, and the shared landing, reference and checks.
    pub fn load_mode(source: impl Into<QuerySource>, mode: Mode) -> Result<Catalog> {
        Catalog::from_files(Arc::new(source.into().read()?), mode)
    }

    /// The catalog of `mode` over files already read.
    pub fn from_files(sql: Arc<SqlFiles>, mode: Mode) -> Result<Catalog> {
        let root = sql.root();
        let mut landing = Vec::new();
        for (path, ddl) in sql.in_folder("landing") {
            let name = stem(&path);
            let Some(dataset) = name.strip_suffix("_landing") else {
                return Err(EngineError::sql(&path, "a landing table's file must be named <dataset>_landing.sql"));
            };
            let validate_all = Header::parse(&path, ddl)?.fields.get("validate").is_some_and(|v| v == "every record");
            landing.push(LandingTable { dataset: dataset.to_string(), ddl: ddl.to_string(), validate_all, name, path });
        }
        if landing.is_empty() {
            return Err(EngineError::input(root.join("landing"), "no landing table definitions (*.sql)"));
        }
        let named = |folder: &str| -> Result<Vec<SqlFile>> {
            let mut files = Vec::new();
            for (path, text) in sql.in_folder(folder) {
                Header::parse(&path, text)?;
                files.push(SqlFile { name: stem(&path), sql: strip_trailing_semicolons(text).to_string(), path });
            }
            Ok(files)
        };
        let references = order_references(named("reference")?)?;
        let prefix = mode.stage_prefix();
        if !sql.has_folder(&format!("{prefix}trusted")) {
            let folder = root.join(format!("{prefix}trusted"));
            return Err(EngineError::input(&folder, format!("{} mode's stage folder not found", mode.as_str())));
        }
        let mut stages = Vec::new();
        for (zone, folder) in [(Zone::Trusted, "trusted"), (Zone::Curated, "curated")] {
            for (path, text) in sql.in_folder(&format!("{prefix}{folder}")) {
                let header = Header::parse(&path, text)?;
                let sql = strip_trailing_semicolons(text).to_string();
                if sql.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--")) {
                    return Err(EngineError::sql(&path, "stage file holds no SELECT"));
                }
                let mut reads = Vec::new();
                for id in identifiers(&sql) {
                    if !reads.contains(&id) {
                        reads.push(id);
                    }
                }
                let drops = header.fields.get("drops").cloned();
                stages.push(Stage { name: stem(&path), zone, path, sql, about: header.prose.join(" "), drops, reads });
            }
        }
        let known: BTreeSet<String> = landing
            .iter()
            .map(|t| t.name.to_lowercase())
            .chain(references.iter().map(|r| r.name.to_lowercase()))
            .collect();
        let stages = order_stages(stages, &known)?;
        let mut checks = Vec::new();
        for (path, text) in sql.in_folder("checks") {
            checks.push(parse_check(&path, text)?);
        }
        let (diffs, erasure) = (named("diff")?, named("erasure")?);
        // Every other file (trace/, report/, the other mode's stages, ...) is read by name when
        // needed: its header is held to the same rules now, so a misspelt key is found on any run.
        let parsed = ["landing", "reference", "checks", "diff", "erasure"]
            .map(String::from)
            .into_iter()
            .chain(["trusted", "curated"].map(|f| format!("{prefix}{f}")))
            .collect::<Vec<_>>();
        for (rel, text) in sql.iter() {
            let folder = rel.rsplit_once('/').map_or("", |(folder, _)| folder);
            if !parsed.iter().any(|p| p == folder) {
                Header::parse(&sql.path_of(rel), text)?;
            }
        }
        Ok(Catalog { root, sql, mode, landing, references, stages, checks, diffs, erasure })
    }

    /// The erasure query `name` (`customer_rows`), or an error naming the file it expected.
    pub fn erasure_query(&self, name: &str) -> Result<&SqlFile> {
        self.erasure.iter().find(|f| f.name == name).ok_or_else(|| {
            EngineError::input(self.sql.path_of(&format!("erasure/{name}.sql")), "not found in the queries folder")
        })
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Every table the pipeline produces, landing first, then stages in run order.
    pub fn table_names(&self) -> Vec<(String, Zone)> {
        self.landing
            .iter()
            .map(|t| (t.name.clone(), Zone::Landing))
            .chain(self.stages.iter().map(|s| (s.name.clone(), s.zone)))
            .collect()
    }
}

fn parse_check(path: &Path, text: &str) -> Result<CheckDef> {
    let header = Header::parse(path, text)?;
    let field = |key: &str| header.fields.get(key).cloned();
    let id = field("id").ok_or_else(|| EngineError::sql(path, "check header has no `-- id:` line"))?;
    let severity = match field("severity").as_deref() {
        Some("error") => Severity::Error,
        Some("warn") | Some("warning") => Severity::Warn,
        Some(other) => return Err(EngineError::sql(path, format!("severity must be error or warn, not {other:?}"))),
        None => return Err(EngineError::sql(path, "check header has no `-- severity:` line")),
    };
    let description = field("description").unwrap_or_default();
    let for_each = match field("for_each") {
        None => None,
        Some(v) if v == "tables" => Some(ForEach::Tables),
        Some(v) if v == "expected" => Some(ForEach::Expected),
        Some(v) if v == "landing" => Some(ForEach::Landing),
        Some(v) => Some(ForEach::List(v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())),
    };
    if for_each.is_some() != id.contains("{table}") {
        return Err(EngineError::sql(path, "a check with `for_each` needs `{table}` in its id, and only then"));
    }
    let threshold = |key: &str| -> Result<Option<Threshold>> {
        let Some(text) = header.fields.get(key) else { return Ok(None) };
        Threshold::parse(text).map(Some).map_err(|why| {
            EngineError::sql(path, format!("line {}: {key}: {why}", header.lines.get(key).copied().unwrap_or(0)))
        })
    };
    let (warn_if, error_if) = (threshold("warn_if")?, threshold("error_if")?);
    let sql = strip_trailing_semicolons(text).to_string();
    let id_line = header.lines.get("id").copied().unwrap_or(1);
    Ok(CheckDef { id, severity, description, for_each, warn_if, error_if, path: path.to_path_buf(), id_line, sql })
}

/// Kahn's algorithm over "stage A mentions stage B"; ties keep zone and file order, so trusted
/// stages run before curated ones when nothing else decides.
fn order_stages(stages: Vec<Stage>, known: &BTreeSet<String>) -> Result<Vec<Stage>> {
    let names: Vec<String> = stages.iter().map(|s| s.name.to_lowercase()).collect();
    for (i, stage) in stages.iter().enumerate() {
        if known.contains(&names[i]) || names[..i].contains(&names[i]) {
            return Err(EngineError::sql(&stage.path, format!("table name {} is defined twice", stage.name)));
        }
    }
    let reads: Vec<Vec<String>> = stages.iter().map(|s| s.reads.clone()).collect();
    let order = dependency_order(&names, &reads).map_err(|stuck| {
        let stuck: Vec<String> = stuck.iter().map(|&i| stages[i].path.display().to_string()).collect();
        EngineError::sql(&stuck[0], format!("stages read each other in a cycle: {}", stuck.join(", ")))
    })?;
    let mut slots: Vec<Option<Stage>> = stages.into_iter().map(Some).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each stage ordered once")).collect())
}

/// The reference views in an order where each one's views exist before it is created (a view is
/// bound when it is created), file order where nothing else decides.
fn order_references(references: Vec<ReferenceView>) -> Result<Vec<ReferenceView>> {
    let names: Vec<String> = references.iter().map(|r| r.name.to_lowercase()).collect();
    let reads: Vec<Vec<String>> = references.iter().map(|r| identifiers(&r.sql)).collect();
    let order = dependency_order(&names, &reads).map_err(|stuck| {
        let stuck: Vec<String> = stuck.iter().map(|&i| references[i].path.display().to_string()).collect();
        EngineError::sql(&stuck[0], format!("reference views read each other in a cycle: {}", stuck.join(", ")))
    })?;
    let mut slots: Vec<Option<ReferenceView>> = references.into_iter().map(Some).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each view ordered once")).collect())
}

/// Kahn's algorithm: the indices of `names` in an order where every item comes after the items
/// its `reads` name (ties in the given order), or the indices left in a cycle.
fn dependency_order(names: &[String], reads: &[Vec<String>]) -> std::result::Result<Vec<usize>, Vec<usize>> {
    let deps: Vec<Vec<usize>> = reads
        .iter()
        .enumerate()
        .map(|(i, r)| r.iter().filter_map(|r| names.iter().position(|n| n == r)).filter(|&j| j != i).collect())
        .collect();
    let mut done = vec![false; names.len()];
    let mut order = Vec::new();
    while order.len() < names.len() {
        match (0..names.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d])) {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => return Err((0..names.len()).filter(|&i| !done[i]).collect()),
        }
    }
    Ok(order)
}
