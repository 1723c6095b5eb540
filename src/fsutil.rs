//! File-system primitives every writer in webstir goes through: atomic replacement, creation
//! that can be undone, symlink refusal and the workspace lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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
    // The temp file is created 0600; a replaced file keeps its mode, a new one gets the usual
    // 0644 rather than surprising the user with a private file.
    let permissions = match fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => fs::Permissions::from_mode(0o644),
    };
    fs::set_permissions(temp.path(), permissions)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Replaces a file the user owns (`package.json`, `webstir.toml`) atomically, refusing one the
/// user has made read-only. The rename in [`write_atomic`] needs only the folder's write
/// permission, so without this check a `chmod 0440 package.json` would be silently overridden.
///
/// A file is read-only when its owner has no write bit (which also holds for root, who may
/// write anything: a cleared bit is still the user's statement), or when `access(2)` says this
/// process may not write it.
pub fn replace_user_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    ensure_writable(path)?;
    write_atomic(path, contents)
}

/// `PermissionDenied` with a message saying what to do when `path` exists and is read-only
/// (see [`replace_user_file`]); a missing file is writable.
pub fn ensure_writable(path: &Path) -> io::Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let owner_may_write = meta.permissions().mode() & 0o200 != 0;
    if owner_may_write && access_writable(path) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the file is read-only; webstir does not replace a file you cannot write \
         (make it writable, for example `chmod u+w`, and run the command again)",
    ))
}

fn access_writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

/// Paths a command created, so that a failure part-way removes exactly those again and
/// nothing the user already had.
#[derive(Debug, Default)]
#[must_use = "created paths are either kept or undone"]
pub struct Created {
    files: Vec<PathBuf>,
    /// Folders, outermost first.
    dirs: Vec<PathBuf>,
}

impl Created {
    /// Creates `dir`, which must not exist yet (`AlreadyExists` otherwise).
    pub fn create_dir(&mut self, dir: &Path) -> io::Result<()> {
        fs::create_dir(dir)?;
        self.dirs.push(dir.to_path_buf());
        Ok(())
    }

    /// Creates `dir` and whichever of its parents are missing.
    pub fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        for d in missing.into_iter().rev() {
            self.create_dir(d)?;
        }
        Ok(())
    }

    /// Writes a file that must not exist yet. It is recorded as soon as it exists, so that a
    /// write that fails half-way is undone too.
    pub fn write_new(&mut self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        self.files.push(path.to_path_buf());
        file.write_all(contents)?;
        file.sync_all()
    }

    /// Removes the files, then the folders innermost first. Best effort: it runs on a path
    /// that is already failing, and a folder someone else has filled meanwhile is kept.
    pub fn undo(self) {
        for file in &self.files {
            let _ = fs::remove_file(file);
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn a_file_without_its_owner_write_bit_is_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("package.json");
        fs::write(&file, b"{}").expect("seed");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o440)).expect("chmod");
        let err = replace_user_file(&file, b"[]").expect_err("read-only");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read(&file).expect("read"), b"{}");
        replace_user_file(&dir.path().join("new.json"), b"[]").expect("a new file is writable");
    }

    #[test]
    fn undo_removes_what_was_created_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().expect("temp dir");
        let theirs = dir.path().join("theirs");
        fs::create_dir(&theirs).expect("mkdir");
        let mut created = Created::default();
        created
            .create_dir_all(&theirs.join("a/b"))
            .expect("create folders");
        created
            .write_new(&theirs.join("a/b/new.txt"), b"x")
            .expect("write");
        // Someone else's file in a folder created here keeps that folder.
        fs::write(theirs.join("a/other.txt"), b"y").expect("write");
        assert!(
            created
                .write_new(&theirs.join("a/other.txt"), b"z")
                .is_err()
        );
        created.undo();
        assert!(!theirs.join("a/b").exists());
        assert_eq!(fs::read(theirs.join("a/other.txt")).expect("kept"), b"y");
    }

    #[test]
    fn atomic_write_gives_a_new_file_the_usual_mode_and_keeps_an_existing_files_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh = dir.path().join("fresh.txt");
        write_atomic(&fresh, b"one").expect("write new");
        assert_eq!(mode(&fresh), 0o644);

        let private = dir.path().join("private.txt");
        fs::write(&private, b"old").expect("seed");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomic(&private, b"new").expect("replace");
        assert_eq!(mode(&private), 0o600);
        assert_eq!(fs::read(&private).expect("read"), b"new");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temp files left behind: {leftovers:?}"
        );
    }
}
