//! `--check --format html`: one self-contained page a reviewer opens in a browser, offline, or
//! prints. Inline CSS and SVG only, a Content-Security-Policy that forbids every outside request,
//! no script. Every value comes from the [`Evidence`] (rows already masked); everything is escaped.
use std::fmt::Write;

use super::evidence::{Evidence, StageSection};
use super::html_svg::{consent_svg, pipeline_svg};
use super::{thousands as group, CheckLine, Sample};
use crate::engine::Mode;
use crate::engine::DROP_REASONS;
use crate::engine::{is_unprintable, printable, tokenize_line, TokenKind};

/// The page forbids itself every fetch: no script, font, frame or outside image; inline styles
/// and `data:` images only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232b;margin:0 auto;max-width:1100px;padding:16px 24px}
h1{font-size:24px;margin:8px 0}h2{border-bottom:2px solid #d5dae1;padding-bottom:4px;margin-top:32px}h3{margin:18px 0 6px}
nav a{margin-right:14px}a{color:#1858a8}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600}
.ok{background:#dff3e4;color:#14612c}.bad{background:#fbe1e1;color:#9b1c1c}.warn{background:#fdf1d6;color:#7a5200}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}th,td{border:1px solid #d5dae1;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%}.sample td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:nowrap;max-width:360px;overflow:hidden;text-overflow:ellipsis}
pre.sql{background:#f7f8fa;border:1px solid #e1e4e8;padding:8px 10px;overflow-x:auto;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap}
.k{color:#0b5cad;font-weight:600}.s{color:#1a7f37}.num{color:#8a3ab9}.c{color:#6a737d;font-style:italic}.q{color:#9a6700}
.check{border:1px solid #d5dae1;border-left-width:6px;border-radius:4px;padding:6px 12px;margin:10px 0}
.check.FAIL{border-left-color:#c62828}.check.WARN{border-left-color:#d99a00}.check.PASS{border-left-color:#2e8b57}
.tag{font-weight:700;margin-right:8px}.FAIL .tag{color:#c62828}.WARN .tag{color:#a87400}.PASS .tag{color:#2e8b57}
svg text{font:12px system-ui,sans-serif;fill:#1d232b}svg .zone{font-weight:700;text-anchor:middle;text-transform:uppercase;fill:#555}
svg .box rect{fill:#f2f6fc;stroke:#6b8bb5;stroke-width:1.2}svg .join rect{fill:#fff6e5;stroke:#c08a1e}
svg .name{font-weight:700}svg .reason{fill:#6a4c00;font-size:11px}svg .bad{fill:#b71c1c}
svg .edge{fill:none;stroke:#555;stroke-width:1.4}svg .side{stroke-dasharray:5 4;stroke:#999}
svg .before{fill:#d9534f}svg .after{fill:#3c9d5d}svg .none{fill:#9aa3ad}
svg .count,svg .label,svg text.consent{text-anchor:middle;font-size:11px}svg line.consent{stroke:#1d232b;stroke-dasharray:3 3}
.muted{color:#5b6470}footer{margin-top:40px;font-size:12px;color:#5b6470}
@media print{nav{display:none}.check,table,svg{break-inside:avoid}body{max-width:none}}
"#;

/// Text as HTML: `& < > " '` escaped, and a control character (but a tab, which SQL may be
/// indented with), a line separator or a bidirectional override shown as its escape, as in every
/// report: a file name or a value cannot reorder or break what the page shows.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c != '\t' && is_unprintable(c) => out.push_str(&printable(c.encode_utf8(&mut [0; 4]))),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// SQL, highlighted with spans (keywords, strings, numbers, comments, quoted names).
fn sql_html(sql: &str) -> String {
    let mut out = String::from(r#"<pre class="sql">"#);
    for (i, line) in sql.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (kind, text) in tokenize_line(line) {
            let class = match kind {
                TokenKind::Keyword => "k",
                TokenKind::String => "s",
                TokenKind::Number => "num",
                TokenKind::Comment => "c",
                TokenKind::Quoted => "q",
                TokenKind::Plain => "",
            };
            match class {
                "" => out.push_str(&esc(&text)),
                class => {
                    let _ = write!(out, r#"<span class="{class}">{}</span>"#, esc(&text));
                }
            }
        }
    }
    out.push_str("</pre>");
    out
}

fn sample_html(sample: &Sample) -> String {
    let mut out = String::from(r#"<div class="scroll"><table class="sample"><tr>"#);
    for c in &sample.columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for row in &sample.rows {
        out.push_str("<tr>");
        for v in row {
            let _ = write!(out, "<td>{}</td>", esc(&super::markdown::clip_cell(v, 200)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></div>");
    out
}

fn n(value: u64) -> String {
    format!(r#"<td class="n">{}</td>"#, group(value))
}

fn opt_n(value: Option<u64>) -> String {
    value.map_or_else(|| r#"<td class="n muted">–</td>"#.to_string(), n)
}

fn header(ev: &Evidence, out: &mut String) {
    let s = &ev.report.summary;
    let (class, verdict) = match (s.errors, s.warnings) {
        (0, 0) => ("ok", "every check passed".to_string()),
        (0, w) => ("warn", format!("no error-severity check failed; {w} warnings")),
        (e, _) => ("bad", format!("{e} error-severity checks failed: {}", s.failed_error_checks.join(", "))),
    };
    let _ = write!(
        out,
        r##"<header><h1>STEDI evidence report</h1><p><span class="verdict {class}">{}</span></p><p>{} mode · data <code>{}</code> · {} checks: {} passed, {} warnings, {} errors{}{}</p><nav><a href="#pipeline">pipeline</a><a href="#checks">checks</a><a href="#consent">consent</a><a href="#stages">stages</a><a href="#diff">rubric vs strict</a>{}<a href="#provenance">provenance</a></nav></header>"##,
        esc(&verdict),
        ev.report.mode.as_str(),
        esc(&ev.report.data_dir.display().to_string()),
        s.checks,
        s.passed,
        s.warnings,
        s.errors,
        if s.strict { " (strict: warnings count as errors)" } else { "" },
        if s.pii_shown { " · personal data SHOWN (--show-pii)" } else { " · personal data masked" },
        if ev.expect.is_some() { r##"<a href="#expect">expected counts</a>"## } else { "" },
    );
}

fn pipeline(ev: &Evidence, out: &mut String) {
    out.push_str(r#"<section id="pipeline"><h2>Pipeline</h2>"#);
    out.push_str(&pipeline_svg(ev));
    out.push_str(r#"<p class="muted">Solid arrows: the table a stage filters (or the tables it joins, ⋈); dashed: the tables it looks up.</p>"#);
    out.push_str("<table><tr><th>zone</th><th>table</th><th>rows</th><th>input</th><th>kept</th><th>dropped</th><th>drops</th></tr>");
    for t in &ev.report.tables {
        let stage = ev.stages.iter().find(|s| s.name == t.name);
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>{}", t.zone.as_str(), esc(&t.name), n(t.rows));
        match stage {
            Some(s) => {
                let input = match &s.input {
                    Some(i) => esc(i),
                    None => format!("⋈ {}", esc(&s.reads_tables(ev).join(" ⋈ "))),
                };
                let _ = write!(
                    out,
                    "<td>{input}</td>{}{}<td>{}</td></tr>",
                    n(s.kept),
                    opt_n(s.dropped),
                    esc(s.reason.as_deref().unwrap_or(""))
                );
            }
            None => {
                let rejected = if t.rejected > 0 { format!("{} rejected", group(t.rejected)) } else { String::new() };
                let _ = write!(out, "<td>landing files</td><td></td><td></td><td>{rejected}</td></tr>");
            }
        }
    }
    out.push_str("</table></section>");
}

fn check(c: &CheckLine, out: &mut String) {
    let open = if c.status == "pass" { "" } else { " open" };
    let _ = write!(
        out,
        r#"<details class="check {v}"{open}><summary><span class="tag">{v}</span><b>{}</b> · {} · <b>{}</b> failing rows</summary><p>{}</p>"#,
        esc(&c.id),
        c.severity.as_str(),
        group(c.failing_rows),
        esc(&c.description),
        v = c.verdict(),
    );
    if let Some(sample) = &c.sample {
        let _ = write!(out, "<p>First {} failing rows (masked unless --show-pii):</p>", sample.rows.len());
        out.push_str(&sample_html(sample));
    }
    let _ = write!(out, r#"<p class="muted">{}</p>{}</details>"#, esc(&c.file.display().to_string()), sql_html(&c.sql));
}

fn checks(ev: &Evidence, out: &mut String) {
    out.push_str(r#"<section id="checks"><h2>Checks</h2><p class="muted">Failed first. A check passes when its SQL returns no rows.</p>"#);
    for c in ev.checks_failed_first() {
        check(c, out);
    }
    out.push_str("</section>");
}

fn consent(ev: &Evidence, out: &mut String) {
    out.push_str(r#"<section id="consent"><h2>Consent at a glance</h2>"#);
    match &ev.consent {
        None => out.push_str("<p class=\"muted\">No report/consent_timing.sql in the queries folder.</p>"),
        Some(tables) => {
            out.push_str("<p>The trusted zone's readings by when they were taken relative to their owner's research consent (by the owner's latest record). Red bars are readings from before the owner consented.</p>");
            for t in tables {
                let _ = write!(
                    out,
                    r#"<h3>{}</h3><p><b>{}</b> before consent · <b>{}</b> after · <b>{}</b> without consent</p>{}"#,
                    esc(&t.table),
                    group(t.before()),
                    group(t.after()),
                    group(t.without_consent()),
                    consent_svg(t)
                );
            }
        }
    }
    out.push_str("</section>");
}

fn stage(s: &StageSection, out: &mut String) {
    let _ = write!(
        out,
        r#"<h3 id="stage-{0}">{0} <span class="muted">({1})</span></h3><p>{2}</p>"#,
        esc(&s.name),
        s.zone.as_str(),
        esc(&s.about)
    );
    let _ = write!(out, "<p>Reads <code>{}</code>; writes <code>{}</code>. ", esc(&s.reads.join(", ")), esc(&s.name));
    match (&s.input, s.dropped) {
        (Some(input), Some(d)) => {
            let _ = write!(
                out,
                "Of {} rows of <code>{}</code> it kept <b>{}</b> and dropped <b>{}</b>",
                group(s.input_rows.unwrap_or(0)),
                esc(input),
                group(s.kept),
                group(d)
            );
        }
        _ => {
            let _ = write!(out, "A join (⋈ {}): <b>{}</b> rows", esc(&s.reads.join(", ")), group(s.kept));
        }
    }
    if let Some(reason) = &s.reason {
        let _ = write!(out, " (drops: {})", esc(reason));
    }
    out.push_str(".</p>");
    if let Some(sample) = &s.dropped_sample {
        let _ = write!(
            out,
            "<p>First {} dropped rows (masked unless --show-pii):</p>{}",
            sample.rows.len(),
            sample_html(sample)
        );
    }
    out.push_str(&sql_html(&s.sql));
}

fn diff(ev: &Evidence, out: &mut String) {
    out.push_str(r#"<section id="diff"><h2>Rubric vs strict</h2>"#);
    match &ev.diff {
        Err(why) => {
            let _ = write!(out, r#"<p class="muted">Not computed: {}</p>"#, esc(why));
        }
        Ok(d) => {
            out.push_str("<p>Rows one mode keeps and the other does not, by reason (<code>queries/diff/</code>).</p><table><tr><th>table</th><th>rubric</th><th>strict</th>");
            for r in DROP_REASONS {
                let _ = write!(out, "<th>only rubric: {r}</th>");
            }
            out.push_str("<th>only strict</th></tr>");
            for t in &d.tables {
                let _ = write!(out, "<tr><td>{}</td>{}{}", esc(&t.table), n(t.rubric_rows), n(t.strict_rows));
                for r in DROP_REASONS {
                    out.push_str(&n(t.count(Mode::Rubric, r)));
                }
                let _ = write!(out, "{}</tr>", n(t.only_in(Mode::Strict)));
            }
            out.push_str("</table>");
        }
    }
    out.push_str("</section>");
}

fn expect(ev: &Evidence, out: &mut String) {
    let Some(expect) = &ev.expect else { return };
    out.push_str(r#"<section id="expect"><h2>Expected counts</h2><table><tr><th>table</th><th>expected</th><th>actual</th><th></th></tr>"#);
    for (table, expected) in expect {
        let actual = ev.rows_of(table);
        let ok = actual == Some(*expected);
        let _ = write!(
            out,
            r#"<tr><td>{}</td>{}{}<td class="{}">{}</td></tr>"#,
            esc(table),
            n(*expected),
            opt_n(actual),
            if ok { "ok" } else { "bad" },
            if ok { "equal" } else { "differs" }
        );
    }
    out.push_str("</table></section>");
}

fn provenance(ev: &Evidence, out: &mut String) {
    let p = &ev.provenance;
    let _ = write!(
        out,
        r#"<section id="provenance"><h2>Provenance</h2><table><tr><th>tool</th><td>{} {}</td></tr><tr><th>DuckDB</th><td>{}</td></tr><tr><th>SQL</th><td><code>{}</code>: {} files, SHA-256 <code>{}</code></td></tr><tr><th>data</th><td><code>{}</code></td></tr><tr><th>run</th><td class="run-time">{} (load, stages and checks {:.2} s)</td></tr></table>"#,
        p.tool,
        p.version,
        esc(&p.duckdb_version),
        esc(&p.sql.origin),
        p.sql.files,
        p.sql.sha256,
        esc(&ev.report.data_dir.display().to_string()),
        esc(&ev.created_at),
        ev.elapsed_seconds
    );
    out.push_str("<h3>Landing files</h3><table><tr><th>table</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>");
    for f in &p.landing_files {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>{}<td><code>{}</code></td></tr>",
            esc(&f.table),
            esc(&f.path),
            n(f.bytes),
            f.sha256
        );
    }
    out.push_str("</table></section>");
}

pub fn render_html(ev: &Evidence) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}"><meta name="viewport" content="width=device-width, initial-scale=1"><title>STEDI evidence report</title><style>{STYLE}</style></head><body>"#
    );
    header(ev, &mut out);
    pipeline(ev, &mut out);
    checks(ev, &mut out);
    consent(ev, &mut out);
    out.push_str(r#"<section id="stages"><h2>Stages</h2>"#);
    for s in &ev.stages {
        stage(s, &mut out);
    }
    out.push_str("</section>");
    diff(ev, &mut out);
    expect(ev, &mut out);
    provenance(ev, &mut out);
    let _ = writeln!(
        out,
        "<footer>Made by stedi-tui {} from the SQL in <code>{}</code>.</footer></body></html>",
        ev.provenance.version,
        esc(&ev.report.sql.to_string())
    );
    out
}
