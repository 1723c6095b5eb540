//! Writing an export into `--out`: every file or none, and nothing touched but the files the
//! export itself names.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ExportError;
use crate::fsutil::Created;

/// One generated file, named relative to `--out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub name: String,
    pub contents: String,
    /// Shell scripts are written 0755, everything else 0644.
    pub executable: bool,
}

/// The files an export wrote, in the order it wrote them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WrittenFiles(pub Vec<PathBuf>);

/// Writes `files` into `dir` (created when missing). Every file is first written and synced
/// as a temp file beside its destination; only when all of them exist are they renamed into
/// place, so a failure part-way (a full disk, a read-only folder) leaves the folder as it was.
/// Files already in `dir` that the export does not name are never touched.
pub fn write_files(dir: &Path, files: &[OutputFile]) -> Result<WrittenFiles, ExportError> {
    let bad = |reason: &str| ExportError::BadOut {
        path: dir.to_path_buf(),
        reason: reason.to_owned(),
    };
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => return Err(bad("exists and is not a folder")),
        _ => {}
    }
    for file in files {
        let path = dir.join(&file.name);
        if path.is_dir() {
            return Err(ExportError::BadOut {
                path: path.clone(),
                reason: "is a folder where the export writes a file".to_owned(),
            });
        }
    }
    let mut created = Created::default();
    let staged = match stage(dir, files, &mut created) {
        Ok(staged) => staged,
        Err(e) => {
            created.undo();
            return Err(e);
        }
    };
    let mut written = Vec::with_capacity(staged.len());
    for (temp, path) in staged {
        temp.persist(&path).map_err(|e| ExportError::Write {
            path: path.clone(),
            source: e.error,
        })?;
        written.push(path);
    }
    if let Ok(d) = fs::File::open(dir) {
        // Best effort, as in fsutil: the renames already happened.
        let _ = d.sync_all();
    }
    // The folder (and any parents) created above stay: they now hold the export.
    drop(created);
    Ok(WrittenFiles(written))
}

fn stage(
    dir: &Path,
    files: &[OutputFile],
    created: &mut Created,
) -> Result<Vec<(tempfile::NamedTempFile, PathBuf)>, ExportError> {
    let write_error = |path: &Path, source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    created
        .create_dir_all(dir)
        .map_err(|e| write_error(dir, e))?;
    files
        .iter()
        .map(|file| {
            let path = dir.join(&file.name);
            let mut temp = tempfile::Builder::new()
                .prefix(".webstir-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| write_error(&path, e))?;
            let mode = if file.executable { 0o755 } else { 0o644 };
            temp.write_all(file.contents.as_bytes())
                .and_then(|()| fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode)))
                .and_then(|()| temp.as_file().sync_all())
                .map_err(|e| write_error(&path, e))?;
            Ok((temp, path))
        })
        .collect()
}
