//! Writing and removing files under `build/backend` without ever going through a symbolic link
//! that leads out of the workspace, and without rewriting a file whose content is unchanged.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use super::BuildError;

/// The build's output tree: `build/backend` inside a workspace.
#[derive(Debug)]
pub struct OutputTree {
    /// The workspace root, canonical; every written path must stay below it.
    root: PathBuf,
    /// `build/backend` below the canonical root.
    dir: PathBuf,
    /// Folders already checked (or created) during this build.
    checked: HashSet<PathBuf>,
}

/// Whether [`OutputTree::write_if_changed`] touched the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Unchanged,
    Replaced,
}

impl OutputTree {
    pub fn new(workspace_root: &Path) -> Result<OutputTree, BuildError> {
        let root =
            fs::canonicalize(workspace_root).map_err(|e| BuildError::io(workspace_root, e))?;
        Ok(OutputTree {
            dir: root.join("build").join("backend"),
            root,
            checked: HashSet::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `build/backend/<rel>` for a `/`-separated `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .fold(self.dir.clone(), |p, part| p.join(part))
    }

    /// Makes sure `dir` (inside the workspace) exists, creating what is missing, and refuses
    /// when an existing component is a symbolic link that leaves the workspace.
    pub fn ensure_dir(&mut self, dir: &Path) -> Result<(), BuildError> {
        if self.checked.contains(dir) {
            return Ok(());
        }
        let Ok(rest) = dir.strip_prefix(&self.root) else {
            return Err(BuildError::io(
                dir,
                io::Error::other("is outside the workspace"),
            ));
        };
        let mut current = self.root.clone();
        for component in rest.components() {
            if !matches!(component, Component::Normal(_)) {
                return Err(BuildError::io(dir, io::Error::other("is not a plain path")));
            }
            current.push(component);
            if self.checked.contains(&current) {
                continue;
            }
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target =
                        fs::canonicalize(&current).map_err(|e| BuildError::io(&current, e))?;
                    if !target.starts_with(&self.root) {
                        return Err(BuildError::SymlinkOutside {
                            path: current,
                            target,
                        });
                    }
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(BuildError::io(
                        &current,
                        io::Error::other("exists and is not a folder"),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&current) {
                    Ok(()) => {}
                    // Another build thread made it meanwhile.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_real_dir(&current) => {
                    }
                    Err(e) => return Err(BuildError::io(&current, e)),
                },
                Err(e) => return Err(BuildError::io(&current, e)),
            }
            self.checked.insert(current.clone());
        }
        self.checked.insert(dir.to_path_buf());
        Ok(())
    }

    /// Replaces `path` with `contents` unless it already holds exactly that.
    pub fn write_if_changed(
        &mut self,
        path: &Path,
        contents: &[u8],
    ) -> Result<Written, BuildError> {
        if let Some(parent) = path.parent() {
            self.ensure_dir(parent)?;
        }
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(BuildError::OutputSymlink {
                    path: path.to_path_buf(),
                });
            }
            Ok(meta)
                if meta.len() == contents.len() as u64
                    && fs::read(path).is_ok_and(|old| old == contents) =>
            {
                return Ok(Written::Unchanged);
            }
            _ => {}
        }
        replace(path, contents).map_err(|e| BuildError::io(path, e))?;
        Ok(Written::Replaced)
    }

    /// Removes a file the build wrote earlier, then the folders it leaves empty (up to
    /// `build/backend`). Symbolic links and missing files are left alone.
    pub fn remove(&mut self, rel: &str) -> Result<bool, BuildError> {
        let path = self.path(rel);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {
                fs::remove_file(&path).map_err(|e| BuildError::io(&path, e))?;
            }
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(BuildError::io(&path, e)),
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.dir || !d.starts_with(&self.dir) || fs::remove_dir(d).is_err() {
                break;
            }
            self.checked.remove(d);
            dir = d.parent();
        }
        Ok(true)
    }
}

fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Writes a temporary file beside `path` and renames it over, so that readers (and a Node
/// process started meanwhile) never see half a file. No fsync: build output can be rebuilt,
/// and syncing thousands of files would make a cold build many times slower.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let temp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let result = file
            .write_all(contents)
            .and_then(|()| fs::rename(&temp, path));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        return result;
    }
    Err(io::Error::other("could not create a temporary file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_when_the_content_differs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tree = OutputTree::new(dir.path()).expect("tree");
        let file = tree.path("a/b.js");
        assert_eq!(
            tree.write_if_changed(&file, b"x").expect("write"),
            Written::Replaced
        );
        assert_eq!(
            tree.write_if_changed(&file, b"x").expect("write"),
            Written::Unchanged
        );
        assert_eq!(
            tree.write_if_changed(&file, b"y").expect("write"),
            Written::Replaced
        );
        assert_eq!(fs::read(&file).expect("read"), b"y");
    }

    #[test]
    fn removing_the_last_file_removes_its_empty_folders_but_not_the_tree() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tree = OutputTree::new(dir.path()).expect("tree");
        let out = tree.dir().to_path_buf();
        tree.write_if_changed(&tree.path("a/b/c.js"), b"x")
            .expect("write");
        assert!(tree.remove("a/b/c.js").expect("remove"));
        assert!(!out.join("a").exists());
        assert!(out.exists());
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symlinked_folder_leading_out_of_the_workspace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outside = tempfile::tempdir().expect("outside");
        let ws = dir.path().join("ws");
        fs::create_dir_all(&ws).expect("ws");
        std::os::unix::fs::symlink(outside.path(), ws.join("build")).expect("link");
        let mut tree = OutputTree::new(&ws).expect("tree");
        let err = tree
            .write_if_changed(&tree.path("a.js"), b"x")
            .expect_err("must refuse");
        assert!(matches!(err, BuildError::SymlinkOutside { .. }), "{err}");
        assert_eq!(fs::read_dir(outside.path()).expect("list").count(), 0);
    }
}
