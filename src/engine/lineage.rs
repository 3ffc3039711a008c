//! What each relation was computed from, as one fingerprint per name: a landing table's is its DDL
//! and its files' contents; a view's, stage's or check's is its SQL and the fingerprints of every
//! relation that SQL names. Equal fingerprints mean the cached table or check result is what
//! this run would compute again, so it is reused; anything else is rebuilt.
use std::collections::{BTreeMap, BTreeSet};

use super::cache::fingerprint;
use super::sql_text::identifiers;

#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Mode, pseudonym key (as a digest) and the like: what every fingerprint depends on.
    global: String,
    /// Lower-cased relation name -> fingerprint.
    known: BTreeMap<String, String>,
}

impl Lineage {
    pub fn new(global: String) -> Lineage {
        Lineage { global, known: BTreeMap::new() }
    }

    pub fn set(&mut self, name: &str, fingerprint: String) {
        self.known.insert(name.to_lowercase(), fingerprint);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.known.get(&name.to_lowercase()).map(String::as_str)
    }

    /// The fingerprint of `sql` of some `kind` (view, stage, check): its text and the fingerprints
    /// of the known relations it names. A name it does not know (a column, a function) adds nothing.
    pub fn of_sql(&self, kind: &str, sql: &str) -> String {
        let reads: BTreeSet<String> = identifiers(sql).into_iter().filter(|n| self.known.contains_key(n)).collect();
        let mut parts = vec![self.global.as_str(), kind, sql];
        for name in &reads {
            parts.push(name);
            parts.push(&self.known[name]);
        }
        fingerprint(parts)
    }

    /// Set the fingerprints of views that may read each other (the reference views): each from its
    /// SQL once the views it reads have theirs. A view in a cycle (DuckDB would refuse it) or
    /// reading one gets a fingerprint of its SQL and every known relation, so it is never reused wrongly.
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
                    identifiers(sql)
                        .iter()
                        .all(|id| !names.contains(id) || *id == name.to_lowercase() || self.known.contains_key(id))
                })
                .map(|(i, _)| i)
                .collect();
            if ready.is_empty() {
                let everything: Vec<String> = self.known.values().cloned().collect();
                for (name, sql) in pending.drain(..) {
                    let mut parts = vec![self.global.as_str(), "cyclic view", sql.as_str()];
                    parts.extend(everything.iter().map(String::as_str));
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
}
