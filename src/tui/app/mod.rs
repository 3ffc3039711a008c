//! The app's state and the one place it changes: [`App::update`] for actions, [`App::on_response`]
//! for what the worker sends back. Drawing (in `views`) only reads it.
mod input;
mod requests;
mod trace;

use std::collections::BTreeMap;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use duckdb::InterruptHandle;

use super::action::Action;
use super::keymap::{self, Context};
use super::preview::Preview;
use super::worker::{Snapshot, Worker};
use crate::engine::{CheckOutcome, Severity, Zone};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Pipeline,
    /// Rubric vs strict, table by table.
    Diff,
    /// A stage, by index in the catalog's run order.
    Stage(usize),
    Table,
    Checks,
    /// The customer picker (type to filter), then [`View::Trace`].
    Picker,
    /// One customer traced through every zone of both modes.
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Export,
    Filter,
    Search,
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// The stages' dropped rows, counted after the first frame (no request id: [`COUNTING_DROPPED`]).
    Dropped,
    Diff,
    Customers,
    Trace,
    Export,
    Prepare,
    Page,
    Profile,
    Search,
}

/// The pending-work key of the dropped-row count the worker starts by itself after loading.
const COUNTING_DROPPED: u64 = u64::MAX;

pub struct App {
    pub view: View,
    /// Where Esc goes: earlier views, each with the preview it showed (a table view's preview).
    back: Vec<(View, Option<Preview>)>,
    pub data_label: String,
    pub snapshot: Option<Snapshot>,
    pub progress: Option<String>,
    pub load_error: Option<String>,
    /// What the worker is doing right now, for the spinner ("sorting…").
    pub busy: Option<String>,
    pub busy_since: Option<Instant>,
    /// The last error or notice, shown above the key bar.
    pub message: Option<String>,
    pub pipeline_cursor: usize,
    pub checks_cursor: usize,
    pub stage_scroll: u16,
    pub preview: Option<Preview>,
    /// The last rubric-vs-strict comparison (computed on demand: it runs both modes).
    pub diff: Option<crate::engine::Diff>,
    /// Every customer (for the picker), fetched when it first opens.
    pub customers: Option<Vec<crate::engine::CustomerEntry>>,
    /// What the picker's list is filtered by (matched against what it shows, masked or not).
    pub picker_filter: String,
    pub picker_cursor: usize,
    /// The last customer traced, and the selected table of their trace.
    pub trace: Option<crate::engine::Trace>,
    pub trace_cursor: usize,
    /// Filter, sort that last prepared without error (restored when a new one fails).
    applied: (Option<String>, Option<(usize, bool)>),
    pub input: Option<(InputKind, String)>,
    pub sql_history: Vec<String>,
    history_pos: Option<usize>,
    pub show_help: bool,
    pub show_pii: bool,
    pub quit: bool,
    /// Rows the table view can show, and where the main area starts (set while drawing).
    pub page_height: usize,
    pub main_top: u16,
    interrupt: Option<Arc<InterruptHandle>>,
    worker: Worker,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
}

impl App {
    pub fn new(worker: Worker, data_label: String) -> App {
        App {
            view: View::Pipeline,
            back: Vec::new(),
            data_label,
            snapshot: None,
            progress: Some("starting".to_string()),
            load_error: None,
            busy: None,
            busy_since: None,
            message: None,
            pipeline_cursor: 0,
            checks_cursor: 0,
            stage_scroll: 0,
            preview: None,
            diff: None,
            customers: None,
            picker_filter: String::new(),
            picker_cursor: 0,
            trace: None,
            trace_cursor: 0,
            applied: (None, None),
            input: None,
            sql_history: Vec::new(),
            history_pos: None,
            show_help: false,
            show_pii: false,
            quit: false,
            page_height: 20,
            main_top: 1,
            interrupt: None,
            worker,
            next_id: 0,
            pending: BTreeMap::new(),
        }
    }

    /// Whether the app still waits on the worker (loading, or a request in flight).
    pub fn is_waiting(&self) -> bool {
        (self.snapshot.is_none() && self.load_error.is_none()) || !self.pending.is_empty()
    }

