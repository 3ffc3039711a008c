//! Where an export goes: checking that OUT may be replaced (never deleting what stedi-tui did not
//! write), the hidden staging folder, and the swap that puts it in OUT's place.
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::manifest::{read_manifest_listing, relative, sha256_file, Listing, Manifest};
use super::{IN_PROGRESS, MANIFEST, NAMED_PATHS, REMOVING};
use crate::engine::error::{EngineError, Result};
use crate::engine::printable::{printable, printable_path};
use crate::engine::spill::process_alive;

/// OUT's parent folder, OUT's own name, and OUT normalised (`foo/.` is `foo`).
pub(super) fn split_out(out: &Path) -> Result<(PathBuf, String, PathBuf)> {
    let out: PathBuf = out.components().collect();
    let name = out
        .file_name()
        .ok_or_else(|| EngineError::input(&out, "the export folder needs a name (not `..` or `/`)"))?
        .to_str()
        .ok_or_else(|| EngineError::input(&out, "the export folder's name is not valid UTF-8"))?
        .to_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name, out))
}

/// Check, before any work, that OUT can be (re)placed: its parent is an existing folder, and OUT
/// is absent or [replaceable](replaceable), so that a typo such as `--out ~` never replaces a
/// folder that is not an export.
pub fn check_destination(out: &Path) -> Result<()> {
    let (parent, _, out) = split_out(out)?;
    match fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(EngineError::input(&parent, "the export folder's parent is not a folder")),
        Err(e) => return Err(EngineError::input(&parent, format!("the export folder's parent cannot be used: {e}"))),
    }
    replaceable_as_written(&out, &out, true)
}

/// Whether the folder at `dir` (shown to the user as `out`) may be deleted to make way for a new
/// export: it does not exist, or is a real folder (not a symlink) that is empty, or holds a valid
/// stedi-tui manifest and nothing that manifest does not list (nested files and folders count).
/// Otherwise the error names up to [`NAMED_PATHS`] of the paths that would be lost and how many
/// more there are.
pub fn replaceable(dir: &Path, out: &Path) -> Result<()> {
    replaceable_as_written(dir, out, false)
}

/// [`replaceable`], and with `contents`, every listed file still holds what the manifest says it
/// held (its SHA-256: a listed file a user overwrote with their own is theirs now); without, its
/// size is compared only (a stale folder beside OUT, about to be removed).
fn replaceable_as_written(dir: &Path, out: &Path, contents: bool) -> Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::input(out, format!("cannot read: {e}"))),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(dir).map(|t| printable_path(&t)).unwrap_or_else(|_| "?".to_string());
        return Err(EngineError::input(
            out,
            format!(
                "is a symlink (to {target}), not a folder; export replaces a whole folder and does not \
                 follow symlinks: give the folder's own path"
            ),
        ));
    }
    if !meta.is_dir() {
        return Err(EngineError::input(out, "exists and is not a folder"));
    }
    let manifest = read_manifest_listing(&dir.join(MANIFEST));
    let absent = matches!(manifest, Ok(None));
    let (listed, problem) = match manifest {
        Ok(Some(listed)) => (listed, None),
        Ok(None) => (Listing::new(), Some(format!("it has no {MANIFEST}, so it is not a stedi-tui export"))),
        Err(why) => (Listing::new(), Some(format!("its {MANIFEST} is not a stedi-tui export manifest ({why})"))),
    };
    let (named, total) = unexpected_paths(dir, &listed, problem.is_some(), contents)
        .map_err(|e| EngineError::input(out, format!("cannot read: {e}")))?;
    let paths = || {
        let more = if total > named.len() { format!(" and {} more", total - named.len()) } else { String::new() };
        format!("{}{more}", named.join(", "))
    };
    match (problem, total) {
        // A previous export, or an empty folder.
        (None, 0) => Ok(()),
        (Some(_), 0) if absent => Ok(()),
        (Some(problem), 0) => Err(EngineError::input(out, format!("{problem}; not replacing it"))),
        (Some(problem), _) => {
            Err(EngineError::input(out, format!("{problem}; not replacing it, it holds {}", paths())))
        }
        (None, _) => Err(EngineError::input(
            out,
            format!(
                "holds {total} path{} its {MANIFEST} does not list (not written by stedi-tui export) \
                 or that changed since; not replacing it: {}",
                if total == 1 { "" } else { "s" },
                paths()
            ),
        )),
    }
}

