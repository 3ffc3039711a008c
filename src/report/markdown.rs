//! `--check --format markdown`: the evidence report's story in GitHub-flavoured Markdown, for a CI
//! job summary (`$GITHUB_STEP_SUMMARY`) or a pull-request comment: the funnel as a table, failed
//! checks first, masked samples. Always under [`LIMIT`] bytes: with more detail than fits, the SQL
//! goes first, then the samples, then the landing file list; what still does not fit is cut with a
//! note (the HTML report has it all).
use std::fmt::Write;

use super::evidence::Evidence;
use super::{thousands as group, Sample};
use crate::engine::Mode;
use crate::engine::DROP_REASONS;
use crate::engine::TIMING_BUCKETS;
use crate::engine::{printable, printable_path};

/// GitHub's job summary takes up to 1 MiB, a comment 65,536 characters: stay under 64 KB.
pub const LIMIT: usize = 64 * 1000;
/// Landing files listed when there is room (the rest counted).
const FILES_LISTED: usize = 40;

/// `value` cut to `max` characters (an ellipsis when cut), on one line: a control character (a
/// newline, an escape) is shown as its escape, as in every report.
pub fn clip_cell(value: &str, max: usize) -> String {
    let one_line = printable(value);
    if one_line.chars().count() <= max {
        one_line.into_owned()
    } else {
        one_line.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// A table cell: one line, with every character Markdown could act on escaped (a value such as
/// `![x](http://host/pixel.png)` must not become an image fetched where the summary is shown, nor
/// `*a*` emphasis), HTML-significant characters as entities, and `|` so it stays in its cell.
fn cell(value: &str) -> String {
    let mut out = String::new();
    for c in clip_cell(value, 60).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '|' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn head(out: &mut String, names: &[&str], numeric_from: usize) {
    row(out, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    let align: Vec<String> =
        (0..names.len()).map(|i| if i >= numeric_from { "---:".to_string() } else { "---".to_string() }).collect();
    row(out, &align);
}

fn sample_md(out: &mut String, sample: &Sample) {
    out.push('\n');
    head(out, &sample.columns.iter().map(String::as_str).collect::<Vec<_>>(), usize::MAX);
    for r in &sample.rows {
        row(out, &r.iter().map(|v| cell(v)).collect::<Vec<_>>());
    }
    out.push('\n');
}

/// How much to show: 2 everything, 1 without SQL, 0 without samples either and fewer files.
fn render_at(ev: &Evidence, detail: u8) -> String {
    let mut out = String::new();
    let s = &ev.report.summary;
    let verdict = match (s.errors, s.warnings) {
        (0, 0) => "✅ every check passed".to_string(),
        (0, w) => format!("⚠️ no error-severity check failed; {w} warnings"),
        (e, _) => format!("❌ {e} error-severity checks failed: {}", s.failed_error_checks.join(", ")),
    };
    let _ = writeln!(out, "# STEDI evidence report\n\n**{verdict}**\n");
    let _ = writeln!(
        out,
        "{} mode · {} checks: {} passed, {} warnings, {} errors{} · personal data {}\n",
        ev.report.mode.as_str(),
        s.checks,
        s.passed,
        s.warnings,
        s.errors,
        if s.strict { " (strict)" } else { "" },
        if s.pii_shown { "**shown** (--show-pii)" } else { "masked" }
    );
    out.push_str("## Pipeline\n\n");
    head(&mut out, &["zone", "table", "rows", "input", "kept", "dropped", "drops"], 2);
    for t in &ev.report.tables {
        let mut cells = vec![t.zone.as_str().to_string(), format!("`{}`", t.name), group(t.rows)];
        match ev.stages.iter().find(|st| st.name == t.name) {
            Some(st) => cells.extend([
                st.input.clone().unwrap_or_else(|| format!("⋈ {}", st.reads_tables(ev).join(" ⋈ "))),
                group(st.kept),
                st.dropped.map_or("–".to_string(), group),
                cell(st.reason.as_deref().unwrap_or("")),
            ]),
            None => cells.extend([
                "landing files".to_string(),
                String::new(),
                String::new(),
                if t.rejected > 0 { format!("{} rejected", group(t.rejected)) } else { String::new() },
            ]),
        }
        row(&mut out, &cells);
    }
    out.push_str("\n## Checks (failed first)\n\n");
    head(&mut out, &["", "check", "severity", "failing rows", "description"], 3);
    let checks = ev.checks_failed_first();
    for c in &checks {
        let mark = match c.verdict() {
            "FAIL" => "❌ FAIL",
            "WARN" => "⚠️ WARN",
            _ => "✅ PASS",
        };
        let cells = [
            mark.to_string(),
            format!("`{}`", c.id),
            c.severity.as_str().to_string(),
            group(c.failing_rows),
            cell(&c.description),
        ];
        row(&mut out, &cells);
    }
    if detail >= 1 {
        for c in checks.iter().filter(|c| c.sample.is_some()) {
            let sample = c.sample.as_ref().expect("filtered");
            let _ = write!(
                out,
                "\n<details><summary>{} <code>{}</code>: {} failing rows, first {} (masked unless --show-pii)</summary>\n",
                c.verdict(),
                c.id,
                group(c.failing_rows),
                sample.rows.len()
            );
            sample_md(&mut out, sample);
            if detail >= 2 {
                let _ = writeln!(out, "```sql\n{}\n```\n", c.sql.trim_end());
            }
            out.push_str("</details>\n");
        }
    }
    out.push_str("\n## Consent at a glance\n\n");
    match &ev.consent {
        None => out.push_str("(no report/consent_timing.sql in the queries folder)\n"),
        Some(tables) => {
            out.push_str("Trusted readings by time relative to their owner's consent (the owner's latest record).\n\n");
            let mut names = vec!["taken"];
            names.extend(tables.iter().map(|t| t.table.as_str()));
            head(&mut out, &names, 1);
            for (i, (bucket, label)) in TIMING_BUCKETS.iter().enumerate() {
                let mark = match bucket {
                    b if *b < 0 => "🟥",
                    0 => "⬜",
                    _ => "🟩",
                };
                let mut cells = vec![format!("{mark} {label}")];
                cells.extend(tables.iter().map(|t| group(t.buckets[i].1)));
                row(&mut out, &cells);
            }
            let mut cells = vec!["**before / after / none**".to_string()];
            cells.extend(
                tables.iter().map(|t| {
                    format!("**{} / {} / {}**", group(t.before()), group(t.after()), group(t.without_consent()))
                }),
            );
            row(&mut out, &cells);
        }
    }
    out.push_str("\n## Stages\n");
    for st in &ev.stages {
        let _ = write!(out, "\n**`{}`** ({}): reads {}; ", st.name, st.zone.as_str(), st.reads.join(", "));
        match (&st.input, st.dropped) {
            (Some(input), Some(d)) => {
                let _ = write!(
                    out,
                    "of {} rows of `{input}` kept {}, dropped {}",
                    group(st.input_rows.unwrap_or(0)),
                    group(st.kept),
                    group(d)
                );
            }
            _ => {
                let _ = write!(out, "a join, {} rows", group(st.kept));
            }
        }
        let _ = writeln!(out, "{}.", st.reason.as_ref().map_or(String::new(), |r| format!(" (drops: {r})")));
        if detail >= 1 {
            if let Some(sample) = &st.dropped_sample {
                let _ = write!(out, "\n<details><summary>first {} dropped rows</summary>\n", sample.rows.len());
                sample_md(&mut out, sample);
                out.push_str("</details>\n");
            }
        }
        if detail >= 2 {
            let _ =
                write!(out, "\n<details><summary>SQL</summary>\n\n```sql\n{}\n```\n\n</details>\n", st.sql.trim_end());
        }
    }
    out.push_str("\n## Rubric vs strict\n\n");
    match &ev.diff {
        Err(why) => {
            let _ = writeln!(out, "Not computed: {}", cell(why));
        }
        Ok(d) => {
            let mut names = vec!["table", "rubric", "strict"];
            let reasons: Vec<String> = DROP_REASONS.iter().map(|r| format!("only rubric: {r}")).collect();
            names.extend(reasons.iter().map(String::as_str));
            names.push("only strict");
            head(&mut out, &names, 1);
            for t in &d.tables {
                let mut cells = vec![format!("`{}`", t.table), group(t.rubric_rows), group(t.strict_rows)];
                cells.extend(DROP_REASONS.iter().map(|r| group(t.count(Mode::Rubric, r))));
                cells.push(group(t.only_in(Mode::Strict)));
                row(&mut out, &cells);
            }
        }
    }
    if let Some(expect) = &ev.expect {
        out.push_str("\n## Expected counts\n\n");
        head(&mut out, &["table", "expected", "actual", ""], 1);
        for (table, expected) in expect {
            let actual = ev.rows_of(table);
            let ok = if actual == Some(*expected) { "✅" } else { "❌" };
            row(
                &mut out,
                &[format!("`{table}`"), group(*expected), actual.map_or("–".to_string(), group), ok.to_string()],
            );
        }
    }
    let p = &ev.provenance;
    let _ = writeln!(
        out,
        "\n## Provenance\n\n- {} {}, DuckDB {}\n- SQL: `{}`, {} files, SHA-256 `{}`\n- data: `{}`\n- run: {} (load, stages and checks {:.2} s)\n",
        p.tool,
        p.version,
        p.duckdb_version,
        p.sql.origin,
        p.sql.files,
        p.sql.sha256,
        printable_path(&ev.report.data_dir),
        ev.created_at,
        ev.elapsed_seconds
    );
    let listed = if detail >= 1 { FILES_LISTED } else { 10 };
    head(&mut out, &["table", "file", "bytes", "SHA-256"], 2);
    for f in p.landing_files.iter().take(listed) {
        row(&mut out, &[f.table.clone(), cell(&f.path), group(f.bytes), format!("`{}`", f.sha256)]);
    }
    if p.landing_files.len() > listed {
        let bytes: u64 = p.landing_files.iter().skip(listed).map(|f| f.bytes).sum();
        let _ = writeln!(
            out,
            "\n…and {} more files ({} bytes); the HTML report lists them all.",
            p.landing_files.len() - listed,
            group(bytes)
        );
    }
    out
}

pub fn render_markdown(ev: &Evidence) -> String {
    for detail in [2, 1, 0] {
        let text = render_at(ev, detail);
        if text.len() < LIMIT {
            return text;
        }
    }
    // Still too long (a catalog of very many checks): cut at a line, and say so.
    let text = render_at(ev, 0);
    let note = "\n\n…cut to fit 64 KB; `--format html` or `--format json` has everything.\n";
    let mut end = LIMIT - note.len() - 1;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').unwrap_or(end);
    format!("{}{note}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn a_cell_cannot_become_an_image_a_link_emphasis_or_another_cell() {
        assert_eq!(cell("![i](http://e.x/i.png)"), r"\!\[i\]\(http://e.x/i.png\)");
        assert_eq!(cell("*a* _b_ `c` ~d~"), r"\*a\* \_b\_ \`c\` \~d\~");
        assert_eq!(cell(r"a\|b <i>&"), r"a\\\|b &lt;i&gt;&amp;");
        assert_eq!(cell("a\nb\u{1b}"), r"a\\nb\\u{1b}");
    }
}
