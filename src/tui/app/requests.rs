//! Talking to the worker: every request has an id and a kind; a newer request of the same kind
//! makes an older answer stale, and responses are applied here.
use std::time::Instant;

use super::{App, Pending, COUNTING_DROPPED};
use crate::engine::Progress;
use crate::tui::worker::{Request, Response};

impl App {
    pub(super) fn send(&mut self, kind: Pending, build: impl FnOnce(u64) -> Request, busy: Option<&str>) {
        self.next_id += 1;
        let id = self.next_id;
        // A newer request of the same kind makes the older one's answer stale.
        self.pending.retain(|_, k| *k != kind);
        self.pending.insert(id, kind);
        if let Some(label) = busy {
            self.busy = Some(label.to_string());
            self.busy_since = Some(Instant::now());
        }
        if self.worker.requests.send(build(id)).is_err() {
            self.pending.remove(&id);
            self.message = Some("the engine stopped unexpectedly".to_string());
        }
    }

    pub(super) fn prepare(&mut self, label: &str) {
        let Some(p) = &mut self.preview else { return };
        p.table = None;
        p.page = Default::default();
        let (sql, direct_table) = p.source_sql();
        self.send(Pending::Prepare, |id| Request::Prepare { id, sql, direct_table }, Some(label));
    }

    pub(super) fn ensure_page(&mut self) {
        let height = self.page_height.max(1);
        let Some(p) = &self.preview else { return };
        let Some(table) = p.table.clone() else { return };
        if p.page_covers(height) {
            return;
        }
        // One page above and below the view, so small moves need no new fetch.
        let offset = p.top.saturating_sub(height as u64);
        let limit = height as u64 * 3;
        self.send(Pending::Page, |id| Request::Page { id, table, offset, limit }, None);
    }

    pub(super) fn request_profile(&mut self) {
        let Some(p) = &self.preview else { return };
        if !p.show_profile {
            return;
        }
        let (Some(table), Some(column)) = (p.table.clone(), p.column_name().map(str::to_string)) else { return };
        if p.profile.as_ref().is_some_and(|pr| pr.column == column) {
            return;
        }
        self.send(Pending::Profile, |id| Request::Profile { id, table, column }, Some("profiling"));
    }

    pub(super) fn search_from(&mut self, from: u64) {
        let Some(p) = &self.preview else { return };
        let (Some(table), Some(text)) = (p.table.clone(), p.search.clone()) else { return };
        let columns = p.columns.iter().map(|(n, _)| n.clone()).collect();
        self.send(Pending::Search, |id| Request::Search { id, table, from, text, columns }, Some("searching"));
    }

    pub fn on_response(&mut self, response: Response) {
        let accept = |app: &mut App, id: u64| -> bool {
            let ok = app.pending.remove(&id).is_some();
            if app.pending.values().all(|k| *k == Pending::Page) {
                app.busy = None;
                app.busy_since = None;
            }
            ok
        };
        match response {
            Response::Ready(handle) => self.interrupt = Some(handle),
            Response::Progress(p) => self.progress = Some(describe(&p)),
            Response::Loaded(snapshot) => {
                if snapshot.counting_dropped {
                    self.pending.insert(COUNTING_DROPPED, Pending::Dropped);
                }
                if !snapshot.cache.notices.is_empty() {
                    self.message = Some(format!("cache: {}", snapshot.cache.notices.join(" · ")));
                }
                self.snapshot = Some(*snapshot);
                self.progress = None;
            }
            Response::Dropped(counted) => {
                self.pending.remove(&COUNTING_DROPPED);
                match (counted, &mut self.snapshot) {
                    (Ok(counted), Some(snapshot)) => {
                        crate::engine::fill_dropped(&mut snapshot.flows, &counted);
                        snapshot.counting_dropped = false;
                    }
                    (Err(message), _) => self.message = Some(format!("counting dropped rows: {message}")),
                    _ => {}
                }
            }
            Response::LoadFailed(message) => {
                self.load_error = Some(message);
                self.progress = None;
            }
            Response::Prepared { id, table, total, columns } => {
                if !accept(self, id) {
                    return;
                }
                if let Some(p) = &mut self.preview {
                    p.table = Some(table);
                    p.total = total;
                    if p.columns != columns {
                        p.columns = columns;
                        p.column = p.column.min(p.columns.len().saturating_sub(1));
                        p.first_column = p.first_column.min(p.column);
                    }
                    p.cursor = p.cursor.min(total.saturating_sub(1));
                    p.profile = None;
                    self.applied = (p.filter.clone(), p.sort);
                }
                self.ensure_page();
                self.request_profile();
            }
            Response::Page { id, offset, rows } => {
                if accept(self, id) {
                    if let Some(p) = &mut self.preview {
                        p.page_offset = offset;
                        p.page = rows;
                    }
                }
            }
            Response::Profile { id, profile } => {
                if accept(self, id) {
                    if let Some(p) = &mut self.preview {
                        p.profile = Some(profile);
                    }
                }
            }
            Response::Found { id, row } => {
                if !accept(self, id) {
                    return;
                }
                let height = self.page_height;
                if let Some(p) = &mut self.preview {
                    match row {
                        Some(r) => {
                            p.cursor = r;
                            p.scroll_to_cursor(height);
                        }
                        None => {
                            self.message = Some(format!(
                                "no match for {:?} below row {}",
                                p.search.clone().unwrap_or_default(),
                                p.cursor + 1
                            ))
                        }
                    }
                }
                self.ensure_page();
            }
            Response::Diffed { id, diff } => {
                if accept(self, id) {
                    self.diff = Some(*diff);
                }
            }
            Response::Customers { id, customers } => {
                if accept(self, id) {
                    self.customers = Some(customers);
                }
            }
            Response::Traced { id, trace } => {
                if accept(self, id) {
                    match trace {
                        Some(trace) => {
                            self.trace = Some(*trace);
                            self.trace_cursor = 0;
                        }
                        None => self.message = Some("no customer record has that email".to_string()),
                    }
                }
            }
            Response::Exported { id, message } => {
                if accept(self, id) {
                    self.message = Some(message);
                }
            }
            Response::Failed { id, message } => {
                let kind = self.pending.get(&id).copied();
                if !accept(self, id) {
                    return;
                }
                self.message = Some(message.clone());
                if kind == Some(Pending::Prepare) {
                    let fresh = self.preview.as_ref().is_some_and(|p| p.columns.is_empty());
                    if fresh {
                        // The query never produced a table (bad SQL, cancelled): back to where we were.
                        self.preview = None;
                        self.busy = None;
                        self.go_back();
                        self.message = Some(message);
                    } else {
                        let (filter, sort) = self.applied.clone();
                        if let Some(p) = &mut self.preview {
                            p.filter = filter;
                            p.sort = sort;
                        }
                        self.prepare("loading");
                    }
                }
            }
        }
    }
}

fn describe(p: &Progress) -> String {
    match p {
        Progress::LoadingFile { table, path, index, total } => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            format!("loading {table}: file {} of {total} ({name})", index + 1)
        }
        Progress::Stage { name, index, total } => format!("stage {} of {total}: {name}", index + 1),
        Progress::Check { id, index, total } => format!("check {} of {total}: {id}", index + 1),
    }
}
