//! What makes a check's failing rows fail a run: thresholds in its header (`-- warn_if: > 0`,
//! `-- error_if: > 1%`), a baseline of known failing rows, and which checks run at all
//! (`--select` / `--exclude`). Strict mode ignores thresholds and baselines: every failing row is
//! an error there.
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};

/// A comparison of a check's failing rows with a number, or with a share of its table's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub op: Op,
    pub value: f64,
    /// `1%`: the value is a percentage of the check's table's rows.
    pub percent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Threshold {
    /// `> 0`, `>= 100`, `!= 0`, `> 1%`, `<= 2.5%`.
    pub fn parse(text: &str) -> std::result::Result<Threshold, String> {
        let text = text.trim();
        let (op, rest) = [(">=", Op::Ge), ("<=", Op::Le), ("!=", Op::Ne), (">", Op::Gt), ("<", Op::Lt), ("=", Op::Eq)]
            .into_iter()
            .find_map(|(sym, op)| text.strip_prefix(sym).map(|rest| (op, rest.trim())))
            .ok_or_else(|| format!("{text:?}: expected a comparison such as `> 0`, `>= 100` or `> 1%`"))?;
        let (number, percent) = match rest.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (rest, false),
        };
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{text:?}: {number:?} is not a non-negative number"))?;
        if percent && value > 100.0 {
            return Err(format!("{text:?}: a share is at most 100%"));
        }
        if !percent && value.fract() != 0.0 {
            return Err(format!("{text:?}: a row count is a whole number"));
        }
        Ok(Threshold { op, value, percent })
    }

    /// Whether `rows` failing rows, of a table of `table_rows`, meet this threshold.
    pub fn holds(&self, rows: u64, table_rows: u64) -> bool {
        let left = if self.percent {
            if table_rows == 0 {
                0.0
            } else {
                rows as f64 * 100.0 / table_rows as f64
            }
        } else {
            rows as f64
        };
        match self.op {
            Op::Gt => left > self.value,
            Op::Ge => left >= self.value,
            Op::Lt => left < self.value,
            Op::Le => left <= self.value,
            Op::Eq => left == self.value,
            Op::Ne => left != self.value,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let op = match self.op {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ne => "!=",
        };
        write!(f, "{op} {}{}", self.value, if self.percent { "%" } else { "" })
    }
}

/// `--select` / `--exclude`: globs (`*`, `?`) over check ids and table names.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether the check `id` (about `table`, when it is about one) runs.
    pub fn includes(&self, id: &str, table: Option<&str>) -> bool {
        let hit = |pattern: &String| glob(pattern, id) || table.is_some_and(|t| glob(pattern, t));
        (self.select.is_empty() || self.select.iter().any(hit)) && !self.exclude.iter().any(hit)
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Known failing rows, as `--update-baseline FILE` writes them: per check, the SHA-256 of its SQL
/// and a fingerprint of each failing row with how many times it occurs. A fingerprint is a
/// truncated SHA-256 of the row; the file holds no value of the input.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub format: String,
    pub checks: BTreeMap<String, BaselineCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineCheck {
    pub sql_sha256: String,
    /// Row fingerprint -> occurrences.
    pub rows: BTreeMap<String, u64>,
}

pub const BASELINE_FORMAT: &str = "stedi-tui baseline 1";

impl Baseline {
    pub fn read(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|e| EngineError::input(path, format!("not a stedi-tui baseline: {e}")))?;
        if baseline.format != BASELINE_FORMAT {
            return Err(EngineError::input(
                path,
                format!("baseline format {:?}, this build reads {BASELINE_FORMAT:?}", baseline.format),
            ));
        }
        Ok(baseline)
    }

    pub fn render(&self) -> String {
        crate::engine::printable::to_json_pretty(self) + "\n"
    }
}

/// The SHA-256 (hex) of a check's SQL as run.
pub fn sql_sha256(sql: &str) -> String {
    super::cache::hex(&Sha256::digest(sql.as_bytes()))
}