/// The paths under `dir` that `listed` does not account for, in name order: a file not listed (or
/// listed but no longer a regular file, or not of the listed size, or with `contents` not of the
/// listed SHA-256: named with "(changed)"), a folder no listed file is in (named once, with a
/// trailing `/`, its contents not walked). Returns the first [`NAMED_PATHS`] (printable) and the
/// count of all. `skip_manifest`: the manifest is not counted (it was found unusable, and is named
/// as such).
fn unexpected_paths(
    dir: &Path,
    listed: &Listing,
    skip_manifest: bool,
    contents: bool,
) -> walkdir::Result<(Vec<String>, usize)> {
    let folders: BTreeSet<&str> = listed.keys().flat_map(|p| p.match_indices('/').map(move |(i, _)| &p[..i])).collect();
    let (mut named, mut total) = (Vec::new(), 0);
    let mut walk = walkdir::WalkDir::new(dir).min_depth(1).follow_links(false).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry?;
        let rel = relative(entry.path(), dir);
        let kind = entry.file_type();
        if skip_manifest && rel == MANIFEST {
            if kind.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        if kind.is_dir() && folders.contains(rel.as_str()) {
            continue;
        }
        let mut changed = false;
        if let (true, Some(listed)) = (kind.is_file(), listed.get(&rel)) {
            let size_differs = listed.bytes.is_some_and(|bytes| entry.metadata().map_or(true, |m| m.len() != bytes));
            let content_differs = || {
                listed.sha256.as_ref().is_some_and(|sha| sha256_file(entry.path()).map_or(true, |(_, got)| &got != sha))
            };
            changed = size_differs || contents && content_differs();
            if !changed {
                continue;
            }
        }
        if kind.is_dir() {
            walk.skip_current_dir();
        }
        total += 1;
        if named.len() < NAMED_PATHS {
            let tail = if kind.is_dir() {
                "/"
            } else if changed {
                " (changed)"
            } else {
                ""
            };
            named.push(format!("{}{tail}", printable(&rel)));
        }
    }
    Ok((named, total))
}

/// The hidden sibling folders of an export in progress: `.OUT.tmp-<pid>` and `.OUT.old-<pid>`.
pub(super) fn sibling(parent: &Path, name: &str, kind: &str) -> PathBuf {
    parent.join(format!(".{name}.{kind}-{}", std::process::id()))
}

/// Remove what an export killed mid-way left beside OUT: `.OUT.tmp-<pid>` / `.OUT.old-<pid>` of a
/// process that is no longer running. An `.old` folder with no OUT (killed between the two renames
/// of the non-Linux path) is the previous export: it is put back. Only what is provably an
/// export's is removed (see [`remove_ours`]); anything else of that name is left alone.
fn clean_stale_siblings(parent: &Path, name: &str, out: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&format!(".{name}.")) else { continue };
        let Some((kind, pid)) = rest.split_once('-') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if !(kind == "tmp" || kind == "old") || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        // Not one that was being removed (marked): that one is no longer whole.
        if kind == "old" && !out.exists() && !path.join(REMOVING).exists() && fs::rename(&path, out).is_ok() {
            continue;
        }
        remove_ours(&path, kind);
    }
}

/// Remove a hidden `.tmp`/`.old` sibling of OUT if it is provably an export's: a staging folder
/// (`.tmp` with the [`IN_PROGRESS`] marker: all of it written by the export, removed whole), a
/// previous export being removed (the [`REMOVING`] marker) or a complete export (a replaceable
/// folder, as a kill between the manifest and the swap leaves): removed by [`remove_export`].
fn remove_ours(path: &Path, kind: &str) {
    if !fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return;
    }
    let marked = |marker: &str| fs::symlink_metadata(path.join(marker)).is_ok_and(|m| m.is_file());
    if marked(REMOVING) {
        let _ = remove_export(path);
    } else if kind == "tmp" && marked(IN_PROGRESS) {
        let _ = fs::remove_dir_all(path);
    } else if replaceable(path, path).is_ok() {
        let _ = remove_export(path);
    }
}

/// Delete a previous export at `dir` file by file: every regular file its manifest lists (never
/// through a symlink), the manifest last, then the folders left empty and `dir` itself. A marker
/// ([`REMOVING`]) says, until the end, that it is an export being removed. Anything else (a file
/// that appeared after the folder was last checked, one that cannot be deleted) stays where it is:
/// the error names `dir` and up to [`NAMED_PATHS`] of what is left.
pub(super) fn remove_export(dir: &Path) -> std::result::Result<(), String> {
    let marker = dir.join(REMOVING);
    let _ = fs::write(&marker, b"");
    let listed = read_manifest_listing(&dir.join(MANIFEST)).ok().flatten().unwrap_or_default();
    for rel in listed.keys().filter(|rel| rel.as_str() != MANIFEST) {
        let mut path = dir.to_path_buf();
        // Every folder on the way is a real one inside `dir`, and the file a regular one.
        let mut inside = true;
        for part in rel.split('/') {
            inside &= !matches!(part, "" | "." | "..") && fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            path.push(part);
        }
        if inside && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(&path);
        }
    }
    if !listed.is_empty() {
        let _ = fs::remove_file(dir.join(MANIFEST));
    }
    let folders: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .contents_first(true)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.into_path())
        .collect();
    for folder in folders {
        let _ = fs::remove_dir(folder);
    }
    let _ = fs::remove_file(&marker);
    if fs::remove_dir(dir).is_ok() || fs::symlink_metadata(dir).is_err() {
        return Ok(());
    }
    // What is left: every file, symlink or folder that is not empty, by its path.
    let left: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir() || fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none()))
        .map(|e| printable(&relative(e.path(), dir)).into_owned())
        .collect();
    let total = left.len();
    let named = &left[..total.min(NAMED_PATHS)];
    let more = if total > named.len() { format!(" and {} more", total - named.len()) } else { String::new() };
    Err(format!(
        "the previous export's folder, now {}, kept {total} path{} it did not list or that could not be \
         deleted: {}{more}; they are yours to move or delete",
        printable_path(dir),
        if total == 1 { "" } else { "s" },
        named.join(", ")
    ))
}

