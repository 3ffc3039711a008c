//! The plain-text report: table counts, one line per check, then samples of the failing rows.
//! Every name, path and value is [`printable`]: none can start a line of its own.
use std::fmt::Write;

use super::{thousands as group, Report};
use crate::engine::{printable, printable_path};

pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let name_width = report.tables.iter().map(|t| printable(&t.name).len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "{:<8} {:<name_width$} {:>12} {:>9}", "zone", "table", "rows", "time");
    for t in &report.tables {
        let _ = writeln!(
            out,
            "{:<8} {:<name_width$} {:>12} {:>8.3}s{}",
            t.zone.as_str(),
            printable(&t.name),
            group(t.rows),
            t.seconds.as_secs_f64(),
            if t.rejected > 0 { format!("  ({} rejected)", group(t.rejected)) } else { String::new() }
        );
    }
    // Which SQL decided all of this: the built-in copy, or a folder (an edited copy, perhaps).
    let _ = writeln!(out, "{:<8} {}", "sql", report.sql);
    if report.checks.is_empty() {
        return out;
    }
    let id_width = report.checks.iter().map(|c| printable(&c.id).len()).max().unwrap_or(5);
    let _ = writeln!(out);
    for c in &report.checks {
        let _ = writeln!(
            out,
            "{} {:<5} {:<id_width$} {:>9}  {}{}",
            c.verdict(),
            c.severity.as_str(),
            printable(&c.id),
            group(c.failing_rows),
            printable(&c.description),
            c.let_through.as_ref().map_or(String::new(), |why| format!(" [let through: {why}]"))
        );
    }
    for c in report.checks.iter().filter(|c| c.sample.is_some()) {
        let sample = c.sample.as_ref().expect("filtered");
        let _ = writeln!(
            out,
            "\n{} {}: {} failing rows, first {}:",
            c.verdict(),
            printable(&c.id),
            group(c.failing_rows),
            sample.rows.len()
        );
        let columns: Vec<String> = sample.columns.iter().map(|v| printable(v).into_owned()).collect();
        let rows: Vec<Vec<String>> =
            sample.rows.iter().map(|r| r.iter().map(|v| printable(v).into_owned()).collect()).collect();
        let widths: Vec<usize> = (0..columns.len())
            .map(|i| {
                rows.iter().map(|r| r[i].chars().count()).chain([columns[i].chars().count()]).max().unwrap_or(0).min(40)
            })
            .collect();
        let line = |cells: &[String]| {
            cells
                .iter()
                .zip(&widths)
                .map(|(v, w)| {
                    let v: String = v.chars().take(*w).collect();
                    format!("{v:<w$}")
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(out, "  {}", line(&columns).trim_end());
        for row in &rows {
            let _ = writeln!(out, "  {}", line(row).trim_end());
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} checks: {} passed, {} warnings, {} errors{}{}",
        s.checks,
        s.passed,
        s.warnings,
        s.errors,
        if s.strict { " (strict: warnings count as errors)" } else { "" },
        if s.pii_shown { " (personal data shown)" } else { "" }
    );
    let _ = writeln!(
        out,
        "time: load {:.3}s, stages {:.3}s, checks {:.3}s",
        s.timings.load.as_secs_f64(),
        s.timings.stages.as_secs_f64(),
        s.timings.checks.as_secs_f64()
    );
    let c = &s.cache;
    match &c.file {
        Some(file) => {
            let _ = writeln!(
                out,
                "cache: {} files parsed, {} reused; {} stages built, {} reused; {} checks run, {} reused ({})",
                c.files_parsed,
                c.files_reused,
                c.stages_built,
                c.stages_reused,
                c.checks_run,
                c.checks_reused,
                printable_path(file)
            );
        }
        None => {
            let _ = writeln!(out, "cache: none (every file parsed)");
        }
    }
    out
}
