//! What `backend-inspect` reports: the workspace, its manifest, each job with its source folder
//! and next run, and every diagnostic, including the ones only the workspace can tell (a job
//! without a source folder).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{AsWritten, Diagnostic, JobSpec, Level, Manifest};
use crate::Error;
use crate::jobs::scaffold::ENTRY_FILES;
use crate::schedule;
use crate::settings::Settings;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub workspace: WorkspaceInfo,
    /// `webstir.moduleManifest` as written (`null` when absent).
    pub manifest: AsWritten,
    pub jobs: Vec<JobReport>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceInfo {
    /// The package name, else the folder name.
    pub name: String,
    pub mode: Option<String>,
    pub root: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    #[serde(flatten)]
    pub spec: JobSpec,
    /// `src/backend/jobs/<name>`, relative to the root.
    pub source: String,
    pub has_source: bool,
    /// The earliest next fire time of the job's schedules (RFC 3339, in the job's time zone);
    /// `None` without a schedule that has one (`@reboot`, or none at all).
    pub next_run: Option<String>,
    /// The newest run in the run history; left out when the job never ran (or no history
    /// was kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
}

/// A job's newest recorded run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    /// RFC 3339 in UTC.
    pub started_at: String,
    pub outcome: crate::store::RunOutcome,
    /// `null` while it runs.
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

impl LastRun {
    fn of(run: &crate::store::StoredRun) -> LastRun {
        let entry = crate::scheduler::history::HistoryEntry::of(run);
        LastRun {
            started_at: entry.started_at,
            outcome: entry.outcome,
            duration_ms: entry.duration_ms,
            error: entry.error,
        }
    }
}

