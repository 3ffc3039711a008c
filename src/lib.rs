//! stedi-tui: the STEDI Human Balance Analytics lakehouse on embedded DuckDB.
//!
//! The engine (`engine`) loads landing data, runs the zone stages and the privacy checks, all from
//! SQL files under `queries/`; it knows nothing of the terminal. The report renderers (`report`),
//! the CLI (`cli`) and the TUI (`tui`) only drive it and read what it produced.
pub mod cli;
pub mod engine;
pub mod progress;
pub mod report;
pub mod tui;
