//! Gives the crate a fingerprint of its own source (`STEDI_SOURCE_HASH`): the warm-start cache
//! records it and is rebuilt by any other build of stedi-tui, because a change in how files are
//! loaded or checked must never meet a cache an older build wrote. Every executable built from
//! the same source (the app, its tests, the examples) shares one cache.
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
    println!("cargo:rerun-if-changed=Cargo.lock");
}
