//! What each relation was computed from, as one fingerprint per name: a landing table's is its DDL
//! and its files' contents; a view's, stage's or check's is its SQL and the fingerprints of every
//! relation that SQL names. Equal fingerprints mean the cached table or check result is what
//! this run would compute again, so it is reused; anything else is rebuilt.
//!
//! What a name does not show is covered too: SQL that reads the catalogue depends on every
//! relation; SQL that reads files (`read_json(...)`) or calls a volatile function (`now()`,
//! `random()`) gets this run's nonce, so its result is never reused by a later run; SQL the lexer
//! cannot follow (a literal never closed) depends on every relation.
use std::collections::{BTreeMap, BTreeSet};

use super::cache::fingerprint;
use super::sql_text::{lex, Lexed};

/// Functions and schemas that read the catalogue: what they return depends on every relation.
const CATALOGUE: [&str; 6] = [
    "information_schema",
    "duckdb_columns",
    "duckdb_tables",
    "duckdb_views",
    "duckdb_constraints",
    "pragma_table_info",
];

/// Functions that read files: what they return depends on files no fingerprint covers.
const FILE_READERS: [&str; 11] = [
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "read_text",
    "read_blob",
    "glob",
    "parquet_scan",
    "read_ndjson_auto",
];

/// Functions whose result differs from run to run.
const VOLATILE: [&str; 9] = [
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "today",
    "random",
    "uuid",
    "gen_random_uuid",
    "setseed",
];

/// Whether the lexed SQL names one of `list`.
fn names_any(lexed: &Lexed, list: &[&str]) -> bool {
    lexed.identifiers.iter().any(|id| list.contains(&id.as_str()))
}

/// Whether what the SQL reads is more than the relations it names: the catalogue, files, or
/// text the lexer could not follow.
fn reads_everything(lexed: &Lexed) -> bool {
    lexed.unterminated || names_any(lexed, &CATALOGUE) || names_any(lexed, &FILE_READERS)
}

/// A value no other run of any process has: the pid, the time and a counter, hashed.
fn new_nonce() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()).to_string();
    let pid = std::process::id().to_string();
    fingerprint(["stedi-tui nonce", pid.as_str(), now.as_str(), n.as_str()])
}

#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Mode, pseudonym key (as a digest) and the like: what every fingerprint depends on.
    global: String,
    /// Lower-cased relation name -> fingerprint.
    known: BTreeMap<String, String>,
    /// This run's own value: what includes it is never reused by another run.
    nonce: String,
}

impl Lineage {
    pub fn new(global: String) -> Lineage {
        Lineage { global, known: BTreeMap::new(), nonce: new_nonce() }
    }

