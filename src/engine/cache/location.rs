//! Where a data folder's cache lives: `DATA/.stedi/`, or the user's cache folder when the data
//! folder is read-only, or a folder the user chose; made owner-only, with the files DuckDB keeps.
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{hex, CacheChoice, DATA_CACHE_DIR};
use crate::engine::error::{EngineError, Result};

/// The user's cache folder for a data folder that cannot hold its own: `$XDG_CACHE_HOME` or
/// `~/.cache`, then `stedi-tui/<first 16 hex digits of SHA-256 of the data folder's absolute path>`.
pub fn user_cache_dir(data_dir: &Path) -> Option<PathBuf> {
    let base = user_cache_base()?;
    let absolute = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = hex(&Sha256::digest(absolute.to_string_lossy().as_bytes()));
    Some(base.join("stedi-tui").join(&digest[..16]))
}

/// `$XDG_CACHE_HOME`, or `~/.cache`; none when neither is set.
pub(super) fn user_cache_base() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
}

/// A folder stedi-tui may write into. Permission bits are read rather than trusted to the OS,
/// because root may write anywhere: a data folder marked read-only is left alone even then.
pub(super) fn writable_dir(dir: &Path) -> bool {
    fs::metadata(dir).map(|m| m.is_dir() && !m.permissions().readonly()).unwrap_or(false)
}

/// Whether users other than the owner may enter `dir` (group or other execute bit).
pub(super) fn open_to_others(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(dir).map(|m| m.permissions().mode() & 0o011 != 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// A notice when users other than the owner may enter the cache folder (it holds personal data).
pub(super) fn notice_if_open_to_others(dir: &Path, notices: &mut Vec<String>) {
    if open_to_others(dir) {
        notices.push(format!(
            "{}: other users can open this folder, and the cache holds personal data (chmod 700 it)",
            dir.display()
        ));
    }
}

/// Make `dir` (owner-only when it is created here) or say why not.
pub(super) fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // So nobody commits the personal data in it with the data folder.
    fs::write(dir.join(".gitignore"), "# stedi-tui's cache: personal data, never commit it\n*\n")
}

/// Every folder a data folder's cache may be in (for `cache clear` and `forget`).
pub fn candidate_dirs(data_dir: &Path, choice: &CacheChoice) -> Vec<PathBuf> {
    match choice {
        CacheChoice::Dir(dir) => vec![dir.clone()],
        CacheChoice::Off | CacheChoice::Auto => {
            let mut dirs = vec![data_dir.join(DATA_CACHE_DIR)];
            dirs.extend(user_cache_dir(data_dir));
            dirs
        }
    }
}

/// The folder this run's cache goes in, created if need be; none (with a notice) when no folder can hold it.
pub(super) fn resolve_dir(data_dir: &Path, choice: &CacheChoice, notices: &mut Vec<String>) -> Result<Option<PathBuf>> {
    match choice {
        CacheChoice::Off => Ok(None),
        CacheChoice::Dir(dir) => {
            make_private_dir(dir)
                .map_err(|e| EngineError::input(dir, format!("cannot create the cache folder: {e}")))?;
            notice_if_open_to_others(dir, notices);
            Ok(Some(dir.clone()))
        }
        CacheChoice::Auto => {
            let in_data = data_dir.join(DATA_CACHE_DIR);
            if in_data.is_dir() || writable_dir(data_dir) {
                match make_private_dir(&in_data) {
                    Ok(()) => {
                        // Made owner-only here; one that was there already may not be.
                        notice_if_open_to_others(&in_data, notices);
                        return Ok(Some(in_data));
                    }
                    Err(e) => notices.push(format!("{}: cannot create the cache folder ({e})", in_data.display())),
                }
            }
            let Some(user) = user_cache_dir(data_dir) else {
                notices.push("no cache folder (HOME is not set): running without a cache".to_string());
                return Ok(None);
            };
            match make_private_dir(&user) {
                Ok(()) => {
                    notice_if_open_to_others(&user, notices);
                    Ok(Some(user))
                }
                Err(e) => {
                    notices.push(format!(
                        "{}: cannot create the cache folder ({e}); running without a cache",
                        user.display()
                    ));
                    Ok(None)
                }
            }
        }
    }
}

/// The files DuckDB keeps for a database: the file and its write-ahead log.
pub(super) fn database_files(file: &Path) -> [PathBuf; 2] {
    let mut wal = file.as_os_str().to_owned();
    wal.push(".wal");
    [file.to_path_buf(), PathBuf::from(wal)]
}

pub(super) fn remove_database(file: &Path) -> std::io::Result<()> {
    for f in database_files(file) {
        match fs::remove_file(&f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Owner-only permissions on the database files that exist (DuckDB creates them 0644).
pub fn restrict_permissions(file: &Path) {
    #[cfg(unix)]
    for f in database_files(file) {
        use std::os::unix::fs::PermissionsExt;
        if f.exists() {
            let _ = fs::set_permissions(&f, fs::Permissions::from_mode(0o600));
        }
    }
}
