//! Finding the workspace (a folder whose `package.json` has a `webstir` object) and reading and
//! replacing its `package.json` safely. `init` creates new workspaces.

pub mod init;

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::fsutil::{self, FileLock};

pub const PACKAGE_JSON: &str = "package.json";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(
        "no webstir workspace found in `{}` or any parent folder (looked for a package.json with a `webstir` object); create one with `webstir init api <dir>`, or point at one with --workspace or WEBSTIR_WORKSPACE",
        start.display()
    )]
    NotFound { start: PathBuf },
    #[error(
        "`{}` is not a webstir workspace: {reason}; create one with `webstir init api <dir>`",
        path.display()
    )]
    NotAWorkspace { path: PathBuf, reason: String },
    #[error("refusing to use `{}`: it is a symbolic link", path.display())]
    Symlink { path: PathBuf },
    #[error(
        "refusing to create a workspace in `{}`: {reason}; use a new or empty folder",
        path.display()
    )]
    NotEmpty { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl WorkspaceError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> WorkspaceError {
        WorkspaceError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A located workspace. Paths are absolute.
#[derive(Clone)]
pub struct Workspace {
    root: PathBuf,
    /// `package.json` as read to decide that this is a workspace, kept so that a one-shot
    /// command does not read (up to megabytes of) it a second time.
    located_text: Option<Arc<String>>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// Finds the workspace: `explicit` (from `--workspace` or `WEBSTIR_WORKSPACE`) must be one;
    /// otherwise the nearest ancestor of the current folder that is one.
    pub fn locate(explicit: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        match explicit {
            Some(dir) => {
                let dir = absolute(dir)?;
                if !dir.is_dir() {
                    let reason = if dir.exists() {
                        "it is not a folder"
                    } else {
                        "there is no such folder"
                    };
                    return Err(WorkspaceError::NotAWorkspace {
                        path: dir,
                        reason: reason.into(),
                    });
                }
                match probe(&dir)? {
                    Probe::Workspace(text) => Ok(Workspace {
                        root: dir,
                        located_text: Some(text),
                    }),
                    Probe::NoPackageJson => Err(WorkspaceError::NotAWorkspace {
                        path: dir,
                        reason: "it has no package.json".into(),
                    }),
                    Probe::NoWebstirObject => Err(WorkspaceError::NotAWorkspace {
                        path: dir,
                        reason: "its package.json has no `webstir` object".into(),
                    }),
                }
            }
            None => {
                let cwd = std::env::current_dir().map_err(|e| WorkspaceError::io(".", e))?;
                for dir in cwd.ancestors() {
                    if let Probe::Workspace(text) = probe(dir)? {
                        return Ok(Workspace {
                            root: dir.to_path_buf(),
                            located_text: Some(text),
                        });
                    }
                }
                Err(WorkspaceError::NotFound { start: cwd })
            }
        }
    }

    /// A workspace at a known root, without checking it (for `init`, and for tests).
    pub fn at(root: impl Into<PathBuf>) -> Workspace {
        Workspace {
            root: root.into(),
            located_text: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn package_json_path(&self) -> PathBuf {
        self.root.join(PACKAGE_JSON)
    }

    /// `src/backend`
    pub fn backend_src_dir(&self) -> PathBuf {
        self.root.join("src").join("backend")
    }

    /// `src/backend/jobs`
    pub fn jobs_src_dir(&self) -> PathBuf {
        self.backend_src_dir().join("jobs")
    }

    /// `build/backend`
    pub fn backend_build_dir(&self) -> PathBuf {
        self.root.join("build").join("backend")
    }

    /// `build/backend/jobs`
    pub fn jobs_build_dir(&self) -> PathBuf {
        self.backend_build_dir().join("jobs")
    }

    /// Reads `package.json`, refusing a symlink so that no edit can land outside the workspace.
    pub fn read_package_json(&self) -> Result<String, WorkspaceError> {
        let path = self.package_json_path();
        if fsutil::is_symlink(&path) {
            return Err(WorkspaceError::Symlink { path });
        }
        fs::read_to_string(&path).map_err(|e| WorkspaceError::io(path, e))
    }

    /// `package.json` for a command that reads it once and does not edit it: the text read when
    /// the workspace was located, else read now. Symlinks are refused as by
    /// [`Workspace::read_package_json`]. Editors (under [`Workspace::lock`]) and long-running
    /// readers that must see later changes use `read_package_json`.
    pub fn located_package_json(&self) -> Result<Arc<String>, WorkspaceError> {
        match &self.located_text {
            Some(text) => {
                let path = self.package_json_path();
                if fsutil::is_symlink(&path) {
                    return Err(WorkspaceError::Symlink { path });
                }
                Ok(Arc::clone(text))
            }
            None => self.read_package_json().map(Arc::new),
        }
    }

    /// Atomically replaces `package.json`. Callers hold [`Workspace::lock`] across the read and
    /// this write.
    pub fn write_package_json(&self, text: &str) -> Result<(), WorkspaceError> {
        let path = self.package_json_path();
        if fsutil::is_symlink(&path) {
            return Err(WorkspaceError::Symlink { path });
        }
        fsutil::replace_user_file(&path, text.as_bytes()).map_err(|e| WorkspaceError::io(path, e))
    }

    /// Fails when `package.json` is read-only (see [`fsutil::replace_user_file`]), so that a
    /// command can refuse before it creates anything else.
    pub fn ensure_package_json_writable(&self) -> Result<(), WorkspaceError> {
        let path = self.package_json_path();
        fsutil::ensure_writable(&path).map_err(|e| WorkspaceError::io(path, e))
    }

    /// Takes the workspace's exclusive lock, blocking until other webstir processes release it.
    pub fn lock(&self) -> Result<FileLock, WorkspaceError> {
        FileLock::acquire(&self.root).map_err(|e| WorkspaceError::io(&self.root, e))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// With the text of its package.json.
    Workspace(Arc<String>),
    NoPackageJson,
    NoWebstirObject,
}

fn probe(dir: &Path) -> Result<Probe, WorkspaceError> {
    let path = dir.join(PACKAGE_JSON);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Probe::NoPackageJson),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => return Ok(Probe::NoPackageJson),
        Err(e) => return Err(WorkspaceError::io(path, e)),
    };
    // A package.json that does not parse is not a workspace marker we can trust; the commands
    // that need the manifest report its parse error with line and column themselves.
    let json = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let has_webstir = match serde_json::from_str::<marker::PackageMarker>(json) {
        Ok(marker) => marker.has_webstir_object(),
        Err(_) => text.contains("\"webstir\""),
    };
    Ok(if has_webstir {
        Probe::Workspace(Arc::new(text))
    } else {
        Probe::NoWebstirObject
    })
}

/// `dir` made absolute, with `.` and `..` resolved the way a shell's `cd` does (by name, not by
/// following links), so that `--workspace ..` and `init api ./x/..` name the folder itself.
pub(crate) fn absolute(dir: &Path) -> Result<PathBuf, WorkspaceError> {
    let path = std::path::absolute(dir).map_err(|e| WorkspaceError::io(dir, e))?;
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(clean)
}

/// Reads only whether `package.json` has a `webstir` object. Every command locates the
/// workspace first, so this skips the rest of the file without building a value of it.
mod marker {
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

    #[derive(serde::Deserialize)]
    pub(super) struct PackageMarker {
        #[serde(default)]
        webstir: Option<Kind>,
    }

    impl PackageMarker {
        pub(super) fn has_webstir_object(&self) -> bool {
            matches!(self.webstir, Some(Kind::Object))
        }
    }

    enum Kind {
        Object,
        Other,
    }

    impl<'de> Deserialize<'de> for Kind {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
            deserializer.deserialize_any(KindVisitor)
        }
    }

    struct KindVisitor;

    impl<'de> Visitor<'de> for KindVisitor {
        type Value = Kind;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Kind::Object)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Kind::Other)
        }

        fn visit_bool<E>(self, _: bool) -> Result<Kind, E> {
            Ok(Kind::Other)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Kind, E> {
            Ok(Kind::Other)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Kind, E> {
            Ok(Kind::Other)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Kind, E> {
            Ok(Kind::Other)
        }

        fn visit_str<E>(self, _: &str) -> Result<Kind, E> {
            Ok(Kind::Other)
        }

        fn visit_unit<E>(self) -> Result<Kind, E> {
            Ok(Kind::Other)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_resolves_dots_by_name() {
        let abs = |p: &str| absolute(Path::new(p)).expect("absolute");
        assert_eq!(abs("/srv/app/./x/.."), PathBuf::from("/srv/app"));
        assert_eq!(abs("/srv/app/x/../../y"), PathBuf::from("/srv/y"));
        assert_eq!(abs("/.."), PathBuf::from("/"));
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(abs("."), cwd);
        assert_eq!(abs("sub/.."), cwd);
    }

    fn probe_text(text: &str) -> Probe {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(PACKAGE_JSON), text).expect("write");
        probe(dir.path()).expect("probe")
    }

    #[test]
    fn only_a_webstir_object_marks_a_workspace() {
        let big_jobs = format!(
            r#"{{"name":"x","webstir":{{"mode":"api","moduleManifest":{{"jobs":[{}]}}}},"z":[1,2.5,true,null,"s"]}}"#,
            vec![r#"{"name":"a","schedule":["@daily"]}"#; 50].join(",")
        );
        assert!(matches!(probe_text(&big_jobs), Probe::Workspace(_)));
        assert!(matches!(
            probe_text("\u{feff}{\"webstir\": {}}"),
            Probe::Workspace(_)
        ));
        for not_an_object in [r#"[]"#, r#"null"#, r#""api""#, r#"3"#, r#"true"#] {
            let text = format!(r#"{{"name": "x", "webstir": {not_an_object}}}"#);
            assert_eq!(probe_text(&text), Probe::NoWebstirObject, "{text}");
        }
        assert_eq!(probe_text(r#"{"name": "x"}"#), Probe::NoWebstirObject);
        // Broken JSON that mentions webstir is taken as a workspace, so that the command
        // reports the parse error with its position instead of "not a workspace".
        assert!(matches!(
            probe_text(r#"{"webstir": {,}"#),
            Probe::Workspace(_)
        ));
    }
}