    /// This run's nonce, for a fingerprint that must never match a later run's (e.g. a landing
    /// table whose files changed while it was loaded).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    pub fn set(&mut self, name: &str, fingerprint: String) {
        self.known.insert(name.to_lowercase(), fingerprint);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.known.get(&name.to_lowercase()).map(String::as_str)
    }

    /// The fingerprint of `sql` of some `kind` (view, stage, check): its text and the fingerprints
    /// of the known relations it names. A name it does not know (a column) adds nothing; SQL that
    /// reads the catalogue, or that the lexer cannot follow, adds every known relation; SQL that
    /// reads files or calls a volatile function adds this run's nonce.
    pub fn of_sql(&self, kind: &str, sql: &str) -> String {
        let lexed = lex(sql);
        let reads_files = names_any(&lexed, &FILE_READERS);
        let everything = reads_everything(&lexed).then(|| self.of_everything());
        let reads: BTreeSet<&String> = lexed.identifiers.iter().filter(|n| self.known.contains_key(*n)).collect();
        let mut parts = vec![self.global.as_str(), kind, sql];
        for name in reads {
            parts.push(name);
            parts.push(&self.known[name]);
        }
        if let Some(everything) = &everything {
            parts.extend(["everything", everything.as_str()]);
        }
        if reads_files || names_any(&lexed, &VOLATILE) {
            parts.extend(["nonce", self.nonce.as_str()]);
        }
        fingerprint(parts)
    }

    /// Set the fingerprints of views that may read each other (the reference views): each from its
    /// SQL once the views it reads have theirs (a view that reads everything, see [`Self::of_sql`],
    /// once every other view has its). A view in a cycle (DuckDB would refuse it) or reading one
    /// gets a fingerprint of its SQL, every known relation and the SQL of the views left, so it is
    /// never reused wrongly.
    pub fn set_views(&mut self, views: &[(String, String)]) {
        let names: BTreeSet<String> = views.iter().map(|(n, _)| n.to_lowercase()).collect();
        for name in &names {
            self.known.remove(name);
        }
        let mut pending: Vec<&(String, String)> = views.iter().collect();
        while !pending.is_empty() {
            let ready: Vec<usize> = pending
                .iter()
                .enumerate()
                .filter(|(_, (name, sql))| {
                    let lexed = lex(sql);
                    let last = pending.len() == 1;
                    (last || !reads_everything(&lexed))
                        && lexed
                            .identifiers
                            .iter()
                            .all(|id| !names.contains(id) || *id == name.to_lowercase() || self.known.contains_key(id))
                })
                .map(|(i, _)| i)
                .collect();
            if ready.is_empty() {
                let everything: Vec<String> = self.known.values().cloned().collect();
                let left: Vec<String> = pending.iter().map(|(n, s)| format!("{}\0{s}", n.to_lowercase())).collect();
                for (name, sql) in pending.drain(..) {
                    let mut parts = vec![self.global.as_str(), "cyclic view", sql.as_str()];
                    parts.extend(everything.iter().map(String::as_str));
                    parts.extend(left.iter().map(String::as_str));
                    self.known.insert(name.to_lowercase(), fingerprint(parts));
                }
                break;
            }
            for &i in ready.iter().rev() {
                let (name, sql) = pending.remove(i);
                let fp = self.of_sql("view", sql);
                self.known.insert(name.to_lowercase(), fp);
            }
        }
    }

    /// A fingerprint of every relation known (for what reads the whole catalogue, e.g. `zone_columns`).
    pub fn of_everything(&self) -> String {
        let mut parts = vec![self.global.as_str()];
        for (name, fp) in &self.known {
            parts.push(name);
            parts.push(fp);
        }
        fingerprint(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_follows_what_the_sql_reads_and_nothing_else() {
        let mut lineage = Lineage::new("g".into());
        lineage.set("a_landing", "1".into());
        lineage.set("b_landing", "2".into());
        let sql = "SELECT x FROM a_landing -- not b_landing";
        let before = lineage.of_sql("stage", sql);
        lineage.set("b_landing", "3".into());
        assert_eq!(lineage.of_sql("stage", sql), before, "b_landing is only in a comment");
        lineage.set("a_landing", "4".into());
        assert_ne!(lineage.of_sql("stage", sql), before);
        assert_ne!(lineage.of_sql("check", sql), lineage.of_sql("stage", sql));
    }

    #[test]
    fn views_reading_views_get_their_inputs_fingerprints() {
        let mut lineage = Lineage::new("g".into());
        lineage.set("t", "1".into());
        let views =
            vec![("v2".to_string(), "SELECT * FROM v1".to_string()), ("v1".to_string(), "SELECT * FROM t".to_string())];
        lineage.set_views(&views);
        let v2 = lineage.get("v2").unwrap().to_string();
        lineage.set("t", "2".into());
        lineage.set_views(&views);
        assert_ne!(lineage.get("v2").unwrap(), v2, "v2 reads v1 reads t");
    }

    #[test]
    fn a_view_that_reads_everything_follows_the_other_views() {
        let views = |v1: &str| {
            vec![
                ("a_meta".to_string(), "SELECT * FROM duckdb_columns()".to_string()),
                ("v1".to_string(), v1.to_string()),
                ("b_meta".to_string(), "SELECT 'unclosed FROM t".to_string()),
            ]
        };
        let mut lineage = Lineage::new("g".into());
        lineage.set("t", "1".into());
        lineage.set_views(&views("SELECT * FROM t"));
        let (a, b) = (lineage.get("a_meta").unwrap().to_string(), lineage.get("b_meta").unwrap().to_string());
        lineage.set_views(&views("SELECT * FROM t WHERE 1 = 1"));
        assert_ne!(lineage.get("a_meta").unwrap(), a, "a_meta reads the catalogue, which shows v1");
        assert_ne!(lineage.get("b_meta").unwrap(), b, "b_meta may read v1");
    }

    #[test]
    fn a_backquoted_quote_hides_no_read() {
        let mut lineage = Lineage::new("g".into());
        lineage.set("a_landing", "1".into());
        let sql = "SELECT `it's` FROM a_landing";
        let before = lineage.of_sql("stage", sql);
        lineage.set("a_landing", "2".into());
        assert_ne!(lineage.of_sql("stage", sql), before, "a_landing is read after the backquoted name");
        let sql = "SELECT $$it's$$ FROM a_landing";
        let before = lineage.of_sql("stage", sql);
        lineage.set("a_landing", "3".into());
        assert_ne!(lineage.of_sql("stage", sql), before, "a_landing is read after the dollar-quoted string");
    }

    #[test]
    fn sql_the_lexer_cannot_follow_reads_everything() {
        let mut lineage = Lineage::new("g".into());
        lineage.set("a_landing", "1".into());
        lineage.set("b_landing", "2".into());
        // E'...' escapes are not lexed: after `E'it\'` everything looks like a string.
        let sql = "SELECT E'it\\'s' FROM a_landing";
        let before = lineage.of_sql("stage", sql);
        assert_eq!(lineage.of_sql("stage", sql), before, "deterministic");
        lineage.set("b_landing", "3".into());
        assert_ne!(lineage.of_sql("stage", sql), before, "an unclosed literal depends on every relation");
    }

    #[test]
    fn catalogue_readers_depend_on_everything_and_file_readers_are_never_reused() {
        let mut lineage = Lineage::new("g".into());
        lineage.set("a_landing", "1".into());
        let catalogue = "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'x'";
        let files = "SELECT * FROM read_json('data/*.json')";
        let (c1, f1) = (lineage.of_sql("check", catalogue), lineage.of_sql("check", files));
        assert_eq!(lineage.of_sql("check", catalogue), c1, "deterministic within a run");
        lineage.set("a_landing", "2".into());
        assert_ne!(lineage.of_sql("check", catalogue), c1, "the catalogue shows every relation");
        assert_ne!(lineage.of_sql("check", files), f1);
        lineage.set("a_landing", "1".into());
        assert_eq!(lineage.of_sql("check", catalogue), c1);
        let next_run = {
            let mut l = Lineage::new("g".into());
            l.set("a_landing", "1".into());
            l
        };
        assert_eq!(next_run.of_sql("check", catalogue), c1, "the catalogue alone is deterministic across runs");
        assert_ne!(next_run.of_sql("check", files), f1, "a file reader is never reused by another run");
        let plain = "SELECT * FROM a_landing";
        assert_eq!(next_run.of_sql("check", plain), lineage.of_sql("check", plain), "plain SQL is deterministic");
    }

    #[test]
    fn volatile_functions_are_never_reused() {
        let (one, two) = (Lineage::new("g".into()), Lineage::new("g".into()));
        for sql in [
            "SELECT now()",
            "SELECT * FROM t WHERE d < current_date",
            "SELECT random()",
            "SELECT gen_random_uuid()",
            "SELECT CURRENT_TIMESTAMP",
        ] {
            assert_eq!(one.of_sql("stage", sql), one.of_sql("stage", sql), "{sql}: the same within a run");
            assert_ne!(one.of_sql("stage", sql), two.of_sql("stage", sql), "{sql}: another run's differs");
        }
    }
}