/// How a baseline judged one check's failing rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BaselineVerdict {
    /// Failing rows that are not in the baseline.
    pub new_rows: u64,
    /// Baseline rows no longer failing (good news).
    pub resolved_rows: u64,
    /// The check's SQL differs from the baseline's (or the baseline lacks it): compared in full.
    pub compared_in_full: bool,
}

/// Compare a check's current row fingerprints with its baseline entry.
pub fn compare(current: &BTreeMap<String, u64>, sql_hash: &str, entry: Option<&BaselineCheck>) -> BaselineVerdict {
    let total: u64 = current.values().sum();
    match entry {
        Some(base) if base.sql_sha256 == sql_hash => {
            let new_rows = current.iter().map(|(fp, n)| n.saturating_sub(*base.rows.get(fp).unwrap_or(&0))).sum();
            let resolved_rows = base.rows.iter().map(|(fp, n)| n.saturating_sub(*current.get(fp).unwrap_or(&0))).sum();
            BaselineVerdict { new_rows, resolved_rows, compared_in_full: false }
        }
        _ => BaselineVerdict { new_rows: total, resolved_rows: 0, compared_in_full: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_threshold_form_on_both_sides_of_its_boundary() {
        let t = |s: &str| Threshold::parse(s).unwrap();
        assert!(!t("> 0").holds(0, 10) && t("> 0").holds(1, 10));
        assert!(!t(">= 100").holds(99, 0) && t(">= 100").holds(100, 0));
        assert!(t("< 5").holds(4, 0) && !t("< 5").holds(5, 0));
        assert!(t("<= 5").holds(5, 0) && !t("<= 5").holds(6, 0));
        assert!(t("= 3").holds(3, 0) && !t("= 3").holds(2, 0));
        assert!(t("!= 0").holds(1, 0) && !t("!= 0").holds(0, 0));
        // 1% of 1,000 rows is 10: 10 is not more than 1%, 11 is.
        assert!(!t("> 1%").holds(10, 1000) && t("> 1%").holds(11, 1000));
        assert!(t(">= 2.5%").holds(25, 1000) && !t(">= 2.5%").holds(24, 1000));
        assert!(!t("> 1%").holds(0, 0), "an empty table has no share");
        for bad in ["", "0", "> ", "> x", "> -1", "> 1.5", "> 101%", "=> 1", "> 1 %%"] {
            assert!(Threshold::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn globs_select_by_check_id_or_table() {
        assert!(glob("consent_leak.*", "consent_leak.customer_trusted"));
        assert!(glob("*.machine_learning_curated", "pii.machine_learning_curated"));
        assert!(glob("c?nsent*", "consent_leak.x") && !glob("consent", "consent_leak.x"));
        assert!(glob("*", "") && glob("a*b*c", "aXbYc") && !glob("a*b*c", "aXbY"));
        let s = Selection { select: vec!["consent_leak.*".into()], exclude: vec!["*customer_curated".into()] };
        assert!(s.includes("consent_leak.customer_trusted", Some("customer_trusted")));
        assert!(!s.includes("consent_leak.customer_curated", Some("customer_curated")));
        assert!(!s.includes("duplicate.customer_landing", Some("customer_landing")));
        let by_table = Selection { select: vec!["step_trainer_trusted".into()], exclude: vec![] };
        assert!(by_table.includes("pre_consent.step_trainer_trusted", Some("step_trainer_trusted")));
    }

    #[test]
    fn a_baseline_counts_new_and_resolved_rows_and_compares_an_edited_check_in_full() {
        let rows = |pairs: &[(&str, u64)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();
        let base = BaselineCheck { sql_sha256: "h".into(), rows: rows(&[("a", 1), ("b", 2)]) };
        let now = rows(&[("a", 1), ("b", 3), ("c", 1)]);
        assert_eq!(
            compare(&now, "h", Some(&base)),
            BaselineVerdict { new_rows: 2, resolved_rows: 0, compared_in_full: false }
        );
        assert_eq!(compare(&rows(&[("a", 1)]), "h", Some(&base)).resolved_rows, 2);
        assert_eq!(
            compare(&now, "edited", Some(&base)),
            BaselineVerdict { new_rows: 5, resolved_rows: 0, compared_in_full: true }
        );
        assert!(compare(&now, "h", None).compared_in_full);
    }
}
