//! The folder DuckDB spills to when the data outgrows its memory limit. What it spills is table
//! data, personal data included, so stedi-tui makes the folder itself: owner-only (0700), under an
//! exclusive random name (`stedi-tui-<pid>-<16 hex digits>`: creating it fails when the name is
//! taken, and another name is tried), inside `--temp-dir` or the system's temp folder. It is
//! removed with everything in it when the last connection that may spill into it is closed
//! ([`SpillDir`] is dropped), and what a run that was killed left behind is removed at the next
//! start ([`remove_leftovers`]): the folders of processes that are no longer alive, and the
//! scratch files of records that older builds wrote to the system's temp folder. Nothing of a
//! live process or of another user is ever touched.
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use super::error::{EngineError, Result};

/// The start of every name stedi-tui gives a folder or file in a temp folder.
const PREFIX: &str = "stedi-tui-";

/// A spill folder of this process, removed (recursively) when dropped.
#[derive(Debug)]
pub struct SpillDir {
    path: PathBuf,
}

impl SpillDir {
    /// Make a fresh spill folder inside `temp_dir` (default: the system's temp folder), after
    /// removing what dead runs left there. A `temp_dir` that is no folder is an error; a missing
    /// system temp folder gives none (DuckDB then uses its default, `.tmp` in the working folder).
    pub fn create(temp_dir: Option<&Path>) -> Result<Option<SpillDir>> {
        let parent = match temp_dir {
            Some(dir) if !dir.is_dir() => return Err(EngineError::input(dir, "temp folder not found")),
            Some(dir) => dir.to_path_buf(),
            None if std::env::temp_dir().is_dir() => std::env::temp_dir(),
            None => return Ok(None),
        };
        remove_leftovers(&parent);
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let mut tries = 0;
        loop {
            let path = parent.join(format!("{PREFIX}{}-{:016x}", std::process::id(), random_u64()));
            match builder.create(&path) {
                Ok(()) => {
                    // The umask can only take bits away; this makes sure of the rest.
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o700));
                    }
                    return Ok(Some(SpillDir { path }));
                }
                // Someone made a folder of that name first: another name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
                Err(e) => return Err(EngineError::input(&parent, format!("cannot create a spill folder in it: {e}"))),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// 64 bits no other process can guess: SipHash under the keys the standard library draws from
/// the operating system's random source for each `RandomState`.
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}

/// Whether process `pid` may be running: only a definite "no such process" says it is not (a
/// process of another user answers "not permitted", and counts as alive).
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The pid in a name stedi-tui gave something in a temp folder, and the rest after it:
/// `stedi-tui-<pid>-<rest>`.
fn owner_pid(name: &str) -> Option<(u32, &str)> {
    let (pid, rest) = name.strip_prefix(PREFIX)?.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    Some((pid.parse().ok()?, rest))
}

/// Whether this user owns the file or folder (never follows a link).
fn owned_by_me(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        meta.uid() == unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Remove what runs that are no longer alive left behind: `stedi-tui-<pid>-*` folders (spill
/// folders) in `parent` and in the system's temp folder (the default), and
/// `stedi-tui-<pid>-<n>.ndjson` files in the system's temp folder (the scratch files of records
/// that older builds wrote there). Only this user's, only of dead processes; a link is never
/// followed. Returns what it removed.
pub fn remove_leftovers(parent: &Path) -> Vec<PathBuf> {
    let system = std::env::temp_dir();
    let mut removed = remove_dead(&system, true, true);
    if parent != system {
        removed.extend(remove_dead(parent, true, false));
    }
    removed
}

/// [`remove_leftovers`] in one folder: its spill folders, its scratch files, or both.
fn remove_dead(dir: &Path, spill_folders: bool, scratch_files: bool) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return removed };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, rest)) = name.to_str().and_then(owner_pid) else { continue };
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        let folder = spill_folders && meta.is_dir();
        let scratch = scratch_files
            && meta.is_file()
            && rest.strip_suffix(".ndjson").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !(folder || scratch) || !owned_by_me(&meta) || process_alive(pid) {
            continue;
        }
        if if folder { fs::remove_dir_all(&path) } else { fs::remove_file(&path) }.is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_their_pid() {
        assert_eq!(owner_pid("stedi-tui-123-0"), Some((123, "0")));
        assert_eq!(owner_pid("stedi-tui-123-00ff00ff00ff00ff"), Some((123, "00ff00ff00ff00ff")));
        assert_eq!(owner_pid("stedi-tui-123-4.ndjson"), Some((123, "4.ndjson")));
        assert_eq!(owner_pid("stedi-tui-123"), None);
        assert_eq!(owner_pid("stedi-tui-123-"), None);
        assert_eq!(owner_pid("stedi-tui--1-2"), None);
        assert_eq!(owner_pid("stedi-tui-x1-2"), None);
        assert_eq!(owner_pid("other-123-2"), None);
    }

    #[test]
    fn this_process_and_init_are_alive() {
        assert!(process_alive(std::process::id()));
        assert!(process_alive(1));
        assert!(process_alive(0), "no pid: never treated as dead");
    }
}
