//! What the previous build wrote, so that the next one rewrites only what changed and removes
//! only files it wrote itself. Kept in `build/backend/.webstir-build.json`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// File name of the state file inside `build/backend`.
pub const STATE_FILE: &str = ".webstir-build.json";

/// Bumped when the meaning of the state changes; an older state is ignored (a full rebuild).
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildState {
    format: u32,
    /// The webstir version that wrote the outputs; a new transpiler means new outputs.
    tool: String,
    /// Hash of the list of source paths: extensionless imports resolve against it, so when a
    /// file appears or disappears every module is transpiled again (and rewritten only if
    /// its output changed).
    pub tree: String,
    /// Source path (relative to `src/backend`) → what was built from it.
    pub files: BTreeMap<String, FileEntry>,
    /// Source modification times from this instant on were too recent to vouch for a file
    /// when this state was written (see [`FileEntry::len`]). Kept unchanged while nothing
    /// else changes, so that a build with nothing to do rewrites no file, not even this one.
    #[serde(default)]
    pub trust_before_ns: i128,
    /// The native scheduler copied beside the jobs, to skip copying it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<BinaryStamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// blake3 of the source content.
    pub hash: String,
    /// Size and modification time of the source when it was hashed: while both are the same,
    /// the source is taken as unchanged without reading it, unless the time is too recent to
    /// vouch for it (like git's "racy" check: a file modified just before it was hashed could
    /// change again within the file system's time granularity without its time changing).
    /// A time of 0 never vouches.
    #[serde(default)]
    pub len: u64,
    #[serde(default)]
    pub mtime_ns: i128,
    /// Files written for it, relative to `build/backend`.
    pub outputs: Vec<String>,
}

/// Size and modification time of the webstir binary and of its copy, as seen when copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryStamp {
    pub exe_len: u64,
    pub exe_mtime_ns: i128,
    pub copy_len: u64,
    pub copy_mtime_ns: i128,
}

impl BuildState {
    pub fn empty() -> BuildState {
        BuildState {
            format: FORMAT,
            tool: env!("CARGO_PKG_VERSION").to_owned(),
            ..BuildState::default()
        }
    }

    /// Reads the state; a missing, unreadable or foreign one yields an empty state, which
    /// costs a full (but still write-avoiding) build and nothing else. The state of another
    /// version still lists the files it wrote, so they can be removed when their source goes.
    pub fn load(path: &Path) -> BuildState {
        let Ok(text) = fs::read(path) else {
            return BuildState::empty();
        };
        match serde_json::from_slice::<BuildState>(&text) {
            Ok(state) if state.format == FORMAT && state.tool == env!("CARGO_PKG_VERSION") => state,
            Ok(state) => BuildState {
                files: state
                    .files
                    .into_iter()
                    .map(|(k, v)| {
                        let stale = FileEntry {
                            hash: String::new(),
                            len: 0,
                            mtime_ns: 0,
                            outputs: v.outputs,
                        };
                        (k, stale)
                    })
                    .collect(),
                ..BuildState::empty()
            },
            Err(_) => BuildState::empty(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }
}

/// Modification time in nanoseconds since the epoch (0 when the file system has none).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128)
}

/// The current time in nanoseconds since the epoch.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Content hash used to detect a changed source.
pub fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().as_str()[..32].to_owned()
}

/// Hash of the sorted list of source paths.
pub fn tree_hash<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for p in paths {
        hasher.update(p.as_bytes());
        hasher.update(b"\0");
    }
    hasher.finalize().to_hex().as_str()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_garbage() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(STATE_FILE);
        let mut state = BuildState::empty();
        state.files.insert(
            "a.ts".into(),
            FileEntry {
                hash: hash(b"x"),
                len: 1,
                mtime_ns: 5,
                outputs: vec!["a.js".into(), "a.js.map".into()],
            },
        );
        fs::write(&path, state.to_json()).expect("write");
        assert_eq!(BuildState::load(&path), state);
        fs::write(&path, b"{not json").expect("write");
        assert_eq!(BuildState::load(&path), BuildState::empty());
    }

    #[test]
    fn a_state_from_another_version_keeps_outputs_but_forgets_hashes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(STATE_FILE);
        let text = r#"{"format":1,"tool":"0.0.0-old","tree":"t","files":{"a.ts":{"hash":"h","outputs":["a.js"]}}}"#;
        fs::write(&path, text).expect("write");
        let state = BuildState::load(&path);
        assert_eq!(state.tree, "");
        assert_eq!(state.files["a.ts"].hash, "");
        assert_eq!(state.files["a.ts"].outputs, ["a.js"]);
    }
}
