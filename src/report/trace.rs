//! `stedi-tui trace EMAIL`: one customer through every zone, as text or JSON. The trace is masked
//! here, once, before either rendering (names and emails, unless `--show-pii`).
use std::fmt::Write;

use super::thousands as group;
use crate::engine::{display_value, printable};
use crate::engine::{RowCounts, StageDrop, Trace};

/// The trace with its personal values masked (unless `show_pii`).
pub fn mask_trace(trace: &Trace, show_pii: bool) -> Trace {
    let mut t = trace.clone();
    t.customer_id = display_value("email", &t.customer_id, show_pii);
    for r in &mut t.records {
        r.email = display_value("email", &r.email, show_pii);
        r.name = r.name.as_deref().map(|n| display_value("customerName", n, show_pii));
    }
    t
}

/// An epoch-millisecond time as UTC ISO-8601 (to the second), `-` for none.
pub fn epoch_ms(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => {
            crate::engine::iso8601_utc(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64))
        }
        Some(ms) => ms.to_string(),
        None => "-".to_string(),
    }
}

fn counts(c: &RowCounts) -> String {
    format!("{:>8} {:>8} {:>8}", group(c.by_customer), group(c.by_device), group(c.total))
}

fn drop_text(d: &Option<StageDrop>) -> String {
    match d {
        Some(d) => format!("{} of {} kept, {} dropped", group(d.kept), group(d.input_rows), group(d.dropped)),
        None => "no single input to drop from (a join, or built from reference views)".to_string(),
    }
}

/// `trace` must already be masked ([`mask_trace`]). Every text from the data (an email, a serial
/// number) or the SQL (a table, a reason) is [`printable`]: none can start a line of its own.
pub fn render_trace_text(trace: &Trace) -> String {
    let mut out = String::new();
    let consent = match (trace.consenting, trace.consent_at) {
        (true, Some(at)) => format!("consents since {} (by their latest record)", epoch_ms(Some(at))),
        _ => "does NOT consent (by their latest record)".to_string(),
    };
    let _ = writeln!(out, "customer {}: {consent}", printable(&trace.customer_id));
    let _ = writeln!(
        out,
        "devices: {}",
        if trace.devices.is_empty() {
            "none".to_string()
        } else {
            trace.devices.iter().map(|d| printable(d)).collect::<Vec<_>>().join(", ")
        }
    );
    let _ = writeln!(out, "\nrecords, in time order:");
    let _ = writeln!(
        out,
        "  {:<20} {:<20} {:<20} {:<36} {:<26} event",
        "last update", "registered", "consent", "serial number", "email"
    );
    for r in &trace.records {
        let _ = writeln!(
            out,
            "  {:<20} {:<20} {:<20} {:<36} {:<26} {}{}",
            epoch_ms(r.last_update_date),
            epoch_ms(r.registration_date),
            epoch_ms(r.consent_at),
            printable(&r.serial_number),
            printable(&r.email),
            printable(&r.event),
            if r.decides { "  <- decides" } else { "" }
        );
    }
    let width = trace.tables.iter().map(|t| printable(&t.table).len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "\ntheir rows, by table:");
    let _ = writeln!(out, "  {:<8} {:<width$} {:^26}   {:^26}", "", "", "rubric", "strict");
    let _ = writeln!(
        out,
        "  {:<8} {:<width$} {:>8} {:>8} {:>8}   {:>8} {:>8} {:>8}",
        "zone", "table", "customer", "device", "all", "customer", "device", "all"
    );
    for t in &trace.tables {
        let _ = writeln!(
            out,
            "  {:<8} {:<width$} {}   {}",
            t.zone.as_str(),
            printable(&t.table),
            counts(&t.rubric),
            counts(&t.strict)
        );
    }
    let _ = writeln!(out, "\nwhat each stage dropped of their rows:");
    for s in &trace.stages {
        let _ = writeln!(out, "  {}", printable(&s.stage));
        for (mode, d) in [("rubric", &s.rubric), ("strict", &s.strict)] {
            let why = d.as_ref().and_then(|d| d.reason.clone()).filter(|_| d.as_ref().is_some_and(|d| d.dropped > 0));
            let _ = writeln!(
                out,
                "    {mode}: {}{}",
                drop_text(d),
                why.map_or(String::new(), |w| format!(" (drops: {})", printable(&w)))
            );
        }
    }
    let _ = writeln!(out, "\ntheir readings relative to their consent:");
    let rw = trace.readings.iter().map(|r| printable(&r.table).len()).max().unwrap_or(5).max(5);
    let _ = writeln!(out, "  {:<rw$} {:>8} {:>8} {:>16}", "table", "before", "after", "without consent");
    for r in &trace.readings {
        let _ = writeln!(
            out,
            "  {:<rw$} {:>8} {:>8} {:>16}",
            printable(&r.table),
            group(r.before_consent),
            group(r.after_consent),
            group(r.without_consent)
        );
    }
    let _ = writeln!(out, "\nmachine_learning_curated, paired with someone else:");
    for (mode, p) in [("rubric", &trace.rubric_pairs), ("strict", &trace.strict_pairs)] {
        let _ = writeln!(
            out,
            "  {mode}: {} rows pair their Step Trainer with another customer's phone; {} pair their phone with another's device",
            group(p.device_with_other_phone),
            group(p.phone_with_other_device)
        );
    }
    out
}

pub fn render_trace_json(trace: &Trace) -> String {
    crate::engine::to_json_pretty(trace) + "\n"
}
