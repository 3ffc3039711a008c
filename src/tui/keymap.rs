//! One list of key bindings feeds both the key bar and the help popup, so they cannot disagree.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Lists,
    Stage,
    Table,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "everywhere",
            Context::Lists => "pipeline and checks",
            Context::Stage => "stage",
            Context::Table => "table preview",
        }
    }
}

pub struct Binding {
    pub keys: &'static [KeyCode],
    /// The key as shown, e.g. `PgDn`.
    pub label: &'static str,
    /// A word or two for the key bar.
    pub name: &'static str,
    pub help: &'static str,
    pub action: Action,
    pub context: Context,
    /// Shown in the key bar (the rest only in the help popup).
    pub in_bar: bool,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    name: &'static str,
    help: &'static str,
    action: Action,
    context: Context,
    in_bar: bool,
) -> Binding {
    Binding { keys, label, name, help, action, context, in_bar }
}

use Context::*;
use KeyCode::*;

pub const BINDINGS: &[Binding] = &[
    b(&[Char('q')], "q", "quit", "quit (the terminal is restored)", Action::Quit, Global, true),
    b(&[Char('?')], "?", "help", "help: this list", Action::ToggleHelp, Global, true),
    b(&[Esc], "Esc", "back", "cancel a running query / close / back", Action::Back, Global, true),
    b(&[Char('1')], "1", "pipeline", "pipeline view", Action::GoPipeline, Global, false),
    b(&[Char('2'), Char('c')], "c", "checks", "checks view", Action::GoChecks, Global, true),
    b(&[Char(':')], ":", "sql", "SQL prompt (↑/↓ history)", Action::OpenSqlPrompt, Global, true),
    b(&[Char('D')], "D", "diff", "rubric vs strict: rows one mode keeps, by reason", Action::GoDiff, Global, false),
    b(
        &[Char('t')],
        "t",
        "trace",
        "trace a customer (type to filter, Enter traces; Enter on a table opens their rows)",
        Action::GoTrace,
        Global,
        false,
    ),
    b(&[Char('e')], "e", "export", "export trusted and curated Parquet", Action::Export, Global, false),
    b(&[Char('m')], "m", "mask", "mask / show personal fields", Action::TogglePii, Global, false),
    b(&[Up, Char('k')], "↑↓", "move", "move", Action::Up, Global, true),
    b(&[Down, Char('j')], "", "down", "move down", Action::Down, Global, false),
    b(&[Enter], "Enter", "open", "open the selected table, stage or check", Action::Open, Lists, true),
    b(&[Char('d')], "d", "dropped", "rows the stage dropped", Action::Dropped, Stage, true),
    b(&[Char('o')], "o", "kept", "rows the stage kept (its output)", Action::Kept, Stage, true),
    b(&[PageUp], "PgUp", "page up", "page up", Action::PageUp, Global, false),
    b(&[PageDown, Char(' ')], "PgDn", "page", "page down", Action::PageDown, Global, true),
    b(&[Home, Char('g')], "g", "top", "top", Action::Top, Global, false),
    b(&[End, Char('G')], "G", "bottom", "bottom", Action::Bottom, Global, false),
    b(&[Left, Char('h')], "←→", "columns", "columns", Action::Left, Table, true),
    b(&[Right, Char('l')], "", "right", "next column", Action::Right, Table, false),
    b(&[Char('s')], "s", "sort", "sort by column (asc, desc, off)", Action::Sort, Table, true),
    b(&[Char('f')], "f", "filter", "filter: a SQL WHERE expression", Action::Filter, Table, true),
    b(&[Char('/')], "/", "search", "search text", Action::Search, Table, true),
    b(&[Char('n')], "n", "next", "next match", Action::NextMatch, Table, false),
    b(&[Char('p')], "p", "profile", "column profile", Action::Profile, Table, true),
];

/// The action a key means in `context` (global bindings apply everywhere).
pub fn action_for(key: KeyEvent, context: Context) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == Char('c') {
        return Some(Action::Quit);
    }
    BINDINGS
        .iter()
        .filter(|bd| {
            bd.context == Global
                || bd.context == context
                || (bd.context == Lists && context == Stage && bd.action == Action::Open)
        })
        .find(|bd| bd.keys.contains(&key.code))
        .map(|bd| bd.action)
}

/// The key bar for a context: `label action` pairs.
pub fn bar(context: Context) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|bd| bd.in_bar && (bd.context == Global || bd.context == context))
        .map(|bd| (bd.label, bd.name))
        .collect()
}
