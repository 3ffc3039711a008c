//! The catalog: everything under `queries/`, read at run time so a user can edit a stage or add a
//! check without recompiling. Layout (dbt-like, one SQL file per model or test):
//!
//! - `landing/<table>_landing.sql`   CREATE TABLE with the declared landing types
//! - `reference/<view>.sql`          SELECTs the checks (and strict stages) share, e.g. who consents
//! - `trusted/<table>.sql`, `curated/<table>.sql`   one SELECT per zone table (a stage)
//! - `checks/<id>.sql`               a SELECT returning failing rows, with an id/severity header
//! - `strict/trusted/`, `strict/curated/`   the strict mode's stages: the same tables, made without the
//!   original design's privacy flaws; landing, reference and checks are shared by both modes
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::error::{EngineError, Result};
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
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

    /// The folder holding this mode's `trusted/` and `curated/` stage folders.
    pub fn stage_root(self, root: &Path) -> PathBuf {
        match self {
            Mode::Rubric => root.to_path_buf(),
            Mode::Strict => root.join("strict"),
        }
    }
}

/// A SQL file's leading `--` comment block: `key: value` lines become fields, the rest is prose.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub fields: BTreeMap<String, String>,
    pub prose: Vec<String>,
}

const HEADER_KEYS: [&str; 6] = ["id", "severity", "description", "for_each", "drops", "validate"];

impl Header {
    pub fn parse(sql: &str) -> Header {
        let mut header = Header::default();
        for line in sql.lines() {
            let line = line.trim();
            let Some(text) = line.strip_prefix("--") else {
                if line.is_empty() {
                    continue;
                }
                break;
            };
            let text = text.trim();
            match text.split_once(':') {
                Some((key, value)) if HEADER_KEYS.contains(&key.trim()) => {
                    header.fields.insert(key.trim().to_string(), value.trim().to_string());
                }
                _ => header.prose.push(text.to_string()),
            }
        }
        header
    }
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

#[derive(Debug, Clone)]
pub struct ReferenceView {
    pub name: String,
    pub path: PathBuf,
    pub sql: String,
}

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
    pub path: PathBuf,
    pub sql: String,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub root: PathBuf,
    pub mode: Mode,
    pub landing: Vec<LandingTable>,
    pub references: Vec<ReferenceView>,
    /// Stages in an order where every stage comes after the stages it reads.
    pub stages: Vec<Stage>,
    pub checks: Vec<CheckDef>,
}

fn sql_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| EngineError::input(dir, format!("cannot read folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn read_sql(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Catalog {
    /// The rubric mode's catalog.
    pub fn load(root: &Path) -> Result<Catalog> {
        Catalog::load_mode(root, Mode::Rubric)
    }

    /// The catalog of `mode`: its stage folders, and the shared landing, reference and checks.
    pub fn load_mode(root: &Path, mode: Mode) -> Result<Catalog> {
        if !root.is_dir() {
            return Err(EngineError::input(root, "queries folder not found"));
        }
        let mut landing = Vec::new();
        for path in sql_files(&root.join("landing"))? {
            let name = stem(&path);
            let Some(dataset) = name.strip_suffix("_landing") else {
                return Err(EngineError::sql(&path, "a landing table's file must be named <dataset>_landing.sql"));
            };
            let ddl = read_sql(&path)?;
            let validate_all = Header::parse(&ddl).fields.get("validate").is_some_and(|v| v == "every record");
            landing.push(LandingTable { dataset: dataset.to_string(), ddl, validate_all, name, path });
        }
        if landing.is_empty() {
            return Err(EngineError::input(root.join("landing"), "no landing table definitions (*.sql)"));
        }
        let mut references = Vec::new();
        for path in sql_files(&root.join("reference"))? {
            let sql = strip_trailing_semicolons(&read_sql(&path)?).to_string();
            references.push(ReferenceView { name: stem(&path), path, sql });
        }
        let references = order_references(references)?;
        let stage_root = mode.stage_root(root);
        if !stage_root.is_dir() {
            return Err(EngineError::input(&stage_root, format!("{} mode's stage folder not found", mode.as_str())));
        }
        let mut stages = Vec::new();
        for (zone, folder) in [(Zone::Trusted, "trusted"), (Zone::Curated, "curated")] {
            for path in sql_files(&stage_root.join(folder))? {
                let text = read_sql(&path)?;
                let header = Header::parse(&text);
                let sql = strip_trailing_semicolons(&text).to_string();
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
        for path in sql_files(&root.join("checks"))? {
            checks.push(parse_check(&path, &read_sql(&path)?)?);
        }
        Ok(Catalog { root: root.to_path_buf(), mode, landing, references, stages, checks })
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
    let header = Header::parse(text);
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
    let sql = strip_trailing_semicolons(text).to_string();
    Ok(CheckDef { id, severity, description, for_each, path: path.to_path_buf(), sql })
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
