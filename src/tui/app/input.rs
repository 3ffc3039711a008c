//! The input line: the SQL prompt (with history), the filter, the search and the export folder.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, InputKind, Pending};
use crate::tui::preview::Preview;
use crate::tui::worker::Request;

impl App {
    pub(super) fn on_input_key(&mut self, key: KeyEvent) {
        let Some((kind, text)) = &mut self.input else { return };
        let kind = *kind;
        match key.code {
            KeyCode::Esc => self.input = None,
            KeyCode::Enter => {
                let text = text.trim().to_string();
                self.input = None;
                self.submit(kind, text);
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Up | KeyCode::Down if kind == InputKind::Sql && !self.sql_history.is_empty() => {
                let n = self.sql_history.len();
                let pos = match (self.history_pos, key.code) {
                    (None, KeyCode::Up) => Some(n - 1),
                    (Some(p), KeyCode::Up) => Some(p.saturating_sub(1)),
                    (Some(p), KeyCode::Down) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                self.history_pos = pos;
                *text = pos.map(|p| self.sql_history[p].clone()).unwrap_or_default();
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.input = None,
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
    }

    fn submit(&mut self, kind: InputKind, text: String) {
        match kind {
            InputKind::Sql if !text.is_empty() => {
                if self.sql_history.last() != Some(&text) {
                    self.sql_history.push(text.clone());
                }
                let sql = text.trim_end_matches(';').to_string();
                self.open_preview(Preview::of_query(format!("query: {sql}"), sql));
            }
            InputKind::Export if !text.is_empty() => {
                let out = std::path::PathBuf::from(text);
                self.send(Pending::Export, |id| Request::Export { id, out }, Some("exporting"));
            }
            InputKind::Filter => {
                if let Some(p) = &mut self.preview {
                    p.filter = (!text.is_empty()).then_some(text);
                    p.top = 0;
                    p.cursor = 0;
                }
                self.prepare("filtering");
            }
            InputKind::Search if !text.is_empty() => {
                if let Some(p) = &mut self.preview {
                    p.search = Some(text);
                }
                let from = self.preview.as_ref().map_or(0, |p| p.cursor);
                self.search_from(from);
            }
            _ => {}
        }
    }
}
