//! The engine boundary, held by a test (a separate crate would let the compiler do it): the engine
//! knows no terminal and no command line, and the CLI, the TUI and the report renderers reach the
//! engine only through the names `src/engine/mod.rs` re-exports, never a submodule's path.
use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("src/ is readable"))
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `engine::<module>::` in code (comments aside): a path into the engine's insides. `history` is a
/// module the surface re-exports whole.
fn submodule_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("engine::") {
            let after = &rest[at + "engine::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != "history" && after[name.len()..].starts_with("::") {
                found.push(format!("line {}: {}", number + 1, line.trim()));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn the_cli_tui_and_renderers_use_only_the_engines_surface() {
    let mut offenders = Vec::new();
    for file in rust_files(&src()) {
        if file.starts_with(src().join("engine")) {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for hit in submodule_paths(&text) {
            offenders.push(format!("{}: {hit}", file.strip_prefix(src()).unwrap().display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "re-export these from src/engine/mod.rs and use that name:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_engine_knows_no_terminal_and_no_command_line() {
    let mut offenders = Vec::new();
    for file in rust_files(&src().join("engine")) {
        let text = fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for forbidden in ["ratatui", "crossterm", "clap", "crate::tui", "crate::cli", "crate::report", "indicatif"]
            {
                if code.contains(forbidden) {
                    offenders.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "the engine must not depend on these:\n{}", offenders.join("\n"));
}

#[test]
fn engine_submodules_are_the_engines_own() {
    let text = fs::read_to_string(src().join("engine/mod.rs")).unwrap();
    let public: Vec<&str> = text.lines().filter(|l| l.starts_with("pub mod ")).collect();
    assert!(public.is_empty(), "engine submodules are pub(crate), reached through re-exports: {public:?}");
    assert!(text.lines().any(|l| l.starts_with("pub(crate) mod load;")), "the modules are declared in engine/mod.rs");
}

#[test]
fn the_path_finder_sees_a_submodule_path_and_not_a_surface_name() {
    assert_eq!(submodule_paths("use crate::engine::export::{export};").len(), 1);
    assert_eq!(submodule_paths("let x = crate::engine::mask::display_value(a);").len(), 1);
    assert!(submodule_paths("use crate::engine::{export, Zone};").is_empty());
    assert!(submodule_paths("crate::engine::history::read(conn)").is_empty());
    assert!(submodule_paths("// see crate::engine::load::x").is_empty());
    assert!(submodule_paths("use crate::engine::Zone::Landing;").is_empty());
}