    /// Apply every response that has arrived; wait up to `wait` for the first one.
    pub fn pump(&mut self, wait: Duration) -> bool {
        let mut changed = false;
        let first = match self.worker.responses.recv_timeout(wait) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                if self.snapshot.is_none() && self.load_error.is_none() {
                    self.load_error = Some("the engine stopped unexpectedly".to_string());
                    changed = true;
                }
                None
            }
        };
        if let Some(r) = first {
            self.on_response(r);
            changed = true;
            while let Ok(r) = self.worker.responses.try_recv() {
                self.on_response(r);
            }
        }
        changed
    }

    /// For tests and the end of start-up: process responses until nothing is outstanding.
    pub fn wait_idle(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.is_waiting() && Instant::now() < deadline {
            self.pump(Duration::from_millis(20));
        }
    }

    pub fn context(&self) -> Context {
        match self.view {
            View::Pipeline | View::Checks | View::Diff | View::Picker | View::Trace => Context::Lists,
            View::Stage(_) => Context::Stage,
            View::Table => Context::Table,
        }
    }

    // ----- the pipeline's lists ---------------------------------------------------------------

    /// Tables in the order the pipeline view lists them: landing, trusted, curated.
    pub fn pipeline_tables(&self) -> Vec<(String, Zone)> {
        let Some(s) = &self.snapshot else { return Vec::new() };
        let mut tables: Vec<(String, Zone)> = s.tables.iter().map(|t| (t.name.clone(), t.zone)).collect();
        tables.sort_by_key(|(_, zone)| *zone);
        tables
    }

    /// Checks as listed: failed errors first, then warnings, then passes (each in file order).
    pub fn checks_sorted(&self) -> Vec<&CheckOutcome> {
        let Some(s) = &self.snapshot else { return Vec::new() };
        let mut checks: Vec<&CheckOutcome> = s.checks.iter().collect();
        checks.sort_by_key(|c| match (c.passed(), c.severity) {
            (false, Severity::Error) => 0,
            (false, Severity::Warn) => 1,
            _ => 2,
        });
        checks
    }

    /// The worst status of the checks about `table`: Some(Error|Warn) when one fails.
    pub fn table_status(&self, table: &str) -> Option<Severity> {
        let s = self.snapshot.as_ref()?;
        let mine = s.checks.iter().filter(|c| c.id.rsplit_once('.').map(|(_, t)| t) == Some(table) && !c.passed());
        mine.map(|c| c.severity).max_by_key(|s| matches!(s, Severity::Error))
    }

    // ----- actions ----------------------------------------------------------------------------

    pub fn on_key(&mut self, key: KeyEvent) {
        if self.input.is_some() {
            self.on_input_key(key);
            return;
        }
        if self.view == View::Picker && self.snapshot.is_some() && self.on_picker_key(key) {
            return;
        }
        if self.show_help && key.code != KeyCode::Char('q') {
            // Any key closes the help popup.
            self.show_help = false;
            return;
        }
        if let Some(action) = keymap::action_for(key, self.context()) {
            self.update(action);
        }
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollDown => (0..3).for_each(|_| self.update(Action::Down)),
            MouseEventKind::ScrollUp => (0..3).for_each(|_| self.update(Action::Up)),
            MouseEventKind::Down(MouseButton::Left) if mouse.row >= self.main_top => {
                self.update(Action::ClickLine(mouse.row - self.main_top))
            }
            _ => {}
        }
    }

    pub fn update(&mut self, action: Action) {
        self.message = None;
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.show_help = !self.show_help,
            Action::Back => self.go_back(),
            Action::GoPipeline => self.go(View::Pipeline),
            Action::GoChecks => self.go(View::Checks),
            Action::OpenSqlPrompt => {
                self.history_pos = None;
                self.input = Some((InputKind::Sql, String::new()));
            }
            Action::TogglePii => {
                self.show_pii = !self.show_pii;
                self.message =
                    Some(if self.show_pii { "personal fields shown" } else { "personal fields masked" }.to_string());
            }
            _ if self.snapshot.is_none() => {}
            Action::GoDiff => {
                self.go(View::Diff);
                if self.diff.is_none() {
                    self.send(Pending::Diff, |id| super::worker::Request::Diff { id }, Some("running both modes"));
                }
            }
            Action::GoTrace => {
                self.go(View::Picker);
                if self.customers.is_none() {
                    self.send(
                        Pending::Customers,
                        |id| super::worker::Request::Customers { id },
                        Some("listing customers"),
                    );
                }
            }
            Action::Export => self.input = Some((InputKind::Export, "export".to_string())),
            Action::Open | Action::ClickLine(_) => self.open(action),
            Action::Dropped | Action::Kept => self.open_stage_rows(action == Action::Dropped),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.navigate(action)
            }
            Action::Left | Action::Right => {
                if let Some(p) = &mut self.preview {
                    let n = p.columns.len();
                    if n > 0 {
                        p.column =
                            if action == Action::Left { p.column.saturating_sub(1) } else { (p.column + 1).min(n - 1) };
                        p.first_column = p.first_column.min(p.column);
                    }
                }
                self.request_profile();
            }
            Action::Sort => {
                if let Some(p) = &mut self.preview {
                    p.cycle_sort();
                    p.top = 0;
                    p.cursor = 0;
                }
                self.prepare("sorting");
            }
            Action::Filter => {
                let current = self.preview.as_ref().and_then(|p| p.filter.clone()).unwrap_or_default();
                self.input = Some((InputKind::Filter, current));
            }
            Action::Search => self.input = Some((InputKind::Search, String::new())),
            Action::NextMatch => {
                let from = self.preview.as_ref().map_or(0, |p| p.cursor + 1);
                self.search_from(from);
            }
            Action::Profile => {
                if let Some(p) = &mut self.preview {
                    p.show_profile = !p.show_profile;
                }
                self.request_profile();
            }
        }
    }

    fn go(&mut self, view: View) {
        if self.view != view || view == View::Table {
            let preview = if self.view == View::Table { self.preview.clone() } else { None };
            self.back.push((self.view, preview));
            self.view = view;
        }
    }

    fn go_back(&mut self) {
        if self.busy.is_some() {
            if let Some(handle) = &self.interrupt {
                handle.interrupt();
                self.message = Some("cancelling…".to_string());
            }
        } else if self.show_help {
            self.show_help = false;
        } else if let Some((view, preview)) = self.back.pop() {
            self.view = view;
            if let Some(mut preview) = preview {
                // The worker keeps only the newest materialised result: prepare this one again.
                preview.page = Default::default();
                self.preview = Some(preview);
                self.prepare("loading");
            }
        }
    }

    fn open(&mut self, action: Action) {
        match self.view {
            View::Pipeline => {
                let tables = self.pipeline_tables();
                if let Action::ClickLine(line) = action {
                    // Lines: a zone header, then its tables (stages take two lines).
                    if let Some(i) = self.pipeline_line_to_table(line as usize) {
                        self.pipeline_cursor = i;
                    }
                    return;
                }
                let Some((name, zone)) = tables.get(self.pipeline_cursor).cloned() else { return };
                let stage = self.snapshot.as_ref().and_then(|s| s.catalog.stages.iter().position(|st| st.name == name));
                match (zone, stage) {
                    (Zone::Landing, _) | (_, None) => self.open_preview(Preview::of_table(&name)),
                    (_, Some(i)) => {
                        self.stage_scroll = 0;
                        self.go(View::Stage(i));
                    }
                }
            }
            View::Diff => {}
            View::Picker => self.open_trace(),
            View::Trace => self.open_trace_rows(),
            View::Checks => {
                if let Action::ClickLine(line) = action {
                    // Line 0 is the header row.
                    let n = self.checks_sorted().len();
                    if line >= 1 && (line as usize - 1) < n {
                        self.checks_cursor = line as usize - 1;
                    }
                    return;
                }
                let Some(check) = self.checks_sorted().get(self.checks_cursor).map(|c| (*c).clone()) else { return };
                let mut p = Preview::of_query(
                    format!("{} · {} failing rows", check.id, check.failing_rows),
                    format!("SELECT * FROM \"{}\"", check.result_table),
                );
                p.base_table = Some(check.result_table.clone());
                p.note = Some(check.description.clone());
                self.open_preview(p);
            }
            View::Stage(_) => {
                if action == Action::Open {
                    self.open_stage_rows(false)
                }
            }
            View::Table => {
                if let (Action::ClickLine(line), Some(p)) = (action, &mut self.preview) {
                    // Two title lines and the header row sit above the first data row.
                    if line >= 3 {
                        let row = p.top + line as u64 - 3;
                        if row < p.total {
                            p.cursor = row;
                        }
                    }
                }
            }
        }
    }

    fn pipeline_line_to_table(&self, line: usize) -> Option<usize> {
        let mut l = 0;
        let mut zone = None;
        for (i, (_, z)) in self.pipeline_tables().iter().enumerate() {
            if zone != Some(*z) {
                zone = Some(*z);
                l += 1; // header
            }
            let height = if *z == Zone::Landing { 1 } else { 2 };
            if line >= l && line < l + height {
                return Some(i);
            }
            l += height;
        }
        None
    }

    fn open_stage_rows(&mut self, dropped: bool) {
        let View::Stage(i) = self.view else { return };
        let Some(s) = &self.snapshot else { return };
        let stage = &s.catalog.stages[i];
        let flow = s.flows.iter().find(|f| f.stage == stage.name);
        if !dropped {
            self.open_preview(Preview::of_table(&stage.name.clone()));
            return;
        }
        match flow.and_then(|f| Some((f.input.clone()?, f.dropped_sql.clone()?))) {
            Some((input, sql)) => {
                let reason = stage.drops.clone().unwrap_or_else(|| "not kept by the stage".to_string());
                let mut p = Preview::of_query(format!("{} → {}: dropped rows", input, stage.name), sql);
                p.note = Some(format!("dropped: {reason}"));
                self.open_preview(p);
            }
            None => {
                self.message =
                    Some(format!("{} is a join of its inputs: it has no single input to drop rows from", stage.name))
            }
        }
    }

    fn open_preview(&mut self, preview: Preview) {
        self.applied = (None, None);
        self.go(View::Table);
        self.preview = Some(preview);
        self.prepare("loading");
    }

    fn navigate(&mut self, action: Action) {
        let page = self.page_height.max(1) as i64;
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => i64::MIN / 2,
            _ => i64::MAX / 2,
        };
        let step = |cursor: usize, len: usize| -> usize {
            if len == 0 {
                0
            } else {
                (cursor as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
            }
        };
        match self.view {
            View::Pipeline => self.pipeline_cursor = step(self.pipeline_cursor, self.pipeline_tables().len()),
            View::Checks => self.checks_cursor = step(self.checks_cursor, self.checks_sorted().len()),
            View::Diff => {}
            View::Picker => self.picker_cursor = step(self.picker_cursor, self.picker_entries().len()),
            View::Trace => {
                let n = self.trace.as_ref().map_or(0, |t| t.tables.len());
                self.trace_cursor = step(self.trace_cursor, n)
            }
            View::Stage(_) => {
                self.stage_scroll = (self.stage_scroll as i64 + delta.clamp(-1000, 1000)).clamp(0, 1000) as u16
            }
            View::Table => {
                let height = self.page_height;
                if let Some(p) = &mut self.preview {
                    if matches!(action, Action::PageDown | Action::PageUp) {
                        // A page moves the view and the cursor together, as a pager does.
                        let max_top = p.total.saturating_sub(height as u64) as i64;
                        p.top = (p.top as i64 + delta).clamp(0, max_top.max(0)) as u64;
                        p.cursor = (p.cursor as i64 + delta).clamp(0, p.total.saturating_sub(1) as i64) as u64;
                        p.scroll_to_cursor(height);
                    } else {
                        p.move_cursor(delta, height);
                    }
                }
                self.ensure_page();
            }
        }
    }
}
