//! Everything a person can ask the app to do. Keys and mouse events become an [`Action`]
//! (see `keymap`), and `App::update` is the only place that acts on them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    /// Esc: cancel the running query, else close the popup or input, else go back a view.
    Back,
    GoPipeline,
    GoChecks,
    OpenSqlPrompt,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    /// Enter: open what is selected (a table, a stage, a check's failing rows).
    Open,
    /// Stage view: the rows the stage dropped.
    Dropped,
    /// Stage view: the rows the stage kept.
    Kept,
    Sort,
    Filter,
    Search,
    NextMatch,
    Profile,
    TogglePii,
    /// The reviewer's view: what the rubric and strict modes keep differently, by reason.
    GoDiff,
    /// Trace one customer: a picker of customers, then their trace.
    GoTrace,
    /// Export the trusted and curated zones as Parquet (asks for the folder).
    Export,
    /// A mouse click on the n-th line of the main area.
    ClickLine(u16),
}
