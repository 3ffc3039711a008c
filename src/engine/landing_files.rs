//! The landing files of a table and what the cache remembers of them: where a dataset's files are
//! (walkdir, recursively, sorted), each file's stat fields (size, modification and change times)
//! and the manifest rows (`stedi_cache.files`) they are compared with to decide, without reading a
//! file, whether it can be reused.
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use walkdir::WalkDir;

use super::cache;
use super::error::{EngineError, Result};

/// The file name endings a landing folder may hold.
pub const LANDING_EXTENSIONS: [&str; 6] = [".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"];

/// Where a dataset's landing files live: `DATA/<dataset>/landing/`, as in the original S3 bucket.
pub fn landing_dir(data_dir: &Path, dataset: &str) -> PathBuf {
    data_dir.join(dataset).join("landing")
}

fn is_landing_file(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_lowercase()) else {
        return false;
    };
    !name.starts_with('.') && LANDING_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// Every landing file under `dir`, recursively, in a stable (sorted) order. Symlinks are followed;
/// a loop, a broken symlink or an unreadable entry is an error naming the path rather than a
/// silent skip, and so is an entry with a landing file's name that is not a regular file (a FIFO,
/// a socket, a device): it is never opened (reading a FIFO would wait forever for a writer).
pub fn find_landing_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(EngineError::input(dir, "landing folder not found"));
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf());
            let broken = e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            let why = if e.loop_ancestor().is_some() {
                "symlink loop".to_string()
            } else if broken {
                let target = fs::read_link(&path).map(|t| super::printable::printable_path(&t)).unwrap_or_default();
                format!("a broken symlink (to {target})")
            } else {
                e.to_string()
            };
            EngineError::input(path, format!("cannot read: {why}"))
        })?;
        let kind = entry.file_type();
        if !is_landing_file(entry.path()) || kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(not_regular(entry.path(), &kind));
        }
        files.push(entry.into_path());
    }
    if files.is_empty() {
        return Err(EngineError::input(dir, "no landing files (*.json, *.jsonl, *.ndjson, optionally .gz)"));
    }
    Ok(files)
}

/// A file whose modification time is this close to when it was last read may have changed again
/// within the file system's timestamp granularity: its content is hashed rather than trusted.
pub const RACY_NS: i64 = 3_000_000_000;

/// A landing file as found now: where, and the stat fields that say whether it changed.
pub struct Found {
    pub path: PathBuf,
    pub rel: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

/// A landing file as the manifest remembers it.
pub struct Entry {
    pub file_id: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub sha256: String,
    pub rows: u64,
    pub rejected: u64,
    pub recorded_ns: i64,
}

/// The error of a landing file that is not a regular file.
fn not_regular(path: &Path, kind: &fs::FileType) -> EngineError {
    EngineError::input(
        path,
        format!(
            "is {}, not a regular file; a landing file must be one (not read)",
            super::printable::describe_file_type(kind)
        ),
    )
}

/// A path as text, every byte kept: a name that is not UTF-8 (a Latin-1 `caf\xE9.json` from an old
/// archive) shows its other bytes as `\xE9`, and the file is still read (by the validator, which
/// opens it by its bytes; DuckDB is given UTF-8 paths only). A UTF-8 name could spell the same
/// text: loading refuses two files of one name.
pub fn path_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

pub fn stat(path: &Path, data_dir: &Path) -> Result<Found> {
    let meta = fs::metadata(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
    // Replaced by a FIFO (or another non-file) since it was found: never opened.
    if !meta.is_file() {
        return Err(not_regular(path, &meta.file_type()));
    }
    let rel = path_text(path.strip_prefix(data_dir).unwrap_or(path));
    #[cfg(unix)]
    let (mtime_ns, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (nanos(meta.mtime(), meta.mtime_nsec()), nanos(meta.ctime(), meta.ctime_nsec()))
    };
    #[cfg(not(unix))]
    let (mtime_ns, ctime_ns) = {
        let t = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        (t.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)), 0)
    };
    Ok(Found { path: path.to_path_buf(), rel, size: meta.len(), mtime_ns, ctime_ns })
}

/// A file time as nanoseconds since 1970, saturating: a time past 2262 (or before 1678) does not
/// fit in an i64 of nanoseconds, and must neither panic nor wrap to another time.
pub fn nanos(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

pub fn read_manifest(conn: &Connection, table: &str) -> Result<HashMap<String, Entry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT rel_path, file_id, size, mtime_ns, ctime_ns, sha256, rows, rejected, recorded_ns \
         FROM {}.files WHERE table_name = ?",
        cache::SCHEMA
    ))?;
    let entries = stmt
        .query_map([table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Entry {
                    file_id: r.get(1)?,
                    size: r.get(2)?,
                    mtime_ns: r.get(3)?,
                    ctime_ns: r.get(4)?,
                    sha256: r.get(5)?,
                    rows: r.get(6)?,
                    rejected: r.get(7)?,
                    recorded_ns: r.get(8)?,
                },
            ))
        })?
        .collect::<std::result::Result<HashMap<_, _>, _>>()?;
    Ok(entries)
}

pub fn hash_file(path: &Path) -> Result<String> {
    cache::sha256_file(path).map(|(_, sha)| sha).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_times_saturate_instead_of_overflowing() {
        assert_eq!(nanos(1_700_000_000, 5), 1_700_000_000_000_000_005);
        assert_eq!(nanos(-1, 0), -1_000_000_000);
        // 2300-01-01 and the largest time a file system may store: past i64 nanoseconds.
        assert_eq!(nanos(10_413_792_000, 999_999_999), i64::MAX);
        assert_eq!(nanos(i64::MAX, 999_999_999), i64::MAX);
        assert_eq!(nanos(i64::MIN, 0), i64::MIN);
    }

    #[test]
    fn a_file_dated_after_2262_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("far.json");
        fs::write(&path, "{}\n").unwrap();
        let far = std::time::UNIX_EPOCH + std::time::Duration::from_secs(10_413_792_000);
        if fs::File::options().write(true).open(&path).unwrap().set_modified(far).is_err() {
            return; // a file system that cannot store the date
        }
        #[cfg(unix)]
        if std::os::unix::fs::MetadataExt::mtime(&fs::metadata(&path).unwrap()) <= i64::MAX / 1_000_000_000 {
            return; // one that stored an earlier date instead
        }
        let found = stat(&path, dir.path()).unwrap();
        assert_eq!(found.mtime_ns, i64::MAX, "saturated, not wrapped");
    }
}
