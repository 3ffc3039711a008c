//! The evidence report's two pictures, as inline SVG (no script, no font, no image file): the
//! pipeline (landing → trusted → curated, each stage with kept and dropped rows, its `-- drops:`
//! reason, the filter input drawn solid, the other tables it reads dashed, joins marked ⋈) and the
//! consent-at-a-glance chart of the trusted readings' time relative to their owner's consent.
use std::fmt::Write;

use super::evidence::Evidence;
use super::html::esc;
use super::thousands as group;
use crate::engine::Zone;
use crate::engine::{ConsentTiming, TIMING_BUCKETS};

const BOX_W: i64 = 250;
const BOX_H: i64 = 78;
const GAP_Y: i64 = 26;
const COL_X: [i64; 3] = [10, 340, 670];
const TOP: i64 = 34;

/// Cut `text` to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

struct Node {
    name: String,
    column: usize,
    row: i64,
}

impl Node {
    fn y(&self) -> i64 {
        TOP + self.row * (BOX_H + GAP_Y)
    }
}

pub fn pipeline_svg(ev: &Evidence) -> String {
    let mut nodes: Vec<Node> = Vec::new();
    let mut rows = [0i64; 3];
    for t in &ev.report.tables {
        let column = match t.zone {
            Zone::Landing => 0,
            Zone::Trusted => 1,
            Zone::Curated => 2,
        };
        nodes.push(Node { name: t.name.clone(), column, row: rows[column] });
        rows[column] += 1;
    }
    let height = TOP + rows.iter().max().copied().unwrap_or(1) * (BOX_H + GAP_Y) + 10;
    let width = COL_X[2] + BOX_W + 10;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="pipeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="pipeline">"#
    );
    s.push_str(
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##,
    );
    for (i, zone) in ["landing", "trusted", "curated"].iter().enumerate() {
        let _ = write!(s, r#"<text class="zone" x="{}" y="18">{zone}</text>"#, COL_X[i] + BOX_W / 2);
    }
    let find = |name: &str| nodes.iter().find(|n| n.name.eq_ignore_ascii_case(name));
    // Edges first, so boxes draw over them.
    for stage in &ev.stages {
        let Some(to) = find(&stage.name) else { continue };
        for read in &stage.reads {
            let Some(from) = find(read) else { continue };
            let primary = stage.input.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(read));
            let y1 = from.y() + BOX_H / 2;
            let y2 = to.y() + BOX_H / 2 + if primary { 0 } else { 10 };
            // A stage that reads a later column's table (step_trainer_trusted reads customer_curated)
            // gets its arrow from that table's left side into its own right side.
            let backwards = from.column > to.column;
            let (x1, x2) = if backwards {
                (COL_X[from.column], COL_X[to.column] + BOX_W)
            } else {
                (COL_X[from.column] + BOX_W, COL_X[to.column])
            };
            let bend = if x2 > x1 { (x2 - x1) / 2 } else { -((x1 - x2) / 2).max(30) };
            let class = if primary || stage.is_join() { "edge" } else { "edge side" };
            let _ = write!(
                s,
                r#"<path class="{class}" d="M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}" marker-end="url(#arrow)"><title>{} reads {}</title></path>"#,
                x1 + bend,
                x2 - bend,
                esc(&stage.name),
                esc(read)
            );
        }
    }
    for t in &ev.report.tables {
        let node = find(&t.name).expect("a node per table");
        let (x, y) = (COL_X[node.column], node.y());
        let stage = ev.stages.iter().find(|s| s.name == t.name);
        let class = if stage.is_some_and(|s| s.is_join()) { "box join" } else { "box" };
        let _ = write!(s, r#"<g class="{class}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>"#);
        let join = if stage.is_some_and(|s| s.is_join()) { "⋈ " } else { "" };
        let _ = write!(s, r#"<text class="name" x="{}" y="{}">{join}{}</text>"#, x + 8, y + 18, esc(&t.name));
        let _ = write!(s, r#"<text x="{}" y="{}">{} rows</text>"#, x + 8, y + 36, group(t.rows));
        match stage {
            Some(st) => {
                let flow = match st.dropped {
                    Some(d) => format!("kept {} · dropped {}", group(st.kept), group(d)),
                    None => format!("join of {}", st.reads_tables(ev).join(" ⋈ ")),
                };
                let _ = write!(s, r#"<text x="{}" y="{}">{}</text>"#, x + 8, y + 53, esc(&clip(&flow, 38)));
                if let Some(reason) = &st.reason {
                    let _ = write!(
                        s,
                        r#"<text class="reason" x="{}" y="{}">drops: {}<title>drops: {}</title></text>"#,
                        x + 8,
                        y + 69,
                        esc(&clip(reason, 36)),
                        esc(reason)
                    );
                }
            }
            None if t.rejected > 0 => {
                let _ = write!(
                    s,
                    r#"<text class="bad" x="{}" y="{}">{} rejected</text>"#,
                    x + 8,
                    y + 53,
                    group(t.rejected)
                );
            }
            None => {}
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

impl super::evidence::StageSection {
    /// The pipeline tables (landing or stages) among what it reads.
    pub fn reads_tables(&self, ev: &Evidence) -> Vec<String> {
        self.reads.iter().filter(|r| ev.report.tables.iter().any(|t| t.name.eq_ignore_ascii_case(r))).cloned().collect()
    }
}

/// One bar chart per trusted readings table: readings per time-to-consent bucket, before consent
/// red, after green, no consent grey; each bar labelled with its count.
pub fn consent_svg(timing: &ConsentTiming) -> String {
    let (bar_w, gap, chart_h, top, label_h) = (62i64, 10i64, 140i64, 24i64, 44i64);
    let width = TIMING_BUCKETS.len() as i64 * (bar_w + gap) + gap;
    let height = top + chart_h + label_h;
    let max = timing.buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{} readings relative to consent">"#,
        esc(&timing.table)
    );
    for (i, ((bucket, label), (_, n))) in TIMING_BUCKETS.iter().zip(&timing.buckets).enumerate() {
        let x = gap + i as i64 * (bar_w + gap);
        let h = if *n == 0 { 0 } else { ((*n as f64 / max as f64) * chart_h as f64).round().max(2.0) as i64 };
        let class = match bucket {
            b if *b < 0 => "before",
            0 => "none",
            _ => "after",
        };
        let y = top + chart_h - h;
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{x}" y="{y}" width="{bar_w}" height="{h}"><title>{label}: {}</title></rect>"#,
            group(*n)
        );
        let _ = write!(s, r#"<text class="count" x="{}" y="{}">{}</text>"#, x + bar_w / 2, y - 4, group(*n));
        let (first, second) = label.split_once(' ').unwrap_or((label, ""));
        let base = top + chart_h;
        let _ = write!(s, r#"<text class="label" x="{}" y="{}">{}</text>"#, x + bar_w / 2, base + 16, esc(first));
        let _ = write!(s, r#"<text class="label" x="{}" y="{}">{}</text>"#, x + bar_w / 2, base + 30, esc(second));
    }
    let axis_x = gap + 4 * (bar_w + gap) - gap / 2;
    let _ = write!(
        s,
        r#"<line class="consent" x1="{axis_x}" y1="{}" x2="{axis_x}" y2="{}"/><text class="consent" x="{axis_x}" y="14">consent</text></svg>"#,
        top - 6,
        top + chart_h
    );
    s
}
