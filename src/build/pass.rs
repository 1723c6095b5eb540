//! One build pass over the sources: each file is skipped when up to date, or transpiled (or
//! copied) and written, on several threads for a large tree.

use std::fs;
use std::io;
use std::path::Path;

use super::incremental::{self, BuildState, FileEntry};
use super::output::{OutputTree, Written};
use super::sources::{Kind, Source};
use super::specifiers::SourceSet;
use super::tsconfig::Jsx;
use super::{BuildError, Diagnostic, display_path, transpile};

/// How recent a modification time must be to be distrusted (see [`FileEntry::len`]).
pub(super) const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// Below this many sources one thread is faster than starting more.
const PARALLEL_THRESHOLD: usize = 64;

pub(super) type Outcome = Result<(FileEntry, bool), Vec<Diagnostic>>;

/// What every file of one build shares.
pub(super) struct Pass<'a> {
    pub root: &'a Path,
    pub src_dir: &'a Path,
    pub previous: &'a BuildState,
    pub tree_hash: &'a str,
    pub set: &'a SourceSet,
    pub jsx: &'a Jsx,
}

impl Pass<'_> {
    /// Builds every source, on as many threads as there are cores for a large tree, and
    /// returns the outcomes in the order of `sources`.
    pub fn run_all(&self, sources: &[&Source]) -> Result<Vec<Outcome>, BuildError> {
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
        let mtime_ns = incremental::mtime_ns(&meta);
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
            && mtime_ns < self.previous.trust_before_ns
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
            Kind::Unsupported => return Err(Vec::new()),
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
                let emitted = transpile::transpile(text, unit, self.set, self.jsx)?;
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
