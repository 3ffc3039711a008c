//! The trace: a customer picker (type to filter what it shows, masked unless `m`), then one
//! customer's trace (computed on the worker, both modes); Enter on a table of the trace opens
//! that customer's rows in it.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Pending, View};
use crate::engine::display_value;
use crate::tui::preview::Preview;
use crate::tui::worker::Request;

/// A customer as the picker shows them.
pub struct PickerEntry {
    pub customer_id: String,
    pub name: String,
    pub email: String,
    pub records: u64,
    pub consenting: bool,
}

impl App {
    /// The picker's customers, as shown (masked unless `show_pii`), filtered by what it shows.
    pub fn picker_entries(&self) -> Vec<PickerEntry> {
        let filter = self.picker_filter.to_lowercase();
        self.customers
            .iter()
            .flatten()
            .map(|c| PickerEntry {
                customer_id: c.customer_id.clone(),
                name: display_value("customerName", c.name.as_deref().unwrap_or(""), self.show_pii),
                email: display_value("email", &c.email, self.show_pii),
                records: c.records,
                consenting: c.consenting,
            })
            .filter(|e| {
                filter.is_empty() || e.name.to_lowercase().contains(&filter) || e.email.to_lowercase().contains(&filter)
            })
            .collect()
    }

    /// Typing filters the picker; returns whether the key was taken.
    pub(super) fn on_picker_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => self.picker_filter.push(c),
            KeyCode::Backspace => {
                self.picker_filter.pop();
            }
            _ => return false,
        }
        self.picker_cursor = 0;
        true
    }

    pub(super) fn open_trace(&mut self) {
        let Some(entry) = self.picker_entries().into_iter().nth(self.picker_cursor) else { return };
        self.trace = None;
        self.go(View::Trace);
        let customer_id = entry.customer_id;
        self.send(Pending::Trace, |id| Request::Trace { id, customer_id }, Some("tracing in both modes"));
    }

    /// The traced customer's rows in the selected table, as this session's mode made it: by their
    /// email or `user`, their devices' serial numbers, or their pseudonyms (`<table>_with_keys`
    /// has every one of those columns).
    pub(super) fn open_trace_rows(&mut self) {
        let Some(trace) = &self.trace else { return };
        let Some(table) = trace.tables.get(self.trace_cursor) else { return };
        let Some(snapshot) = &self.snapshot else { return };
        let sql = match snapshot.catalog.trace_rows_query(&table.table, &trace.customer_id, &trace.devices) {
            Ok(sql) => sql,
            Err(e) => {
                self.message = Some(e.to_string());
                return;
            }
        };
        let shown = display_value("email", &trace.customer_id, self.show_pii);
        let mut p = Preview::of_query(format!("{}: rows of {shown}", table.table), sql);
        p.note = Some("by email, user, their devices' serial numbers or their pseudonyms".to_string());
        self.open_preview(p);
    }
}
