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

use crate::fsutil::FileLock;
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
    let sources = sources::discover(&src_dir, workspace.root())?;
    let mut tree = OutputTree::new(workspace.root())?;
    let out_dir = tree.dir().to_path_buf();
    tree.ensure_dir(&out_dir)?;
    // Two builds at once (a watcher and a manual one) would race on the state file. The lock
    // is on the output folder, so that package.json editors never wait for a build.
    let _lock = FileLock::acquire(&out_dir).map_err(|e| BuildError::io(&out_dir, e))?;
    let state_path = out_dir.join(STATE_FILE);
    let previous = BuildState::load(&state_path);

    let mut next = BuildState::empty();
    next.tree = incremental::tree_hash(sources.iter().map(|s| s.rel.as_str()));
    let set = SourceSet::new(sources.iter().map(|s| s.rel.clone()));
    let mut report = BuildReport::default();

    let (buildable, clashes) = claim_outputs(&sources);
    for diagnostic in clashes {
        report.fail(vec![diagnostic]);
    }
    let pass = Pass {
        root: workspace.root(),
        src_dir: &src_dir,
        previous: &previous,
        tree_hash: &next.tree,
        set: &set,
        trust_before_ns: incremental::now_ns() - RACY_WINDOW_NS,
    };
    for (source, result) in buildable.iter().zip(pass.run_all(&buildable)?) {
        match result {
            Ok((entry, changed)) => {
                report.count(changed);
                next.files.insert(source.rel.clone(), entry);
            }
            Err(diagnostics) => {
                report.fail(diagnostics);
                // The previous good output stays, and so does its record.
                if let Some(old) = previous.files.get(&source.rel) {
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
    report.diagnostics.sort_by(|a, b| a.path.cmp(&b.path));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Splits the sources into those that can be built and an error for each one whose output
/// another source (earlier in path order) already emits, such as `a.ts` next to `a.js`.
fn claim_outputs(sources: &[Source]) -> (Vec<&Source>, Vec<Diagnostic>) {
    let mut claimed: HashMap<String, &str> = HashMap::new();
    let mut buildable = Vec::new();
    let mut clashes = Vec::new();
    for source in sources {
        let outputs = source.outputs();
        if let Some(other) = outputs
            .iter()
            .find_map(|o| claimed.get(o.as_str()).copied())
        {
            clashes.push(Diagnostic::whole_file(
                display_path(source),
                format!(
                    "`src/backend/{other}` and this file both emit `build/backend/{}`; rename or remove one",
                    source.output_rel()
                ),
            ));
            continue;
        }
        for out in outputs {
            claimed.insert(out, &source.rel);
        }
        buildable.push(source);
    }
    (buildable, clashes)
}

fn display_path(source: &Source) -> PathBuf {
    Path::new("src/backend").join(&source.rel)
}

/// How recent a modification time must be to be distrusted (see [`Pass::build_one`]).
const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// Below this many sources one thread is faster than starting more.
const PARALLEL_THRESHOLD: usize = 64;

type Outcome = Result<(FileEntry, bool), Vec<Diagnostic>>;

/// What every file of one build shares.
struct Pass<'a> {
    root: &'a Path,
    src_dir: &'a Path,
    previous: &'a BuildState,
    tree_hash: &'a str,
    set: &'a SourceSet,
    /// Modification times from this instant on are too recent to vouch for a file.
    trust_before_ns: i128,
}

impl Pass<'_> {
    /// Builds every source, on as many threads as there are cores for a large tree, and
    /// returns the outcomes in the order of `sources`.
    fn run_all(&self, sources: &[&Source]) -> Result<Vec<Outcome>, BuildError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        if threads == 1 || sources.len() < PARALLEL_THRESHOLD {
            let mut tree = OutputTree::new(self.root)?;
            return Ok(sources
                .iter()
                .map(|s| self.build_one(s, &mut tree))
                .collect());
        }
        let mut outcomes: Vec<Option<Outcome>> = Vec::new();
        outcomes.resize_with(sources.len(), || None);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| {
                    scope.spawn(move || -> Result<Vec<(usize, Outcome)>, BuildError> {
                        let mut tree = OutputTree::new(self.root)?;
                        Ok(sources
                            .iter()
                            .enumerate()
                            .skip(worker)
                            .step_by(threads)
                            .map(|(i, s)| (i, self.build_one(s, &mut tree)))
                            .collect())
                    })
                })
                .collect();
            for worker in workers {
                let done = worker.join().map_err(|_| {
                    BuildError::io(self.src_dir, io::Error::other("a build thread panicked"))
                })??;
                for (i, outcome) in done {
                    outcomes[i] = Some(outcome);
                }
            }
            Ok::<(), BuildError>(())
        })?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Vec::new())))
            .collect())
    }

    /// Builds one source unless its recorded hash shows it unchanged. Returns its new record
    /// and whether any output file was rewritten.
    fn build_one(&self, source: &Source, tree: &mut OutputTree) -> Outcome {
        let display = display_path(source);
        let path = source
            .rel
            .split('/')
            .fold(self.src_dir.to_path_buf(), |p, s| p.join(s));
        let unreadable = |e: io::Error| {
            vec![Diagnostic::whole_file(
                display.clone(),
                format!("cannot read: {e}"),
            )]
        };
        let meta = fs::metadata(&path).map_err(unreadable)?;
        let len = meta.len();
        let mut mtime_ns = incremental::mtime_ns(&meta);
        // Like git's "racy" check: a file modified just now could change again within the
        // file system's time granularity without its time changing, so its time is not
        // trusted next build and the content hash decides.
        if mtime_ns >= self.trust_before_ns {
            mtime_ns = 0;
        }
        let outputs = source.outputs();
        // Up to date when built in the same context and all outputs are still there.
        let reusable = self.previous.files.get(&source.rel).filter(|old| {
            (source.kind == Kind::Copy || self.previous.tree == self.tree_hash)
                && old.outputs == outputs
                && outputs.iter().all(|o| tree.path(o).is_file())
        });
        if let Some(old) = reusable
            && old.len == len
            && old.mtime_ns == mtime_ns
            && mtime_ns != 0
        {
            return Ok((old.clone(), false));
        }
        let bytes = fs::read(&path).map_err(unreadable)?;
        let hash = incremental::hash(&bytes);
        if let Some(old) = reusable
            && old.hash == hash
        {
            let touched = FileEntry {
                len,
                mtime_ns,
                ..old.clone()
            };
            return Ok((touched, false));
        }
        let contents: Vec<Vec<u8>> = match source.kind {
            Kind::Copy => vec![bytes],
            Kind::Transpile => {
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    vec![Diagnostic::whole_file(
                        display.clone(),
                        "the file is not valid UTF-8",
                    )]
                })?;
                let output_rel = source.output_rel();
                let output_name = output_rel.rsplit('/').next().unwrap_or(&output_rel);
                let unit = transpile::Unit {
                    rel: &source.rel,
                    display: &display,
                    output_name,
                };
                let emitted = transpile::transpile(text, unit, self.set)?;
                vec![emitted.code.into_bytes(), emitted.map.into_bytes()]
            }
        };
        let mut changed = false;
        for (rel, data) in outputs.iter().zip(&contents) {
            let written = tree
                .write_if_changed(&tree.path(rel), data)
                .map_err(|e| vec![Diagnostic::whole_file(display.clone(), e.to_string())])?;
            changed |= written == Written::Replaced;
        }
        let entry = FileEntry {
            hash,
            len,
            mtime_ns,
            outputs,
        };
        Ok((entry, changed))
    }
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
