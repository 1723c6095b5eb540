//! The live manifest of `--watch`: the watcher follows `package.json` (and SIGHUP), re-reads
//! and re-plans it the way it was planned at start, and tells the watch loop which jobs are
//! new, gone or changed, so that it arms, drops and re-arms only those and leaves runs in
//! progress alone.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::plan::{PlanOptions, PlannedJob, plan};
use crate::jobs::canonical_key;
use crate::manifest::Manifest;
use crate::workspace::{PACKAGE_JSON, Workspace};

/// Quiet time after the last change before re-reading: an editor's save, or webstir's own
/// write (temporary file, then rename), arrives as a burst of events.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Where the plan comes from, kept from the start so that a re-read plans the same way.
#[derive(Debug, Clone)]
pub struct Source {
    pub root: PathBuf,
    pub options: PlanOptions,
    /// `--job` names: only these jobs are followed (none: every job).
    pub only: Vec<String>,
}

impl Source {
    /// The plan the manifest describes now: its scheduled jobs (only the `--job` ones, when
    /// given). An invalid manifest is an error whose text lists the diagnostics.
    pub fn load(&self) -> Result<Vec<PlannedJob>, String> {
        Ok(scheduled(self.load_all()?))
    }

    /// [`Source::load`] with the jobs that have no schedule too (the status page lists them).
    pub fn load_all(&self) -> Result<Vec<PlannedJob>, String> {
        let text = Workspace::at(&self.root)
            .read_package_json()
            .map_err(|e| e.to_string())?;
        let manifest = Manifest::from_package_json(&text)
            .and_then(Manifest::require_valid)
            .map_err(|e| e.to_string())?;
        let jobs = plan(&manifest.jobs, &self.options).map_err(|e| e.to_string())?;
        let keys: Vec<String> = self.only.iter().map(|n| canonical_key(n)).collect();
        Ok(jobs
            .into_iter()
            .filter(|j| keys.is_empty() || keys.contains(&canonical_key(&j.spec.name)))
            .collect())
    }
}

fn scheduled(jobs: Vec<PlannedJob>) -> Vec<PlannedJob> {
    jobs.into_iter()
        .filter(|j| !j.schedules.is_empty())
        .collect()
}

/// What makes the watcher re-read: changes to `package.json`, and SIGHUP.
pub struct Reloader {
    pub source: Source,
    changes: mpsc::UnboundedReceiver<()>,
    /// When the current burst of changes counts as over: kept here, not in the waiting future,
    /// because the watch loop drops that future whenever another event wins its `select!`.
    settled_at: Option<Instant>,
    // Kept alive for as long as the reloader: dropping it stops the notifications.
    _watcher: RecommendedWatcher,
    hangup: Signal,
    /// Each plan read, manual-only jobs included, for whoever shows the jobs (`--http`).
    plans: watch::Sender<Arc<Vec<PlannedJob>>>,
}

impl Reloader {
    /// Starts watching the workspace folder (not the file: editors and webstir replace
    /// `package.json` by a rename, which a watch on the file itself would lose) and listening
    /// for SIGHUP, which from here on no longer ends the process.
    pub fn start(source: Source) -> io::Result<Reloader> {
        let (tx, changes) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            if event.as_ref().is_ok_and(touches_manifest) {
                // The receiver outlives the watcher; an error means the loop is gone.
                let _ = tx.send(());
            }
        })
        .map_err(io::Error::other)?;
        watcher
            .watch(&source.root, RecursiveMode::NonRecursive)
            .map_err(io::Error::other)?;
        let hangup = signal(SignalKind::hangup())?;
        Ok(Reloader {
            source,
            changes,
            settled_at: None,
            _watcher: watcher,
            hangup,
            plans: watch::channel(Arc::new(Vec::new())).0,
        })
    }

    /// The plans read from now on, starting with `current`: the whole plan, manual-only jobs
    /// included, published as soon as a re-read succeeds.
    pub fn plans(&self, current: Arc<Vec<PlannedJob>>) -> watch::Receiver<Arc<Vec<PlannedJob>>> {
        self.plans.send_replace(current);
        self.plans.subscribe()
    }

    /// Waits for the next reason to re-read and returns it (`SIGHUP`, or `package.json`
    /// changed once the burst of changes is over). Cancel-safe: dropped half-way, it loses
    /// neither a signal nor a change.
    pub async fn triggered(&mut self) -> &'static str {
        loop {
            let settled = async {
                match self.settled_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.hangup.recv() => {
                    // The re-read covers any change still settling.
                    self.settled_at = None;
                    return "SIGHUP";
                }
                Some(()) = self.changes.recv() => {
                    self.settled_at = Some(Instant::now() + DEBOUNCE);
                }
                () = settled => {
                    self.settled_at = None;
                    return "change";
                }
            }
        }
    }
}

