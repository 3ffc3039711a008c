//! Where code review reads results: SARIF 2.1.0 for code scanning (one rule per check, one
//! result per failed check, located at its SQL file and the line of its `-- id:`), and GitHub
//! Actions workflow commands (`::error file=...,line=...::...`), one per failed check.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{CheckLine, Report};
use crate::engine::Severity;
use crate::engine::BUILT_IN_QUERIES;

/// A check's SQL file as a path relative to `cwd` (`/`-separated), or none for the built-in copy,
/// which is in no file a CI run can open.
fn located(check: &CheckLine, cwd: &Path) -> Option<String> {
    if check.file.starts_with(BUILT_IN_QUERIES) {
        return None;
    }
    let absolute = std::fs::canonicalize(&check.file).unwrap_or_else(|_| check.file.clone());
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let rel: PathBuf = absolute.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(absolute);
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

fn message(check: &CheckLine) -> String {
    let rows = match &check.baseline {
        Some(b) if !b.compared_in_full => format!("{} new failing rows ({} in all)", b.new_rows, check.failing_rows),
        _ => format!("{} failing rows", check.failing_rows),
    };
    format!("{}: {rows}: {}", check.id, check.description)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warn => "warning",
    }
}

pub fn render_sarif(report: &Report, cwd: &Path) -> String {
    let rules: Vec<Value> = report
        .checks
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "shortDescription": { "text": crate::engine::printable(&c.description) },
                "defaultConfiguration": { "level": level(c.declared_severity) },
                "properties": { "sql_sha256": c.sql_sha256 },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .checks
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status != "pass")
        .map(|(index, c)| {
            let mut result = json!({
                "ruleId": c.id,
                "ruleIndex": index,
                "level": level(c.severity),
                "message": { "text": crate::engine::printable(&message(c)) },
                "properties": { "failing_rows": c.failing_rows },
            });
            let uri = located(c, cwd).unwrap_or_else(|| c.file.to_string_lossy().into_owned());
            result["locations"] = json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri },
                    "region": { "startLine": c.line.max(1) },
                }
            }]);
            result
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "stedi-tui",
                "version": report.version,
                "informationUri": "https://github.com/your-org/stedi-tui",
                "rules": rules,
            }},
            "properties": { "sql": report.sql.to_string(), "mode": report.mode },
            "results": results,
        }],
    });
    crate::engine::to_json_pretty(&sarif) + "\n"
}

/// GitHub escapes: `%`, CR and LF in a message; also `:` and `,` in a property.
fn escape(text: &str, property: bool) -> String {
    let mut out = text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    crate::engine::printable(&out).into_owned()
}

/// One `::error` / `::warning` line per failed check, at its SQL file (relative to `cwd`) and
/// the line of its `-- id:`; a built-in check has no file to point at, so its line names none.
pub fn github_annotations(report: &Report, cwd: &Path) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status != "pass")
        .map(|c| {
            let kind = level(c.severity);
            let place = match located(c, cwd) {
                Some(file) => format!("file={},line={},", escape(&file, true), c.line.max(1)),
                None => String::new(),
            };
            format!("::{kind} {place}title={}::{}", escape(&c.id, true), escape(&message(c), false))
        })
        .collect()
}