impl Inspection {
    /// Reads the workspace's manifest and checks it against the workspace as of `now`.
    pub fn of(workspace: &Workspace, now: DateTime<Utc>) -> Result<Inspection, Error> {
        let text = workspace.located_package_json()?;
        let manifest = Manifest::from_package_json(&text)?;
        let mut diagnostics = manifest.diagnostics;
        // The scheduler evaluates a job without its own zone in webstir.toml's `timezone`;
        // the next runs shown here must be the ones it will fire.
        let default_zone = match Settings::load(workspace) {
            Ok(settings) => settings.timezone,
            Err(e) => {
                diagnostics.push(Diagnostic {
                    level: Level::Error,
                    code: "invalid-settings",
                    job: None,
                    message: e.to_string(),
                });
                None
            }
        };
        // Jobs without a zone of their own use the environment's; a `TZ` that names no zone
        // leaves them without a next run, which must not pass in silence.
        let uses_environment_zone = default_zone.is_none()
            && manifest
                .jobs
                .iter()
                .any(|job| job.timezone.is_none() && !job.schedules.is_empty());
        if uses_environment_zone && let Err(e) = schedule::environment_timezone() {
            diagnostics.push(Diagnostic {
                level: Level::Error,
                code: "invalid-timezone",
                job: None,
                message: format!(
                    "{e}; jobs without their own `timezone` have no next run, and the \
                     scheduler refuses to start"
                ),
            });
        }
        // Read only when a store exists; never created here. A store that cannot be read is
        // a warning: the manifest is what this command checks.
        let location = crate::scheduler::history::configured_location(workspace);
        let last_runs = match crate::scheduler::history::last_runs(workspace.root(), &location) {
            Ok(runs) => runs,
            Err(e) => {
                diagnostics.push(Diagnostic {
                    level: Level::Warning,
                    code: "unreadable-history",
                    job: None,
                    message: format!("the run history cannot be read: {e}"),
                });
                Vec::new()
            }
        };
        // By job, so that thousands of jobs each find theirs at once (the first, as listed).
        let mut last_run_of: HashMap<&str, &crate::store::StoredRun> = HashMap::new();
        for run in &last_runs {
            last_run_of.entry(run.start.job.as_str()).or_insert(run);
        }
        let mut jobs = Vec::with_capacity(manifest.jobs.len());
        let jobs_dir = workspace.jobs_src_dir();
        let folders = JobFolders::read(&jobs_dir);
        let kinds: Vec<Option<fs::FileType>> = manifest
            .jobs
            .iter()
            .map(|spec| folders.kind(&spec.name))
            .collect();
        let entry_files = folders.entry_files(&manifest.jobs, &kinds);
        // Thousands of jobs name a handful of zones and schedules; each zone is resolved once,
        // and the next run of each set of schedules in each zone worked out once.
        let mut zones = schedule::Zones::new(default_zone.as_deref());
        let mut next_runs: HashMap<&'static str, HashMap<Vec<String>, Option<String>>> =
            HashMap::new();
        for ((spec, kind), has_entry_file) in manifest.jobs.into_iter().zip(kinds).zip(entry_files)
        {
            let last_run = last_run_of
                .get(spec.name.as_str())
                .map(|run| LastRun::of(run));
            let source = format!("src/backend/jobs/{}", spec.name);
            // A symbolic link is not a source folder: webstir never follows one out.
            let has_source = kind.is_some_and(|k| k.is_dir());
            if let Some((code, message)) = source_problem(kind, has_entry_file, &source) {
                diagnostics.push(Diagnostic {
                    level: Level::Error,
                    code,
                    job: Some(spec.name.clone()),
                    message,
                });
            }
            let tz = zones.resolve(&spec.timezone).ok();
            let next_run = tz.and_then(|tz| {
                let in_zone = next_runs.entry(tz.name()).or_default();
                if let Some(known) = in_zone.get(spec.schedules.as_slice()) {
                    return known.clone();
                }
                let next = next_run(&spec, tz, now);
                in_zone.insert(spec.schedules.clone(), next.clone());
                next
            });
            jobs.push(JobReport {
                spec,
                source,
                has_source,
                next_run,
                last_run,
            });
        }
        let root = workspace.root();
        let name = manifest.package_name.unwrap_or_else(|| {
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(Inspection {
            workspace: WorkspaceInfo {
                name,
                mode: manifest.mode,
                root: root.display().to_string(),
            },
            manifest: manifest.module_manifest,
            jobs,
            diagnostics,
        })
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// What keeps the job's source folder from being run, as (code, message): no folder (or a
/// symbolic link in its place), or a folder without an entry file.
fn source_problem(
    kind: Option<fs::FileType>,
    has_entry_file: bool,
    source: &str,
) -> Option<(&'static str, String)> {
    if kind.is_some_and(|k| k.is_symlink()) {
        return Some((
            "missing-source",
            format!(
                "`{source}` is a symbolic link; webstir does not follow links out of the workspace"
            ),
        ));
    }
    if !kind.is_some_and(|k| k.is_dir()) {
        return Some((
            "missing-source",
            format!("no source folder `{source}/`; create `{source}/index.ts` exporting `run()`"),
        ));
    }
    if has_entry_file {
        return None;
    }
    Some((
        "missing-entry",
        format!(
            "`{source}/` has no entry file ({}); create `{source}/index.ts` exporting `run()`",
            ENTRY_FILES.join(", ")
        ),
    ))
}

/// `src/backend/jobs`, listed once: a manifest of thousands of jobs is checked against one
/// listing of the folder rather than a look-up of each job's folder by its full path.
struct JobFolders {
    dir: PathBuf,
    /// Each entry's type, as a link is (not followed); `None` when the folder cannot be listed.
    listed: Option<HashMap<OsString, fs::FileType>>,
    /// The folder, open, to look up entry files from it rather than from the root.
    open: Option<fs::File>,
}

impl JobFolders {
    fn read(dir: &Path) -> JobFolders {
        let listed = fs::read_dir(dir).ok().map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| Some((entry.file_name(), entry.file_type().ok()?)))
                .collect()
        });
        JobFolders {
            dir: dir.to_path_buf(),
            listed,
            open: fs::File::open(dir).ok(),
        }
    }

    /// The type of the job folder `name` (a link is not followed), `None` when there is none.
    fn kind(&self, name: &str) -> Option<fs::FileType> {
        let listed = self.listed.as_ref().and_then(|l| l.get(OsStr::new(name)));
        // Not in the listing: looked up, for a file system that matches names another way.
        listed.copied().or_else(|| {
            fs::symlink_metadata(self.dir.join(name))
                .ok()
                .map(|m| m.file_type())
        })
    }

    /// For each job whose folder is a folder (`kinds`, in the same order), whether it holds an
    /// entry file. Each answer is a system call, which for thousands of jobs is most of the
    /// command's time: they are spread over the cores, in chunks big enough to be worth a
    /// thread.
    fn entry_files(&self, jobs: &[JobSpec], kinds: &[Option<fs::FileType>]) -> Vec<bool> {
        const PER_THREAD: usize = 1024;
        let look = |jobs: &[JobSpec], kinds: &[Option<fs::FileType>]| -> Vec<bool> {
            jobs.iter()
                .zip(kinds)
                .map(|(spec, kind)| {
                    kind.is_some_and(|k| k.is_dir()) && self.has_entry_file(&spec.name)
                })
                .collect()
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(jobs.len().div_ceil(PER_THREAD));
        if threads <= 1 {
            return look(jobs, kinds);
        }
        let chunk = jobs.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = jobs
                .chunks(chunk)
                .zip(kinds.chunks(chunk))
                .map(|(jobs, kinds)| scope.spawn(move || look(jobs, kinds)))
                .collect();
            parts
                .into_iter()
                .flat_map(|part| {
                    part.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    /// Whether the job folder `name` holds one of [`ENTRY_FILES`] that is a file (a link to one
    /// counts), as `Path::is_file` tells.
    fn has_entry_file(&self, name: &str) -> bool {
        ENTRY_FILES.iter().any(|file| match &self.open {
            Some(dir) => is_file_at(dir, &format!("{name}/{file}"))
                .unwrap_or_else(|| self.dir.join(name).join(file).is_file()),
            None => self.dir.join(name).join(file).is_file(),
        })
    }
}

/// Whether `relative` (from the open folder `dir`) is a file, following links as `stat` does;
/// `None` when the path cannot be given to the system (it holds a NUL).
fn is_file_at(dir: &fs::File, relative: &str) -> Option<bool> {
    use std::os::fd::AsRawFd;
    let path = std::ffi::CString::new(relative).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` a buffer of the size `fstatat`
    // writes; both outlive the call, and `dir` is an open descriptor.
    let status = unsafe { libc::fstatat(dir.as_raw_fd(), path.as_ptr(), stat.as_mut_ptr(), 0) };
    if status != 0 {
        return Some(false);
    }
    // SAFETY: `fstatat` succeeded, so it filled `stat`.
    let mode = unsafe { stat.assume_init() }.st_mode;
    Some(mode & libc::S_IFMT == libc::S_IFREG)
}

fn next_run(spec: &JobSpec, tz: Tz, now: DateTime<Utc>) -> Option<String> {
    schedule::next_wall_clock_fire(&spec.parsed, now, tz).map(|at| schedule::format_instant(&at))
}
