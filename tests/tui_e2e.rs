//! The real binary in a real terminal: tmux runs `stedi-tui` on sample_data/, the test types keys
//! (send-keys) and reads the screen (capture-pane), as a person would.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }
    /// Wait until the screen satisfies `ok`; return it (or fail with the last screen).
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

#[test]
fn explore_the_ml_table_and_a_check_in_a_real_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
        return;
    }
    let tmux = Tmux { socket: format!("stedi-e2e-{}", std::process::id()) };
    let bin = env!("CARGO_BIN_EXE_stedi-tui");
    let root = common::project_root();
    let command = format!("'{bin}' --data sample_data; echo EXITED:$?; sleep 60");
    tmux.run(&["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", "-c", root.to_str().unwrap(), &command]);

    // Dropped rows the cache lacks are counted after the first frame: wait for them too.
    let home = tmux
        .wait_for("the pipeline view", |s| s.contains("LANDING") && s.contains("pass ·") && !s.contains("counting…"));
    assert!(home.contains("LANDING") && home.contains("no research consent"), "{home}");

    // The last table of the pipeline is machine_learning_curated: its stage, then its rows.
    tmux.keys(&["G", "Enter"]);
    tmux.wait_for("the ML stage", |s| s.contains("stage machine_learning_curated"));
    tmux.keys(&["Enter"]);
    let table = tmux.wait_for("the ML rows", |s| s.contains("rows 1–"));
    let per_page: u64 = table
        .split("rows 1–")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .expect("rows 1–N of M");
    tmux.keys(&["PageDown"]);
    tmux.wait_for("the second page", |s| s.contains(&format!("rows {}–", per_page + 1)));

    tmux.keys(&["Right", "Right", "s"]);
    // Sorting returns to the top of the table.
    tmux.wait_for("the sorted rows", |s| s.contains("sort distanceFromObject ↑") && s.contains("rows 1–"));

    tmux.keys(&["c"]);
    let checks = tmux.wait_for("the checks view", |s| s.contains("checks:") && s.contains("WARN"));
    assert!(!checks.contains("FAIL "), "sample_data has no consent leak: {checks}");
    tmux.keys(&["Enter"]);
    let drill = tmux.wait_for("a check's failing rows", |s| s.contains("failing rows") && s.contains("rows 1–"));
    assert!(!drill.contains("PERSONAL FIELDS SHOWN"));

    tmux.keys(&["q"]);
    let after = tmux.wait_for("the app to exit", |s| s.contains("EXITED:"));
    assert!(after.contains("EXITED:0"), "{after}");
    assert!(!after.contains("stedi-tui ") || !after.contains("pipeline"), "the alternate screen is gone: {after}");
}
