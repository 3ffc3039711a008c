//! Where the SQL comes from: the copy of `queries/` compiled into the binary (so an installed
//! stedi-tui runs from any folder), or a folder the user names. The rule is one line, printed in
//! every report: `--queries DIR`, else `$STEDI_TUI_QUERIES`, else the built-in copy. (This
//! checkout's `.cargo/config.toml` sets `STEDI_TUI_QUERIES` to its `queries/` for `cargo run` and
//! `cargo test`, so an edit there takes effect on the next run without a rebuild.)
//!
//! Every SQL file is read once, here, into [`SqlFiles`]; the catalog takes all of them from it and
//! nothing else reads `queries/`. Its hash (SHA-256 over every file's path and text) tells "the
//! shipped rules" from "someone's edited copy" at a glance.
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_queries.rs"));
}

/// The environment variable that names a queries folder when `--queries` does not.
pub const QUERIES_ENV: &str = "STEDI_TUI_QUERIES";
/// How built-in files are named in messages: `<built-in>/checks/duplicate.sql`.
pub const BUILT_IN: &str = "<built-in>";
/// The folders a queries folder must hold for a run (`strict/`, `diff/` and `erasure/` are asked
/// for by the commands that need them).
pub const REQUIRED_FOLDERS: [&str; 5] = ["landing", "reference", "trusted", "curated", "checks"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum QuerySource {
    /// The copy of `queries/` compiled into this binary.
    #[default]
    BuiltIn,
    Folder(PathBuf),
}

impl QuerySource {
    /// `--queries DIR`, else `$STEDI_TUI_QUERIES` (when not empty), else the built-in copy.
    pub fn choose(flag: Option<&Path>) -> QuerySource {
        if let Some(dir) = flag {
            return QuerySource::Folder(dir.to_path_buf());
        }
        match std::env::var_os(QUERIES_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => QuerySource::Folder(PathBuf::from(dir)),
            None => QuerySource::BuiltIn,
        }
    }

    /// Every SQL file of this source. A folder that is missing, or lacks a required sub-folder,
    /// is an error that says which.
    pub fn read(&self) -> Result<SqlFiles> {
        let files: BTreeMap<String, String> = match self {
            QuerySource::BuiltIn => builtin::FILES.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
            QuerySource::Folder(dir) => read_folder(dir)?,
        };
        let mut hasher = Sha256::new();
        for (path, text) in &files {
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let hash = super::cache::hex(&hasher.finalize());
        Ok(SqlFiles { source: self.clone(), files, hash })
    }
}

impl fmt::Display for QuerySource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            QuerySource::BuiltIn => f.write_str("built-in"),
            QuerySource::Folder(dir) => write!(f, "folder {}", dir.display()),
        }
    }
}

impl From<&Path> for QuerySource {
    fn from(dir: &Path) -> Self {
        QuerySource::Folder(dir.to_path_buf())
    }
}
impl From<PathBuf> for QuerySource {
    fn from(dir: PathBuf) -> Self {
        QuerySource::Folder(dir)
    }
}
impl From<&PathBuf> for QuerySource {
    fn from(dir: &PathBuf) -> Self {
        QuerySource::Folder(dir.clone())
    }
}
impl From<&str> for QuerySource {
    fn from(dir: &str) -> Self {
        QuerySource::Folder(PathBuf::from(dir))
    }
}
impl From<&QuerySource> for QuerySource {
    fn from(source: &QuerySource) -> Self {
        source.clone()
    }
}

fn read_folder(dir: &Path) -> Result<BTreeMap<String, String>> {
    if !dir.is_dir() {
        return Err(EngineError::input(
            dir,
            "queries folder not found (leave out --queries and STEDI_TUI_QUERIES to use the built-in SQL)",
        ));
    }
    let missing: Vec<String> =
        REQUIRED_FOLDERS.iter().filter(|f| !dir.join(f).is_dir()).map(|f| format!("{f}/")).collect();
    if !missing.is_empty() {
        return Err(EngineError::input(
            dir,
            format!(
                "not a stedi-tui queries folder: it lacks {} (`stedi-tui init DIR` writes a complete one)",
                missing.join(", ")
            ),
        ));
    }
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| EngineError::input(dir, format!("cannot read the queries folder: {e}")))?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let text = fs::read_to_string(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        let rel = path.strip_prefix(dir).expect("walked from dir");
        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        files.insert(rel.join("/"), text);
    }
    Ok(files)
}

/// Where a run's SQL came from: `built-in` (the copy compiled into the binary) or `folder`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SqlProvenance {
    pub origin: &'static str,
    /// The folder, absolute, when `origin` is `folder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    /// SHA-256 over every SQL file's relative path and text.
    pub sha256: String,
}

impl fmt::Display for SqlProvenance {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.folder {
            Some(dir) => write!(f, "folder {} sha256:{}", dir.display(), &self.sha256[..12]),
            None => write!(f, "{} sha256:{}", self.origin, &self.sha256[..12]),
        }
    }
}

/// Every SQL file of one source, by its path relative to the queries folder (`/`-separated).
#[derive(Debug, Clone)]
pub struct SqlFiles {
    pub source: QuerySource,
    files: BTreeMap<String, String>,
    /// SHA-256 (hex) over every file's relative path and text, in path order.
    hash: String,
}

impl SqlFiles {
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The first 12 hex digits of the hash, for titles and report headers.
    pub fn short_hash(&self) -> &str {
        &self.hash[..12]
    }

    /// `built-in sha256:0123456789ab` or `folder queries sha256:...`.
    pub fn describe(&self) -> String {
        format!("{} sha256:{}", self.source, self.short_hash())
    }

    /// The root files are named under in messages: the folder, or `<built-in>`.
    pub fn root(&self) -> PathBuf {
        match &self.source {
            QuerySource::BuiltIn => PathBuf::from(BUILT_IN),
            QuerySource::Folder(dir) => dir.clone(),
        }
    }

    /// The path a file is named by in messages and reports.
    pub fn path_of(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Whether the source holds a folder of that relative name (with at least one file in it, for
    /// the built-in copy; a folder on disk counts when it exists).
    pub fn has_folder(&self, folder: &str) -> bool {
        match &self.source {
            QuerySource::Folder(dir) => dir.join(folder).is_dir(),
            QuerySource::BuiltIn => self.files.keys().any(|p| p.starts_with(&format!("{folder}/"))),
        }
    }

    /// The `*.sql` files directly inside `folder` (`strict/trusted`, say): (path for messages,
    /// text), in file-name order.
    pub fn in_folder(&self, folder: &str) -> Vec<(PathBuf, &str)> {
        let prefix = format!("{folder}/");
        self.files
            .iter()
            .filter(|(p, _)| p.strip_prefix(&prefix).is_some_and(|rest| !rest.contains('/')))
            .map(|(p, t)| (self.path_of(p), t.as_str()))
            .collect()
    }

    /// One file by its relative path.
    pub fn get(&self, rel: &str) -> Option<(PathBuf, &str)> {
        self.files.get(rel).map(|t| (self.path_of(rel), t.as_str()))
    }

    /// Where the SQL came from and its hash, for reports and manifests.
    pub fn provenance(&self) -> SqlProvenance {
        let (origin, folder) = match &self.source {
            QuerySource::BuiltIn => ("built-in", None),
            QuerySource::Folder(dir) => ("folder", Some(super::cache::registry::absolute(dir))),
        };
        SqlProvenance { origin, folder, sha256: self.hash.clone() }
    }

    /// Every file: (relative path, text), in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(p, t)| (p.as_str(), t.as_str()))
    }
}
