//! `webstir build`: TypeScript under `src/backend` to ES modules under `build/backend`, one
//! output file per input, plus the generated scheduler that runs the jobs with Node alone.

pub mod diagnostics;
pub mod incremental;
pub mod output;
mod report;
pub mod scheduler_files;
pub mod sources;
pub mod specifiers;
pub mod transpile;
pub mod watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use diagnostics::Diagnostic;
pub use report::BuildReport;

use crate::workspace::Workspace;
use incremental::{BuildState, FileEntry, STATE_FILE};
use output::{OutputTree, Written};
use sources::{Kind, Source};
use specifiers::SourceSet;

/// A build that could not run at all (as opposed to files with errors, which are reported in
/// [`BuildReport::diagnostics`] while the other files are still built).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "no backend sources: `{}` does not exist; create it with `webstir init api <dir>` or add TypeScript files there",
        path.display()
    )]
    NoSources { path: PathBuf },
    #[error(
        "refusing to follow `{}`: it is a symbolic link to `{}`, outside the workspace",
        path.display(),
        target.display()
    )]
    SymlinkOutside { path: PathBuf, target: PathBuf },
    #[error("refusing to replace `{}`: it is a symbolic link, not a file the build wrote", path.display())]
    OutputSymlink { path: PathBuf },
    #[error("`{}`: file names must be valid UTF-8", path.display())]
    NonUtf8Name { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot watch `{}`: {message}", path.display())]
    Watch { path: PathBuf, message: String },
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
}

impl BuildError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> BuildError {
        BuildError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Builds the workspace's backend once: transpiles or copies what changed since the last build,
/// removes the output of deleted sources, and refreshes the generated scheduler files.
pub fn build(workspace: &Workspace) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let src_dir = workspace.backend_src_dir();
    if !src_dir.is_dir() {
        return Err(BuildError::NoSources { path: src_dir });
    }
    // Two builds at once (a watcher and a manual one) would race on the state file.
    let _lock = workspace.lock()?;
    let sources = sources::discover(&src_dir, workspace.root())?;
    let mut tree = OutputTree::new(workspace.root())?;
    let state_path = tree.dir().join(STATE_FILE);
    let previous = BuildState::load(&state_path);

    let mut next = BuildState::empty();
    next.tree = incremental::tree_hash(sources.iter().map(|s| s.rel.as_str()));
    let set = SourceSet::new(sources.iter().map(|s| s.rel.clone()));
    let mut report = BuildReport::default();
    let mut claimed: HashMap<String, &str> = HashMap::new();

    for source in &sources {
        let display = Path::new("src/backend").join(&source.rel);
        if let Some(other) = source
            .outputs()
            .iter()
            .find_map(|out| claimed.get(out.as_str()).copied())
        {
            report.fail(vec![Diagnostic::whole_file(
                display,
                format!(
                    "`src/backend/{other}` and this file both emit `build/backend/{}`; rename or remove one",
                    source.output_rel()
                ),
            )]);
            continue;
        }
        for out in source.outputs() {
            claimed.insert(out, &source.rel);
        }
        let old = previous.files.get(&source.rel);
        match build_one(
            source, &src_dir, &display, old, &previous, &next.tree, &set, &mut tree,
        ) {
            Ok((entry, changed)) => {
                report.count(changed);
                next.files.insert(source.rel.clone(), entry);
            }
            Err(diagnostics) => {
                report.fail(diagnostics);
                // The previous good output stays, and so does its record.
                if let Some(old) = old {
                    next.files.insert(source.rel.clone(), old.clone());
                }
            }
        }
    }

    report.removed = remove_stale(&previous.files, &next.files, &mut tree)?;
    let (support_written, stamp) = scheduler_files::install(&mut tree, previous.scheduler)?;
    report.support_written = support_written;
    next.scheduler = stamp;
    tree.write_if_changed(&state_path, &next.to_json())?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Builds one source unless its recorded hash shows it unchanged. Returns its new record and
/// whether any output file was rewritten.
#[allow(clippy::too_many_arguments)]
fn build_one(
    source: &Source,
    src_dir: &Path,
    display: &Path,
    old: Option<&FileEntry>,
    previous: &BuildState,
    tree_hash: &str,
    set: &SourceSet,
    tree: &mut OutputTree,
) -> Result<(FileEntry, bool), Vec<Diagnostic>> {
    let path = source
        .rel
        .split('/')
        .fold(src_dir.to_path_buf(), |p, s| p.join(s));
    let bytes = fs::read(&path).map_err(|e| {
        vec![Diagnostic::whole_file(
            display.to_path_buf(),
            format!("cannot read: {e}"),
        )]
    })?;
    let hash = incremental::hash(&bytes);
    let outputs = source.outputs();
    if let Some(old) = old {
        let context_same = source.kind == Kind::Copy || previous.tree == tree_hash;
        if old.hash == hash
            && context_same
            && old.outputs == outputs
            && outputs.iter().all(|o| tree.path(o).is_file())
        {
            return Ok((old.clone(), false));
        }
    }
    let contents: Vec<Vec<u8>> = match source.kind {
        Kind::Copy => vec![bytes],
        Kind::Transpile => {
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                vec![Diagnostic::whole_file(
                    display.to_path_buf(),
                    "the file is not valid UTF-8",
                )]
            })?;
            let output_rel = source.output_rel();
            let output_name = output_rel.rsplit('/').next().unwrap_or(&output_rel);
            let unit = transpile::Unit {
                rel: &source.rel,
                display,
                output_name,
            };
            let emitted = transpile::transpile(text, unit, set)?;
            vec![emitted.code.into_bytes(), emitted.map.into_bytes()]
        }
    };
    let mut changed = false;
    for (rel, data) in outputs.iter().zip(&contents) {
        let written = tree
            .write_if_changed(&tree.path(rel), data)
            .map_err(|e| vec![Diagnostic::whole_file(display.to_path_buf(), e.to_string())])?;
        changed |= written == Written::Replaced;
    }
    Ok((FileEntry { hash, outputs }, changed))
}

/// Removes what earlier builds wrote for sources that are gone. Only files listed in the state
/// are touched, so anything else in `build/backend` survives.
fn remove_stale(
    previous: &BTreeMap<String, FileEntry>,
    next: &BTreeMap<String, FileEntry>,
    tree: &mut OutputTree,
) -> Result<usize, BuildError> {
    let keep: HashSet<&str> = next
        .values()
        .flat_map(|e| e.outputs.iter().map(String::as_str))
        .collect();
    let mut removed = 0;
    for (rel, entry) in previous {
        if next.contains_key(rel) {
            continue;
        }
        let mut any = false;
        for out in entry.outputs.iter().filter(|o| !keep.contains(o.as_str())) {
            any |= tree.remove(out)?;
        }
        if any {
            removed += 1;
        }
    }
    Ok(removed)
}