/// The next plan to follow, and why it was read: waits for a change or SIGHUP, then re-reads.
/// Without a reloader (the manifest is not followed) it never returns.
pub async fn next_plan(
    reloader: &mut Option<Reloader>,
) -> (&'static str, Result<Vec<PlannedJob>, String>) {
    let Some(reloader) = reloader else {
        return std::future::pending().await;
    };
    let why = reloader.triggered().await;
    let all = reloader.source.load_all();
    if let Ok(all) = &all {
        reloader.plans.send_replace(Arc::new(all.clone()));
    }
    (why, all.map(scheduled))
}

/// Whether a file system event may have changed `package.json`.
fn touches_manifest(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Access(_))
        && event
            .paths
            .iter()
            .any(|p| p.file_name() == Some(Path::new(PACKAGE_JSON).as_os_str()))
}

/// How a new plan differs from the one the watcher follows, job by job (matched by name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// For each job of the old plan, the index of the job of the same name in the new plan.
    pub renumbered: Vec<Option<usize>>,
    /// New-plan indexes of jobs that were not in the old plan.
    pub added: Vec<usize>,
    /// New-plan indexes of jobs whose schedules, zone, time limit, tenants or policies
    /// changed: their timers are armed afresh.
    pub changed: Vec<usize>,
    /// Names of the old plan's jobs that are gone.
    pub removed: Vec<String>,
}

impl Diff {
    pub fn between(old: &[PlannedJob], new: &[PlannedJob]) -> Diff {
        // By name, so that a reload of a manifest of thousands of jobs stays linear.
        let new_index: HashMap<&str, usize> = new
            .iter()
            .enumerate()
            .map(|(i, job)| (job.spec.name.as_str(), i))
            .collect();
        let mut diff = Diff::default();
        let mut kept = vec![false; new.len()];
        for job in old {
            let found = new_index.get(job.spec.name.as_str()).copied();
            match found {
                Some(i) if !same_timing(job, &new[i]) => diff.changed.push(i),
                Some(_) => {}
                None => diff.removed.push(job.spec.name.clone()),
            }
            if let Some(i) = found {
                kept[i] = true;
            }
            diff.renumbered.push(found);
        }
        diff.changed.sort_unstable();
        diff.added = (0..new.len()).filter(|&i| !kept[i]).collect();
        diff
    }

    /// Whether the new job at `index` needs its timers armed (it is new or changed).
    pub fn arms(&self, index: usize) -> bool {
        // Both lists are sorted.
        self.added.binary_search(&index).is_ok() || self.changed.binary_search(&index).is_ok()
    }

    /// `+1 job, -2 jobs, 1 changed`, or `no job changed`.
    pub fn summary(&self) -> String {
        let jobs = |n: usize| if n == 1 { "job" } else { "jobs" };
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("+{} {}", self.added.len(), jobs(self.added.len())));
        }
        if !self.removed.is_empty() {
            parts.push(format!(
                "-{} {}",
                self.removed.len(),
                jobs(self.removed.len())
            ));
        }
        if !self.changed.is_empty() {
            parts.push(format!("{} changed", self.changed.len()));
        }
        if parts.is_empty() {
            "no job changed".into()
        } else {
            parts.join(", ")
        }
    }

    /// The names behind the summary: `added: a; removed: b; changed: c`.
    pub fn details(&self, new: &[PlannedJob]) -> String {
        let names = |indexes: &[usize]| -> String {
            indexes
                .iter()
                .map(|&i| new[i].spec.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("added: {}", names(&self.added)));
        }
        if !self.removed.is_empty() {
            parts.push(format!("removed: {}", self.removed.join(", ")));
        }
        if !self.changed.is_empty() {
            parts.push(format!("changed: {}", names(&self.changed)));
        }
        parts.join("; ")
    }
}

