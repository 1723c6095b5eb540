//! File-system primitives every writer in webstir goes through: atomic replacement, symlink
//! refusal and the workspace lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `contents` so that readers see either the old or the new file, never a
/// torn one: write a temp file in the same folder, fsync it, rename it over, fsync the folder.
/// An existing file's permissions are carried over to the new one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".webstir-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(contents)?;
    if let Ok(meta) = fs::metadata(path) {
        fs::set_permissions(temp.path(), meta.permissions())?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Writes a file that must not exist yet (scaffolding never overwrites user code).
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// True when `path` itself is a symbolic link (a missing path is not).
pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// An exclusive advisory lock (flock) held until dropped. Serializes read-modify-write cycles of
/// `package.json` across processes.
///
/// The lock is taken on the workspace folder itself rather than on a lock file: a lock file
/// would be a new file in the user's tree (even for a rejected command), and locking
/// `package.json` does not work because the atomic rename swaps its inode.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    pub fn acquire(dir: &Path) -> io::Result<FileLock> {
        let file = File::open(dir)?;
        file.lock()?;
        Ok(FileLock { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock as well; unlocking first just makes it prompt.
        let _ = self.file.unlock();
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: some file systems refuse fsync on a directory, and the rename already happened.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
