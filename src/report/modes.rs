//! Text renderings of the two-mode commands: `diff` (what each mode keeps that the other does not,
//! by reason) and `forget` (a customer's rows in every table of both modes).
use std::fmt::Write;

use super::thousands as group;
use crate::engine::printable;
use crate::engine::CustomerRows;
use crate::engine::Diff;
use crate::engine::Mode;

pub fn render_diff_text(diff: &Diff) -> String {
    let mut out = String::new();
    let width = diff.tables.iter().map(|t| printable(&t.table).len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "{:<width$} {:>10} {:>10}", "table", "rubric", "strict");
    for t in &diff.tables {
        let _ =
            writeln!(out, "{:<width$} {:>10} {:>10}", printable(&t.table), group(t.rubric_rows), group(t.strict_rows));
        for mode in [Mode::Rubric, Mode::Strict] {
            let only = t.only_in(mode);
            if only == 0 {
                continue;
            }
            let _ = writeln!(out, "  kept only by {}: {}", mode.as_str(), group(only));
            for d in t.differences.iter().filter(|d| d.kept_by == mode) {
                let _ = writeln!(out, "    {:<18} {:>10}", printable(&d.reason), group(d.rows));
            }
        }
    }
    let total = |mode| diff.tables.iter().map(|t| t.only_in(mode)).sum::<u64>();
    let _ = writeln!(
        out,
        "\n{} rows kept only by rubric, {} only by strict, over {} tables{}",
        group(total(Mode::Rubric)),
        group(total(Mode::Strict)),
        diff.tables.len(),
        if diff.erased_customers > 0 {
            format!(" ({} erased customers left out by both)", diff.erased_customers)
        } else {
            String::new()
        }
    );
    out
}

/// `email` is already masked (or not, with --show-pii) by the caller.
pub fn render_forget_text(email: &str, rows: &[CustomerRows]) -> String {
    let mut out = String::new();
    let width = rows.iter().map(|r| printable(&r.table).len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "rows of {}, before erasure:", printable(email));
    let _ = writeln!(out, "{:<8} {:<width$} {:>10} {:>10}", "zone", "table", "rubric", "strict");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<8} {:<width$} {:>10} {:>10}",
            r.zone.as_str(),
            printable(&r.table),
            group(r.rubric),
            group(r.strict)
        );
    }
    out
}
