//! The table preview: a window onto any table or query result. Only the visible page is fetched
//! from DuckDB; sorting and filtering materialise the result once (in the worker) and every page
//! after that is a rowid range, so paging stays fast on tens of millions of rows.
use crate::engine::quote_ident;
use crate::engine::RowSet;

use super::worker::ColumnProfile;

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub title: String,
    /// The rows to show before filter and sort: a SELECT.
    pub base_sql: String,
    /// A base table that can be paged as it is (no filter, no sort).
    pub base_table: Option<String>,
    pub filter: Option<String>,
    /// Column index and descending?
    pub sort: Option<(usize, bool)>,
    /// The table pages are read from, once the worker has prepared it.
    pub table: Option<String>,
    pub columns: Vec<(String, String)>,
    pub total: u64,
    /// First row shown, and the selected row (both absolute).
    pub top: u64,
    pub cursor: u64,
    pub first_column: usize,
    pub column: usize,
    pub page: RowSet,
    pub page_offset: u64,
    pub search: Option<String>,
    pub profile: Option<ColumnProfile>,
    pub show_profile: bool,
    /// Whether the data holds personal fields that are masked (a check's failing rows, say).
    pub note: Option<String>,
}

impl Preview {
    pub fn of_table(name: &str) -> Preview {
        Preview::new(name.to_string(), format!("SELECT * FROM {}", quote_ident(name)), Some(name.to_string()))
    }

    pub fn of_query(title: String, sql: String) -> Preview {
        Preview::new(title, sql, None)
    }

    fn new(title: String, base_sql: String, base_table: Option<String>) -> Preview {
        Preview {
            title,
            base_sql,
            base_table,
            filter: None,
            sort: None,
            table: None,
            columns: Vec::new(),
            total: 0,
            top: 0,
            cursor: 0,
            first_column: 0,
            column: 0,
            page: RowSet::default(),
            page_offset: 0,
            search: None,
            profile: None,
            show_profile: false,
            note: None,
        }
    }

    /// What the worker must materialise for the current filter and sort (None: page the base table).
    pub fn source_sql(&self) -> (String, Option<String>) {
        if self.filter.is_none() && self.sort.is_none() {
            return (self.base_sql.clone(), self.base_table.clone());
        }
        let mut sql = format!("SELECT * FROM ({}) AS base", self.base_sql);
        if let Some(f) = &self.filter {
            sql.push_str(&format!(" WHERE ({f})"));
        }
        if let Some((col, desc)) = self.sort {
            if let Some((name, _)) = self.columns.get(col) {
                sql.push_str(&format!(
                    " ORDER BY {} {} NULLS LAST",
                    quote_ident(name),
                    if desc { "DESC" } else { "ASC" }
                ));
            }
        }
        (sql, None)
    }

    /// Rows of the page that are on screen, given `height` visible rows.
    pub fn visible_rows(&self, height: usize) -> Vec<(u64, &Vec<Option<String>>)> {
        (self.top..(self.top + height as u64).min(self.total))
            .filter_map(|row| {
                let i = row.checked_sub(self.page_offset)? as usize;
                self.page.rows.get(i).map(|r| (row, r))
            })
            .collect()
    }

    /// Whether the page in hand covers rows `top..top+height`.
    pub fn page_covers(&self, height: usize) -> bool {
        let end = (self.top + height as u64).min(self.total);
        self.top >= self.page_offset && end <= self.page_offset + self.page.rows.len() as u64
    }

    /// Move the cursor by `delta` rows and keep it on screen.
    pub fn move_cursor(&mut self, delta: i64, height: usize) {
        if self.total == 0 {
            return;
        }
        let last = self.total - 1;
        self.cursor = (self.cursor as i64 + delta).clamp(0, last as i64) as u64;
        self.scroll_to_cursor(height);
    }

    pub fn scroll_to_cursor(&mut self, height: usize) {
        let height = height.max(1) as u64;
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + height {
            self.top = self.cursor + 1 - height;
        }
    }

    pub fn column_name(&self) -> Option<&str> {
        self.columns.get(self.column).map(|(n, _)| n.as_str())
    }

    /// Sort cycle on the selected column: ascending, descending, off.
    pub fn cycle_sort(&mut self) {
        self.sort = match self.sort {
            Some((c, false)) if c == self.column => Some((c, true)),
            Some((c, true)) if c == self.column => None,
            _ => Some((self.column, false)),
        };
    }
}
