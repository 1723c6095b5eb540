//! Which file a module was imported from: a worker imports a module once, so a rebuilt module
//! (a new file, or the same file rewritten) must go to a worker that has not imported it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file as it is now: which inode, how long, last written when. `webstir build` replaces a
/// file (a new inode) or rewrites it (a new time and usually a new length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    modified_ns: i128,
}

impl FileId {
    pub fn of(path: &Path) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        })
    }
}

/// The build state file that `webstir build` rewrites whenever it changes any output
/// (`build/backend/.webstir-build.json` for `build/backend/jobs/<name>/index.js`): a module's
/// own file may stay the same while a module it imports was rebuilt.
pub fn build_stamp(module: &Path) -> Option<PathBuf> {
    let backend = module.parent()?.parent()?.parent()?;
    Some(backend.join(crate::build::incremental::STATE_FILE))
}