/// Whether two plans of one job fire and run alike: a new description or priority alone does
/// not reset its timers.
fn same_timing(a: &PlannedJob, b: &PlannedJob) -> bool {
    a.spec.schedules == b.spec.schedules
        && a.tz == b.tz
        && a.timeout == b.timeout
        && a.tenants == b.tenants
        && a.policies == b.policies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(jobs: &str) -> Vec<PlannedJob> {
        let text = format!(r#"{{"webstir": {{"moduleManifest": {{"jobs": {jobs}}}}}}}"#);
        let manifest = Manifest::from_package_json(&text)
            .and_then(Manifest::require_valid)
            .expect("a valid manifest");
        let options = PlanOptions {
            timezone: Some("UTC".into()),
            ..Default::default()
        };
        plan(&manifest.jobs, &options).expect("planned")
    }

    #[test]
    fn the_same_manifest_changes_nothing() {
        let jobs =
            r#"[{"name": "a", "schedule": "rate(1 minute)"}, {"name": "b", "schedule": "@daily"}]"#;
        let diff = Diff::between(&planned(jobs), &planned(jobs));
        assert_eq!(diff.renumbered, [Some(0), Some(1)]);
        assert!(diff.added.is_empty() && diff.changed.is_empty() && diff.removed.is_empty());
        assert_eq!(diff.summary(), "no job changed");
    }

    #[test]
    fn added_removed_and_changed_jobs_are_told_apart_by_name() {
        let old = planned(
            r#"[{"name": "a", "schedule": "rate(1 minute)"}, {"name": "b", "schedule": "@daily"}, {"name": "c", "schedule": "@hourly"}]"#,
        );
        let new = planned(
            r#"[{"name": "c", "schedule": "@hourly", "description": "only words"}, {"name": "d", "schedule": "@daily"}, {"name": "a", "schedule": "rate(2 minutes)"}]"#,
        );
        let diff = Diff::between(&old, &new);
        assert_eq!(diff.renumbered, [Some(2), None, Some(0)]);
        assert_eq!(diff.added, [1]);
        assert_eq!(diff.changed, [2]);
        assert_eq!(diff.removed, ["b"]);
        assert!(diff.arms(1) && diff.arms(2) && !diff.arms(0));
        assert_eq!(diff.summary(), "+1 job, -1 job, 1 changed");
        assert_eq!(diff.details(&new), "added: d; removed: b; changed: a");
    }

    #[test]
    fn policies_timeout_zone_and_tenants_count_as_changes() {
        let base = r#"[{"name": "a", "schedule": "@daily"}]"#;
        for changed in [
            r#"[{"name": "a", "schedule": "@daily", "timeout": "5s"}]"#,
            r#"[{"name": "a", "schedule": "@daily", "timezone": "Europe/Paris"}]"#,
            r#"[{"name": "a", "schedule": "@daily", "tenants": "dynamic"}]"#,
            r#"[{"name": "a", "schedule": "@daily", "tenantConcurrency": 3}]"#,
            r#"[{"name": "a", "schedule": "@daily", "overlap": "queue"}]"#,
        ] {
            let diff = Diff::between(&planned(base), &planned(changed));
            assert_eq!(diff.changed, [0], "{changed}");
        }
    }

    #[test]
    fn plural_summaries() {
        let diff = Diff {
            added: vec![0, 1],
            removed: vec!["x".into(), "y".into(), "z".into()],
            ..Diff::default()
        };
        assert_eq!(diff.summary(), "+2 jobs, -3 jobs");
    }
}
