//! Gives the crate a fingerprint of its own source (`STEDI_SOURCE_HASH`): the warm-start cache
//! records it and is rebuilt by any other build of stedi-tui, because a change in how files are
//! loaded or checked must never meet a cache an older build wrote. Every executable built from
//! the same source (the app, its tests, the examples) shares one cache.
//!
//! It also compiles the SQL under `queries/` into the binary (`$OUT_DIR/builtin_queries.rs`: every
//! `*.sql` file, by its path relative to `queries/`), so an installed stedi-tui runs from any folder.
use std::fs;
use std::path::Path;

/// FNV-1a, 64 bits: deterministic across builds and Rust versions, which std's hashers are not promised to be.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn main() {
    let mut files = Vec::new();
    walk(Path::new("src"), &mut files);
    files.push("Cargo.lock".into());
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for file in &files {
        fnv(&mut hash, file.to_string_lossy().as_bytes());
        fnv(&mut hash, &fs::read(file).unwrap_or_default());
    }
    println!("cargo:rustc-env=STEDI_SOURCE_HASH={hash:016x}");
    println!("cargo:rerun-if-changed=src");
    builtin_queries();
    println!("cargo:rerun-if-changed=Cargo.lock");
}

/// `pub static FILES: &[(&str, &str)]`: (path relative to `queries/`, `/`-separated; the text), sorted.
fn builtin_queries() {
    let root = Path::new("queries");
    let mut files = Vec::new();
    walk(root, &mut files);
    files.retain(|f| f.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut out = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        let rel: Vec<String> = file
            .strip_prefix(root)
            .expect("walked from queries/")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        // The crate's folder as the compiler sees it, not as this script saw it: a target folder
        // shared by two checkouts (a CI cache) may keep this file from a run in the other one.
        let within = format!("/queries/{}", rel.join("/"));
        out +=
            &format!("    ({:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {within:?}))),\n", rel.join("/"));
    }
    out += "];\n";
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_queries.rs");
    fs::write(target, out).expect("OUT_DIR is writable");
    // A directory is scanned whole: a file added, removed or edited anywhere under it reruns this.
    println!("cargo:rerun-if-changed=queries");
}
