use clap::Parser;
use std::process::ExitCode;

use stedi_tui::cli::{run, Cli};
use stedi_tui::engine::printable;

fn main() -> ExitCode {
    // Panics (there should be none) still get a readable report; errors are one line, no backtrace.
    let _ = color_eyre::install();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            // One line, whatever a path in it holds (see engine::printable).
            eprintln!("stedi-tui: error: {}", printable(&e.0));
            ExitCode::from(2)
        }
    }
}