/// The hidden `.OUT.tmp-<pid>` folder an export is written into, removed (when dropped) unless it
/// became OUT.
pub(super) struct Staging {
    pub(super) path: PathBuf,
    pub(super) keep: bool,
}

impl Staging {
    /// Clear what a killed export left beside OUT, then make the staging folder with its
    /// in-progress marker.
    pub(super) fn create(parent: &Path, name: &str, out: &Path) -> Result<Staging> {
        clean_stale_siblings(parent, name, out);
        let tmp = sibling(parent, name, "tmp");
        // Left by a killed process that had this pid: removed only if it is an export's.
        remove_ours(&tmp, "tmp");
        let beside = |e: std::io::Error| {
            EngineError::input(
                out,
                format!("cannot create the export folder beside it ({}): {e}", printable_path(&tmp)),
            )
        };
        fs::create_dir(&tmp).map_err(beside)?;
        let staging = Staging { path: tmp.clone(), keep: false };
        fs::write(tmp.join(IN_PROGRESS), b"").map_err(beside)?;
        Ok(staging)
    }

    /// Write the manifest (last, so a folder with one holds every table), remove the in-progress
    /// marker and flush every folder to disk. The manifest's text.
    pub(super) fn finish(&self, manifest: &Manifest) -> Result<String> {
        let path = self.path.join(MANIFEST);
        let text = crate::engine::printable::to_json_pretty(manifest) + "\n";
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|e| EngineError::input(&path, format!("cannot write: {e}")))?;
        let marker = self.path.join(IN_PROGRESS);
        fs::remove_file(&marker).map_err(|e| EngineError::input(&marker, format!("cannot remove: {e}")))?;
        for entry in walkdir::WalkDir::new(&self.path).into_iter().flatten().filter(|e| e.file_type().is_dir()) {
            sync(entry.path());
        }
        Ok(text)
    }

    /// Put the staging folder in OUT's place (see [`publish`]); it is kept from then on. A notice
    /// when the previous export's folder kept something.
    pub(super) fn publish(&mut self, out: &Path, old: &Path) -> Result<Option<String>> {
        let kept = publish(self, out, old)?;
        self.keep = true;
        Ok(kept)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A path as DuckDB should see it: UTF-8, or an error naming it.
pub(super) fn path_text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| EngineError::input(path, "path is not valid UTF-8"))
}

/// Best effort: flush a file or folder to disk so the rename publishes complete data.
pub(super) fn sync(path: &Path) {
    if let Ok(f) = fs::File::open(path) {
        let _ = f.sync_all();
    }
}

/// Put `new` in place of `out`: one atomic exchange on Linux when `out` exists, else renames.
/// What was at `out` is deleted only if it is still [replaceable], its files' contents compared
/// again, once swapped out (a file added or written over since [`check_destination`], which may
/// be minutes ago, would otherwise be lost): if not, it is swapped back and the error names what
/// it holds. It is then deleted by [`remove_export`]: what it kept is the notice.
pub(super) fn publish(guard: &mut Staging, out: &Path, old: &Path) -> Result<Option<String>> {
    let new = guard.path.clone();
    let new = new.as_path();
    let failed = |e: std::io::Error| EngineError::input(out, format!("cannot replace: {e}"));
    // The previous OUT could not be put back: say where it is, and never delete it.
    let stranded = |at: &Path, e: std::io::Error| {
        EngineError::input(out, format!("cannot put it back ({e}); its contents are in {}", printable_path(at)))
    };
    if fs::symlink_metadata(out).is_err() {
        return fs::rename(new, out).map(|()| None).map_err(failed);
    }
    #[cfg(target_os = "linux")]
    {
        match exchange(new, out) {
            // `new` now holds the previous OUT.
            Ok(()) => {
                if let Err(e) = replaceable_as_written(new, out, true) {
                    if let Err(again) = exchange(new, out) {
                        guard.keep = true;
                        return Err(stranded(new, again));
                    }
                    return Err(e);
                }
                // Kept (not removed whole) if the removal leaves something behind.
                guard.keep = true;
                return Ok(remove_export(new).err());
            }
            // EINVAL/ENOSYS: this file system or kernel cannot exchange; use two renames.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    fs::rename(out, old).map_err(failed)?;
    if let Err(e) = replaceable_as_written(old, out, true) {
        return Err(fs::rename(old, out).map_or_else(|again| stranded(old, again), |()| e));
    }
    if let Err(e) = fs::rename(new, out) {
        let _ = fs::rename(old, out);
        return Err(failed(e));
    }
    Ok(remove_export(old).err())
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: swap two paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call; the syscall only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
