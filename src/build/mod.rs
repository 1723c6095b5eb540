//! `webstir build`: TypeScript under `src/backend` to ES modules under `build/backend`, one
//! output file per input, plus the generated scheduler that runs the jobs with Node alone.

pub mod diagnostics;
pub mod incremental;
pub mod output;
mod pass;
mod report;
pub mod scheduler_files;
pub mod sources;
pub mod specifiers;
pub mod transpile;
pub mod tsconfig;
pub mod watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use diagnostics::Diagnostic;
pub use report::BuildReport;

use crate::fsutil::FileLock;
use crate::workspace::Workspace;
use incremental::{BuildState, FileEntry, STATE_FILE};
use output::OutputTree;
use sources::Source;
use specifiers::SourceSet;
use tsconfig::TsConfig;

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
    #[error(
        "`{}` is a symbolic link to `{}`, {reason}; remove the link or restore its target",
        path.display(),
        target.display()
    )]
    BrokenSymlink {
        path: PathBuf,
        target: PathBuf,
        reason: String,
    },
    #[error(
        "`{}` is a symbolic link to `{}`, a folder that contains it, so the build would walk it forever; remove the link",
        path.display(),
        target.display()
    )]
    SymlinkLoop { path: PathBuf, target: PathBuf },
    #[error(
        "`{}` is a folder, but the build writes {what} there; move the folder away",
        path.display()
    )]
    GeneratedPathTaken { path: PathBuf, what: &'static str },
    #[error("refusing to replace `{}`: it is a symbolic link, not a file the build wrote", path.display())]
    OutputSymlink { path: PathBuf },
    #[error("{}: {message}", path.display())]
    TsConfig { path: PathBuf, message: String },
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
    let tsconfig = TsConfig::load(workspace.root())?;
    let jsx = tsconfig.jsx.clone();
    let mut tree = OutputTree::new(workspace.root())?;
    let out_dir = tree.dir().to_path_buf();
    tree.ensure_dir(&out_dir)?;
    // Two builds at once (a watcher and a manual one) would race on the state file. The lock
    // is on the output folder, so that package.json editors never wait for a build.
    let _lock = FileLock::acquire(&out_dir).map_err(|e| BuildError::io(&out_dir, e))?;
    let state_path = out_dir.join(STATE_FILE);
    let previous = BuildState::load(&state_path);

    let mut next = BuildState::empty();
    // The options of tsconfig.json change every module's output, as the list of files does.
    // (A NUL cannot be part of a path, so the two cannot be confused.)
    let fingerprint = format!("\0{}", tsconfig.fingerprint());
    next.tree = incremental::tree_hash(
        sources
            .iter()
            .map(|s| s.rel.as_str())
            .chain(std::iter::once(fingerprint.as_str())),
    );
    let set =
        SourceSet::new(sources.iter().map(|s| s.rel.clone())).with_aliases(tsconfig, &src_dir);
    let mut report = BuildReport::default();

    let (buildable, clashes) = claim_outputs(&sources);
    for diagnostic in clashes {
        report.fail(vec![diagnostic]);
    }
    let pass = pass::Pass {
        root: workspace.root(),
        src_dir: &src_dir,
        previous: &previous,
        tree_hash: &next.tree,
        set: &set,
        jsx: &jsx,
    };
    let trust_before_ns = incremental::now_ns() - pass::RACY_WINDOW_NS;
    for (source, result) in buildable.iter().zip(pass.run_all(&buildable)?) {
        match result {
            Ok((entry, changed)) => {
                report.count(changed);
                next.files.insert(source.rel.clone(), entry);
            }
            Err(diagnostics) => {
                report.fail(diagnostics);
                // The previous good output stays, and so does its record, but with a time
                // that never vouches: the failing file must be read again next build.
                if let Some(old) = previous.files.get(&source.rel) {
                    let entry = FileEntry {
                        mtime_ns: 0,
                        ..old.clone()
                    };
                    next.files.insert(source.rel.clone(), entry);
                }
            }
        }
    }

    report.removed = remove_stale(&previous.files, &next.files, &mut tree)?;
    let (support_written, stamp) = scheduler_files::install(&mut tree, previous.scheduler)?;
    report.support_written = support_written;
    next.scheduler = stamp;
    // The times seen in this build vouch from the next build on, but only if the state is
    // written anyway: recording a new instant alone would rewrite the state every build.
    next.trust_before_ns = previous.trust_before_ns;
    if next != previous {
        next.trust_before_ns = trust_before_ns;
    }
    tree.write_if_changed(&state_path, &next.to_json())?;
    report.diagnostics.sort_by(|a, b| a.path.cmp(&b.path));
    report.warnings.extend(module_type_warning(workspace));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The output is ES modules in `.js` files, which Node reads as such only under a
/// `package.json` with `"type": "module"` (Node 20 otherwise tries CommonJS first and, at best,
/// warns on every run).
fn module_type_warning(workspace: &Workspace) -> Option<String> {
    let text = workspace.read_package_json().ok()?;
    let package: serde_json::Value = serde_json::from_str(&text).ok()?;
    let found = match package.get("type") {
        Some(serde_json::Value::String(kind)) if kind == "module" => return None,
        Some(kind) => format!("`\"type\": {kind}`"),
        None => "no `\"type\"`".to_owned(),
    };
    Some(format!(
        "package.json has {found}: Node.js takes the built `.js` files for CommonJS, but they are ES modules; add `\"type\": \"module\"` (as `webstir init` does)"
    ))
}

/// Splits the sources into those that can be built and an error for each one whose output
/// another source (earlier in path order) already emits, such as `a.ts` next to `a.js`, or
/// the build generates itself, such as `jobs/scheduler.ts`.
fn claim_outputs(sources: &[Source]) -> (Vec<&Source>, Vec<Diagnostic>) {
    let mut claimed: HashMap<String, &str> = HashMap::new();
    let mut buildable = Vec::new();
    let mut clashes = Vec::new();
    for source in sources {
        if source.kind == sources::Kind::Unsupported {
            clashes.push(Diagnostic::whole_file(
                display_path(source),
                "`.cts` files are CommonJS, and the build emits ES modules only; rename it to `.ts` (an ES module), or write it as `.cjs`, which is copied as it is",
            ));
            continue;
        }
        let outputs = source.outputs();
        if let Some(diagnostic) = reserved_output(source, &outputs) {
            clashes.push(diagnostic);
            continue;
        }
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

/// An error when an output of `source` would take a name in `build/backend/jobs` that the
/// generated files own (the same rule `add-job` applies to job names), instead of letting the
/// generated file silently replace it.
fn reserved_output(source: &Source, outputs: &[String]) -> Option<Diagnostic> {
    outputs.iter().find_map(|out| {
        let entry = out.strip_prefix("jobs/")?.split('/').next()?;
        let reserved = crate::jobs::name::reserved(entry)?;
        Some(Diagnostic::whole_file(
            display_path(source),
            format!(
                "this file would be built to `build/backend/{out}`, a name the build reserves: {reserved}; rename it"
            ),
        ))
    })
}

pub(crate) fn display_path(source: &Source) -> PathBuf {
    Path::new("src/backend").join(&source.rel)
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
