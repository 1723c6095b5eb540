//! The data of the status page and of `/api/jobs` and `/api/runs`, built from the
//! [`Status`]; the page itself is the `http/status.html` template.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::history::{Outcome, RunRecord};
use super::state::Status;
use crate::scheduler::PlannedJob;
use crate::templates::{self, TemplateError};

/// How often the page reloads itself.
pub const REFRESH_SECONDS: u32 = 10;
/// How many recent runs the page lists under the jobs.
const RECENT_RUNS: usize = 30;
/// How many of a job's runs its chart shows (and its last run is looked for in).
const CHART_RUNS: usize = super::history::RUNS_PER_JOB;
const CHART_WIDTH: u32 = 200;
const CHART_HEIGHT: u32 = 32;

/// A job as `/api/jobs` gives it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobJson {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub schedules: Vec<ScheduleJson>,
    /// A job without a schedule: it runs only when asked (`--job`, `POST /jobs/<name>/run`).
    pub manual: bool,
    pub timezone: String,
    /// RFC 3339 in the job's zone; `null` when no schedule fires again (`@reboot`, manual).
    pub next_run: Option<String>,
    pub running: usize,
    /// The newest run that ran (skipped fires left out).
    pub last_run: Option<RunRecord>,
}

#[derive(Debug, Serialize)]
pub struct ScheduleJson {
    pub expression: String,
    /// The schedule in plain English.
    pub description: String,
}

pub async fn jobs_json(status: &Status) -> Vec<JobJson> {
    let mut jobs = Vec::new();
    for job in status.jobs().iter() {
        let recent = status.recent(Some(&job.spec.name), CHART_RUNS).await;
        jobs.push(JobJson {
            name: job.spec.name.clone(),
            description: job.spec.description.clone(),
            schedules: schedules(job),
            manual: job.schedules.is_empty(),
            timezone: job.tz.name().to_owned(),
            next_run: status
                .next_fire(job)
                .map(|t| crate::schedule::format_instant(&t.with_timezone(&job.tz))),
            running: status.running(&job.spec.name),
            last_run: last_run(&recent).cloned(),
        });
    }
    jobs
}

fn schedules(job: &PlannedJob) -> Vec<ScheduleJson> {
    job.schedules
        .iter()
        .map(|s| ScheduleJson {
            expression: s.source().to_owned(),
            description: s.describe(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct PageView {
    generated: String,
    refresh_seconds: u32,
    healthy: bool,
    health: &'static str,
    job_count: usize,
    jobs: Vec<JobView>,
    runs: Vec<RunView>,
}

#[derive(Debug, Serialize)]
struct JobView {
    name: String,
    description: Option<String>,
    schedules: Vec<ScheduleJson>,
    manual: bool,
    timezone: String,
    next_run: Option<String>,
    next_run_in: Option<String>,
    running: usize,
    last: Option<RunView>,
    chart: Chart,
}

#[derive(Debug, Serialize)]
struct RunView {
    job: String,
    schedule: String,
    started: String,
    duration: String,
    outcome: Outcome,
    error: Option<String>,
}

/// An inline SVG bar chart of a job's recent run durations, oldest on the left.
#[derive(Debug, Serialize)]
struct Chart {
    width: u32,
    height: u32,
    bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    failed: bool,
    title: String,
}

/// The status page's HTML.
pub async fn render(status: &Status, now: DateTime<Utc>) -> Result<String, TemplateError> {
    let mut jobs = Vec::new();
    for job in status.jobs().iter() {
        let recent = status.recent(Some(&job.spec.name), CHART_RUNS).await;
        jobs.push(job_view(status, job, &recent, now));
    }
    let runs = status
        .recent(None, RECENT_RUNS)
        .await
        .iter()
        .map(|run| run_view(run, zone_of(status, &run.job)))
        .collect();
    let health = status.health();
    let view = PageView {
        generated: local_time(now, Tz::UTC),
        refresh_seconds: REFRESH_SECONDS,
        healthy: health.is_ok(),
        health: health.err().unwrap_or("scheduling"),
        job_count: jobs.len(),
        jobs,
        runs,
    };
    templates::render_html("http/status.html", &view)
}

fn job_view(
    status: &Status,
    job: &PlannedJob,
    recent: &[RunRecord],
    now: DateTime<Utc>,
) -> JobView {
    let next = status.next_fire(job);
    JobView {
        name: job.spec.name.clone(),
        description: job.spec.description.clone(),
        schedules: schedules(job),
        manual: job.schedules.is_empty(),
        timezone: job.tz.name().to_owned(),
        next_run: next.map(|t| local_time(t, job.tz)),
        next_run_in: next.map(|t| {
            let ms = (t - now).num_milliseconds();
            // A second of slack: a fire being started right now is not overdue.
            if ms < -1000 {
                format!("overdue by {}", span(-ms))
            } else {
                format!("in {}", span(ms))
            }
        }),
        running: status.running(&job.spec.name),
        last: last_run(recent).map(|run| run_view(run, job.tz)),
        chart: chart(recent),
    }
}

/// The newest run that ran: a skipped fire says nothing about how the job is doing.
fn last_run(recent: &[RunRecord]) -> Option<&RunRecord> {
    recent.iter().find(|run| run.outcome != Outcome::Skipped)
}

fn zone_of(status: &Status, job: &str) -> Tz {
    status
        .jobs()
        .iter()
        .find(|j| j.spec.name == job)
        .map_or(Tz::UTC, |j| j.tz)
}

fn run_view(run: &RunRecord, tz: Tz) -> RunView {
    RunView {
        job: match &run.tenant {
            Some(tenant) => format!("{}@{tenant}", run.job),
            None => run.job.clone(),
        },
        schedule: run.schedule.clone(),
        started: local_time(run.started_at, tz),
        duration: match run.outcome {
            Outcome::Skipped => String::new(),
            _ => duration(run.duration_ms),
        },
        outcome: run.outcome,
        error: run.error.clone(),
    }
}

/// `recent` is newest first; the chart reads left to right, oldest first.
fn chart(recent: &[RunRecord]) -> Chart {
    let runs: Vec<&RunRecord> = recent
        .iter()
        .filter(|r| r.outcome != Outcome::Skipped)
        .rev()
        .collect();
    let longest = runs.iter().map(|r| r.duration_ms).max().unwrap_or(0).max(1);
    let slot = CHART_WIDTH / CHART_RUNS as u32;
    let bars = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            // At least 2 px so that a very quick run still shows.
            let height = ((run.duration_ms * u64::from(CHART_HEIGHT - 2)) / longest) as u32 + 2;
            let failed = run.outcome.is_failure();
            let height = if failed { CHART_HEIGHT } else { height };
            Bar {
                x: i as u32 * slot,
                y: CHART_HEIGHT - height,
                width: slot - 1,
                height,
                failed,
                title: format!(
                    "{}{}",
                    duration(run.duration_ms),
                    if failed { ", failed" } else { "" }
                ),
            }
        })
        .collect();
    Chart {
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        bars,
    }
}

fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// `850 ms`, `4.2 s`, `3m 12s`.
fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        span(ms as i64)
    }
}

