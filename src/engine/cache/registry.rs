//! Where a data folder's personal data has been copied to: every cache folder and every export
//! folder it was used with, so `forget` can find them all even when they are not named again
//! (a `--cache DIR` from last month, an export made from the TUI).
//!
//! One JSON file in the user's cache folder, `$XDG_CACHE_HOME/stedi-tui/registry.json` (or
//! `~/.cache/...`), owner-only (0600, its folder created 0700). It holds folder paths only, never
//! a row. Every change is made under an exclusive lock (`registry.lock`) and written atomically
//! (a temp file beside it, synced, renamed over it), so parallel runs neither lose an entry nor
//! leave half a file. A registry that cannot be parsed is never overwritten: the runs that would
//! have added to it say so, and `forget` says which copies it therefore cannot know of.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::location::{make_private_dir, user_cache_base};

/// The registry's file inside `<user cache>/stedi-tui/`.
pub const REGISTRY_FILE: &str = "registry.json";
const LOCK_FILE: &str = "registry.lock";
/// Written into the file so a reader knows it is this tool's, and which layout.
const FORMAT: &str = "stedi-tui registry 1";

/// The cache and export folders one data folder has used (absolute paths).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Uses {
    #[serde(default)]
    pub caches: BTreeSet<PathBuf>,
    #[serde(default)]
    pub exports: BTreeSet<PathBuf>,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    format: String,
    /// Keyed by the data folder's absolute path.
    data_folders: BTreeMap<PathBuf, Uses>,
}

/// The registry file, or none when neither `XDG_CACHE_HOME` nor `HOME` is set.
pub fn registry_path() -> Option<PathBuf> {
    user_cache_base().map(|base| base.join("stedi-tui").join(REGISTRY_FILE))
}

/// A path as the registry keys it: absolute, symlinks resolved when it exists.
pub fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Record that `data_dir`'s rows went to the cache folder `dir`. `Err` says why it could not be
/// recorded (the caller shows it: `forget` would not find this cache).
pub fn record_cache(data_dir: &Path, dir: &Path) -> Result<(), String> {
    update(|f| f.data_folders.entry(absolute(data_dir)).or_default().caches.insert(absolute(dir)))
}

/// Record that `data_dir` was exported to `out`.
pub fn record_export(data_dir: &Path, out: &Path) -> Result<(), String> {
    update(|f| f.data_folders.entry(absolute(data_dir)).or_default().exports.insert(absolute(out)))
}

/// Drop folders that are gone or no longer hold `data_dir`'s rows from its entry.
pub fn drop_uses(data_dir: &Path, caches: &[PathBuf], exports: &[PathBuf]) -> Result<(), String> {
    update(|f| {
        let Some(uses) = f.data_folders.get_mut(&absolute(data_dir)) else { return false };
        let before = uses.clone();
        caches.iter().for_each(|c| _ = uses.caches.remove(c));
        exports.iter().for_each(|e| _ = uses.exports.remove(e));
        *uses != before
    })
}

/// What the registry knows of `data_dir` (nothing when there is no registry yet). `Err` when it
/// cannot be read: then what it would list is unknown, and the caller must say so.
pub fn uses(data_dir: &Path) -> Result<Uses, String> {
    let path = registry_path().ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(read(&path)?.data_folders.remove(&absolute(data_dir)).unwrap_or_default())
}

fn read(path: &Path) -> Result<File, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(File { format: FORMAT.to_string(), ..File::default() })
        }
        Err(e) => return Err(format!("{}: cannot read the registry: {e}", path.display())),
    };
    let file: File = serde_json::from_str(&text)
        .map_err(|e| format!("{}: the registry is corrupt ({e}); left as it is", path.display()))?;
    if file.format != FORMAT {
        return Err(format!("{}: not a registry this stedi-tui reads (format {:?})", path.display(), file.format));
    }
    Ok(file)
}

/// Read, change and (when `change` says it changed anything) write the registry, under its lock.
/// Entries of data folders that are gone, whose cache and export folders are all gone too, are
/// pruned on the way (temporary folders would otherwise pile up).
fn update(change: impl FnOnce(&mut File) -> bool) -> Result<(), String> {
    let path = registry_path().ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    let dir = path.parent().expect("the registry is inside a folder");
    make_private_dir(dir).map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
    let lock = private_file(&dir.join(LOCK_FILE), false)
        .map_err(|e| format!("{}: cannot open the registry's lock: {e}", dir.display()))?;
    lock.lock().map_err(|e| format!("{}: cannot lock the registry: {e}", dir.display()))?;
    let mut file = read(&path)?;
    let mut changed = change(&mut file);
    let before = file.data_folders.len();
    file.data_folders.retain(|data, uses| data.exists() || uses.caches.iter().chain(&uses.exports).any(|p| p.exists()));
    changed |= file.data_folders.len() != before;
    if !changed {
        return Ok(());
    }
    let text = crate::engine::printable::to_json_pretty(&file) + "\n";
    let tmp = dir.join(format!(".{REGISTRY_FILE}.tmp-{}", std::process::id()));
    let written = private_file(&tmp, true).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    });
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{}: cannot write the registry: {e}", path.display())
    })
}

/// Open (creating it owner-only) a file; `truncate` empties it (a leftover temp file of a dead
/// run with this pid is replaced: the lock is held, so no live process writes it).
fn private_file(path: &Path, truncate: bool) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}
