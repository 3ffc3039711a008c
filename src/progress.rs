//! Progress on stderr for long CLI runs (`--check`, `export`): one indicatif bar driven by the
//! engine's [`Progress`] callback, showing the phase (load, stage, check), how many of its items are
//! done, the current file, stage or check, and the time so far. It is drawn only when stderr is a
//! terminal and `--quiet` is not given, so pipes, files, CI logs and tests never see it, and it is
//! cleared when the run ends (or fails), leaving only the report and messages.
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::Progress;

pub struct ProgressReporter {
    bar: Option<ProgressBar>,
}

impl ProgressReporter {
    /// A bar on stderr, or nothing when `quiet` or stderr is not a terminal.
    pub fn stderr(quiet: bool) -> ProgressReporter {
        if quiet || !std::io::stderr().is_terminal() {
            return ProgressReporter::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {prefix:>5} [{bar:24}] {pos}/{len} {wide_msg} {elapsed}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        // Keeps the spinner and the clock moving while one large file or query runs.
        bar.enable_steady_tick(Duration::from_millis(120));
        ProgressReporter { bar: Some(bar) }
    }

    /// Draws nothing.
    pub fn hidden() -> ProgressReporter {
        ProgressReporter { bar: None }
    }

    pub fn is_hidden(&self) -> bool {
        self.bar.is_none()
    }

    /// The engine is about to start the item `index` (0-based) of `total`: `index` are done.
    pub fn update(&self, progress: &Progress) {
        let Some(bar) = &self.bar else {
            return;
        };
        let (phase, what, index, total) = match progress {
            Progress::LoadingFile { table, path, index, total } => {
                let file = path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
                ("load", format!("{table} ← {file}"), index, total)
            }
            Progress::Stage { name, index, total } => ("stage", name.clone(), index, total),
            Progress::Check { id, index, total } => ("check", id.clone(), index, total),
        };
        // Position before length: a tick drawn in between never shows more done than there are.
        bar.set_position(*index as u64);
        bar.set_length(*total as u64);
        bar.set_prefix(phase);
        // A file name's newline or escape must not redraw the terminal (see engine::printable).
        bar.set_message(crate::engine::printable(&what).into_owned());
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ProgressReporter {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_draws_nothing() {
        let reporter = ProgressReporter::stderr(true);
        assert!(reporter.is_hidden());
        reporter.update(&Progress::Stage { name: "customer_trusted".into(), index: 0, total: 5 });
        reporter.finish();
    }
}