/// A span in its two largest units: `12s`, `3m 12s`, `5h 2m`, `2d 3h`.
fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    fn status(jobs: &str) -> Status {
        let text = format!(r#"{{"webstir": {{"moduleManifest": {{"jobs": {jobs}}}}}}}"#);
        let manifest = crate::manifest::Manifest::from_package_json(&text)
            .and_then(crate::manifest::Manifest::require_valid)
            .expect("a valid manifest");
        let options = crate::scheduler::PlanOptions {
            timezone: Some("UTC".into()),
            ..Default::default()
        };
        let jobs = crate::scheduler::plan(&manifest.jobs, &options).expect("planned");
        let (_stop, stop) = tokio::sync::watch::channel(crate::runner::StopRequest::None);
        Status::new(std::sync::Arc::new(jobs), stop)
    }

    #[test]
    fn the_page_escapes_job_errors_and_lists_every_job() {
        use crate::scheduler::observer::{RunEvent, RunEventKind, RunObserver};
        let status = status(
            r#"[{"name": "a", "schedule": "0 9 * * 1-5", "description": "<i>d</i>"},
                {"name": "b", "schedule": "@reboot"}]"#,
        );
        let event = |kind| RunEvent {
            run: 1,
            job: "a".into(),
            tenant: None,
            schedule: "0 9 * * 1-5".into(),
            due: None,
            attempt: 1,
            at: Utc::now(),
            kind,
        };
        status.observe(&event(RunEventKind::Started));
        assert!(
            status.next_fire(&status.jobs()[1]).is_some(),
            "@reboot is due at the start"
        );
        status.observe(&RunEvent {
            run: 2,
            job: "b".into(),
            schedule: "@reboot".into(),
            ..event(RunEventKind::Started)
        });
        status.observe(&event(RunEventKind::Finished {
            duration: std::time::Duration::from_millis(1500),
            outcome: Outcome::Failed,
            error: Some("Error: <script>alert(1)</script>".into()),
            exit_status: Some(1),
        }));
        let html = block_on(render(&status, Utc::now())).expect("the page renders");
        assert!(html.contains(r#"data-job="a""#) && html.contains(r#"data-job="b""#));
        assert!(html.contains("At 09:00 on Monday through Friday"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;i&gt;d&lt;/i&gt;"));
        assert!(html.contains(r#"<rect class="failed""#));
        assert!(html.contains("not again"), "an @reboot job has no next run");
    }

    #[test]
    fn spans_and_durations_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4_240), "4.2 s");
        assert_eq!(duration(192_000), "3m 12s");
        assert_eq!(span(0), "0s");
        assert_eq!(span(5 * 3_600_000 + 120_000), "5h 2m");
        assert_eq!(span(2 * 86_400_000 + 3 * 3_600_000), "2d 3h");
    }

    #[test]
    fn the_chart_puts_the_oldest_run_left_and_marks_failures_full_height() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant");
        let run = |ms, outcome| RunRecord {
            job: "j".into(),
            tenant: None,
            schedule: "manual".into(),
            due: None,
            attempt: 1,
            started_at: at,
            finished_at: at,
            duration_ms: ms,
            outcome,
            error: None,
            exit_status: None,
        };
        // Newest first, as the history gives them.
        let recent = [
            run(100, Outcome::Failed),
            run(0, Outcome::Skipped),
            run(1000, Outcome::Succeeded),
            run(500, Outcome::Succeeded),
        ];
        let chart = chart(&recent);
        let heights: Vec<(u32, bool)> = chart.bars.iter().map(|b| (b.height, b.failed)).collect();
        assert_eq!(heights, [(17, false), (32, false), (32, true)]);
        assert!(chart.bars.windows(2).all(|w| w[0].x < w[1].x));
        assert!(chart.bars.iter().all(|b| b.y + b.height == CHART_HEIGHT));
    }
}
