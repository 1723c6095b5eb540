//! `webstir scheduler` (and the binary run under the name `scheduler`): list the manifest's
//! jobs, run them once, or watch their schedules.

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;

use super::Context;
use crate::Error;
use crate::manifest::{Manifest, policy};
use crate::scheduler::{self, Log, Mode, PlanOptions, PlannedJob, SchedulerError};
use crate::settings::{self, LogFormat, Settings};
use crate::workspace::Workspace;

/// The help epilogue, with examples spelled for the program name it is shown under.
macro_rules! after_help {
    ($program:literal) => {
        concat!(
            "Jobs are the built modules build/backend/jobs/<name>/index.js (or .mjs); each run is a
Node.js child process in its own process group, with the real environment, then .env.local,
then .env (real variables win), plus WEBSTIR_JOB, WEBSTIR_SCHEDULE, WEBSTIR_FIRE_TIME (the due
time of the fire), WEBSTIR_ATTEMPT and, per tenant, WEBSTIR_TENANT_ID. Defaults for --node,
--grace, --timeout, --log-format and --timezone can be set in webstir.toml (see `webstir
config`); flags win. Each job's overlap, retry, jitter and catchUp policies (in the manifest or
webstir.toml) are followed: see docs/policies.md. `--runner worker` (or a job's `\"runner\":
\"worker\"`) runs jobs in warm worker processes instead of a process per run.

Examples:
  ",
            $program,
            " --list
  ",
            $program,
            " --job send-email -- a@b.c Welcome
  ",
            $program,
            " --all --timeout 5m
  ",
            $program,
            " --watch --log-format json
  ",
            $program,
            " --watch --http 127.0.0.1:9090      (metrics, health, status page)
  ",
            $program,
            " --watch --store postgres://webstir@db/jobs   (replicas: one run per fire)
  ",
            $program,
            " --job nightly --tenants acme,globex
  ",
            $program,
            " --history --failed --limit 5     (recent failed runs)

Exit status: 0 success, 1 a job failed or could not run, 2 usage error."
        )
    };
}

/// Run the workspace's backend jobs: list them, run them once, or watch their schedules.
#[derive(Debug, clap::Args)]
#[command(after_help = after_help!("webstir scheduler"))]
pub struct Args {
    /// List the jobs: `- <name> (<schedule>|manual) — <description>` and the next run time
    #[arg(long, conflicts_with_all = ["job", "all", "watch"])]
    pub list: bool,

    /// Print the jobs' metadata as a JSON array (name, schedule, description, priority,
    /// timezone, timeout, tenants, nextRun); `--list --json` is the same. With --history, the
    /// runs as a JSON array
    #[arg(long, conflicts_with_all = ["all", "watch"])]
    pub json: bool,

    /// Run this job once (repeatable); `send-email`, `SendEmail` and `send_email` are the same
    /// job. With --watch, watch only this job
    #[arg(long, value_name = "NAME", add = super::completion::job_names())]
    pub job: Vec<String>,

    /// Run every job once, in manifest order (what the scheduler does with no flag)
    #[arg(long, conflicts_with_all = ["job", "watch"])]
    pub all: bool,

    /// Keep running and fire each job on its schedules until SIGINT or SIGTERM, following
    /// changes to package.json (SIGHUP forces a re-read)
    #[arg(long)]
    pub watch: bool,

    /// Run each job once per tenant, with WEBSTIR_TENANT_ID set (replaces the manifest's
    /// `tenants`)
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = parse_tenant)]
    pub tenants: Option<Vec<String>>,

    /// Kill a run (its whole process group) that takes longer than this, e.g. 30s or 5m
    /// [default: the job's `timeout`, else webstir.toml's, else none]
    #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
    pub timeout: Option<Duration>,

    /// Make one attempt per run whatever the jobs' `retry` says: for platforms that retry a
    /// failed run themselves (`webstir export` adds it where the target does)
    #[arg(long)]
    pub no_retry: bool,

    /// After SIGINT/SIGTERM, how long running jobs get between SIGTERM and SIGKILL
    /// [default: webstir.toml's `grace`, else 10s]
    #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
    pub grace: Option<Duration>,

    /// How to run jobs: `process` (a new Node process per run) or `worker` (warm worker
    /// processes that import each job once) [default: the job's `runner`, else webstir.toml's
    /// `runner`, else process]
    #[arg(long, value_name = "RUNNER", value_enum)]
    pub runner: Option<policy::RunnerKind>,

    /// Node.js executable to run jobs with [default: webstir.toml's `node`, else `node`]
    #[arg(long, value_name = "PATH", env = "WEBSTIR_NODE")]
    pub node: Option<String>,

    /// Log format: `text` lines, or one JSON object per event [default: webstir.toml's
    /// `log-format`, else text]
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Time zone of schedules whose job has no `timezone` [default: webstir.toml's
    /// `timezone`, else TZ, else the system zone]
    #[arg(long, value_name = "IANA", value_parser = parse_timezone)]
    pub timezone: Option<String>,

    /// With --watch: serve /metrics (Prometheus), /healthz, a status page at / and a JSON API
    /// on this address, e.g. 127.0.0.1:9090, or a port alone (binds 127.0.0.1). A non-loopback
    /// address needs --http-token
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_http)]
    pub http: Option<SocketAddr>,

    /// Bearer token for `POST /jobs/<name>/run` (manual runs); also what allows a
    /// non-loopback --http address
    #[arg(
        long,
        value_name = "TOKEN",
        env = "WEBSTIR_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub http_token: Option<String>,

    // Run history: --history, --limit, --failed, --no-history.
    /// Print the recent runs recorded in the run history, newest first: started, job, tenant,
    /// schedule, due time, attempt, duration, outcome, error. With --job, that job's runs
    #[arg(long, conflicts_with_all = ["list", "all", "watch"])]
    pub history: bool,

    /// With --history: how many runs to print [default: 20]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// With --history: only runs that failed, timed out, were killed or were lost
    #[arg(long)]
    pub failed: bool,

    /// Record no run history for these runs (the history is kept in .webstir/state.db, up to
    /// webstir.toml's `history-limit` runs per job)
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,
    /// Where runs are recorded and fires claimed: `sqlite` (.webstir/state.db), or a
    /// PostgreSQL URL (`postgres://user:password@host:5432/db?sslmode=require`) that several
    /// watchers share, each due fire then running on exactly one of them [default:
    /// webstir.toml's `store`, else sqlite]
    #[arg(
        long,
        value_name = "URL",
        env = "WEBSTIR_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,

    /// Arguments for the job's `run()` (after `--`; needs --job)
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `scheduler`: the same command as `webstir scheduler`, as a program of its own.
#[derive(Debug, Parser)]
#[command(
    name = "scheduler",
    version,
    after_help = after_help!("scheduler"),
    about = "Run this workspace's backend jobs: list them, run them once, or watch their schedules."
)]
struct SchedulerCli {
    /// Workspace folder [default: the workspace this scheduler was built into, else the
    /// nearest ancestor of the current folder whose package.json has a `webstir` object]
    #[arg(long, env = "WEBSTIR_WORKSPACE", value_name = "DIR")]
    workspace: Option<PathBuf>,

    #[command(flatten)]
    args: Args,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    execute_in(args, &workspace)
}

/// Entry point when the binary runs under the name `scheduler`.
pub fn main_as_scheduler(argv: Vec<OsString>) -> ExitCode {
    // First, while this process has a single thread.
    if let Err(gone) = scheduler::shim_parent::die_with_shim() {
        eprintln!("scheduler: error: {gone}");
        return ExitCode::from(1);
    }
    let cli = match SchedulerCli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return super::clap_exit(e),
    };
    let result = locate_for_scheduler(cli.workspace.as_deref())
        .and_then(|workspace| execute_in(cli.args, &workspace));
    match result {
        Ok(code) => code,
        Err(e) => {
            if !matches!(e, Error::Reported) {
                eprintln!("scheduler: error: {e}");
            }
            e.exit_code()
        }
    }
}

/// `--workspace`/`WEBSTIR_WORKSPACE`, then the workspace whose `build/backend/jobs/` holds
/// this executable, then the current folder and its ancestors.
fn locate_for_scheduler(flag: Option<&Path>) -> Result<Workspace, Error> {
    if flag.is_some() {
        return Ok(Workspace::locate(flag)?);
    }
    if let Some(root) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(root_of_installed_scheduler)
        && let Ok(workspace) = Workspace::locate(Some(&root))
    {
        return Ok(workspace);
    }
    Ok(Workspace::locate(None)?)
}

/// `<root>/build/backend/jobs/scheduler` → `<root>`.
fn root_of_installed_scheduler(exe: &Path) -> Option<PathBuf> {
    let jobs = exe.parent()?;
    let backend = jobs.parent()?;
    let build = backend.parent()?;
    let names = [jobs, backend, build].map(|p| p.file_name().and_then(|n| n.to_str()));
    (names == [Some("jobs"), Some("backend"), Some("build")])
        .then(|| build.parent().map(Path::to_path_buf))
        .flatten()
}

fn execute_in(args: Args, workspace: &Workspace) -> Result<ExitCode, Error> {
    if !args.args.is_empty() && (args.job.is_empty() || args.watch) {
        return Err(Error::Usage(
            "arguments after `--` are passed to a job's `run()` and need --job <name> (without --watch)"
                .into(),
        ));
    }
    // clap's `requires` counts a flag's default `false` as given.
    if !args.history && (args.limit.is_some() || args.failed) {
        return Err(Error::Usage(
            "--limit and --failed choose which runs --history prints and need --history".into(),
        ));
    }
    if args.json && !args.history && !args.job.is_empty() {
        return Err(Error::Usage(
            "--json prints the job list (or, with --history, the runs) and cannot be used with --job alone".into(),
        ));
    }
    if args.history && args.job.len() > 1 {
        return Err(Error::Usage(
            "--history shows one job's runs (--job NAME once) or every job's".into(),
        ));
    }
    if let Some(ids) = &args.tenants {
        policy::check_tenant_list(ids)
            .map_err(|reason| Error::Usage(format!("--tenants: {reason}")))?;
    }
    let http = match args.http {
        // clap's `requires` counts the flag's default `false` as given.
        Some(_) if !args.watch => {
            return Err(Error::Usage(
                "--http serves while watching and needs --watch".into(),
            ));
        }
        Some(addr) => Some(
            crate::http::HttpConfig::new(addr, args.http_token.clone())
                .map_err(|e| Error::Usage(format!("--http: {e}")))?,
        ),
        None => None,
    };
    let settings = Settings::load(workspace)?;
    let store =
        crate::store::StoreLocation::resolve(args.store.as_deref(), settings.store.as_deref())
            .map_err(|e| Error::Usage(format!("--store: {e}")))?;
    let log = Log::new(args.log_format.or(settings.log_format).unwrap_or_default());
    let manifest =
        Manifest::jobs_from_package_json(&workspace.located_package_json()?)?.require_valid()?;
    let plan_options = PlanOptions {
        timeout_override: args.timeout,
        default_timeout: settings.timeout,
        timezone: args.timezone.clone().or(settings.timezone.clone()),
        tenants: args.tenants.clone(),
        policies: settings.policy_defaults(),
        no_retry: args.no_retry,
        runner_override: args.runner,
    };
    let jobs = scheduler::plan_jobs(manifest.jobs, &plan_options)?;

    if args.history {
        return print_history(&args, &jobs, workspace, &store);
    }
    // `--list --json` asks for the list as JSON, which is what `--json` prints.
    if args.json {
        let entries = scheduler::entries(&jobs, Utc::now());
        let text =
            serde_json::to_string_pretty(&entries).expect("list entries are plain JSON data");
        print_lines([text]);
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        log.no_jobs();
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        // Buffered: stdout flushes at every line. Stops quietly at a closed pipe, as
        // `print_lines` does.
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let _ =
            scheduler::list::write_lines(&mut out, &jobs, Utc::now()).and_then(|()| out.flush());
        // The process ends here: freeing thousands of jobs one by one would only cost time.
        std::mem::forget(jobs);
        return Ok(ExitCode::SUCCESS);
    }

    let selected: Vec<PlannedJob> = if args.job.is_empty() {
        jobs
    } else {
        match scheduler::select(&jobs, &args.job) {
            Ok(found) => found.into_iter().cloned().collect(),
            Err(SchedulerError::JobNotFound { name, suggestion }) => {
                log.not_found(&name, suggestion.as_deref());
                return Err(Error::Reported);
            }
            Err(bad @ SchedulerError::NotAJobName { .. }) => {
                return Err(Error::Usage(bad.to_string()));
            }
            Err(other) => return Err(other.into()),
        }
    };
    let workers = settings.worker_pool();
    let options = scheduler::Options {
        node: args
            .node
            .or(settings.node)
            .unwrap_or_else(|| "node".into())
            .into(),
        grace: args
            .grace
            .or(settings.grace)
            .unwrap_or(settings::DEFAULT_GRACE),
        http,
        workers,
        history_limit: (!args.no_history).then(|| {
            settings
                .history_limit
                .unwrap_or(crate::store::DEFAULT_HISTORY_LIMIT)
        }),
        store,
    };
    let mode = if args.watch {
        // A re-read plans the way this start did, with the same flags and settings.
        Mode::Watch {
            follow: Some(Box::new(scheduler::reload::Source {
                root: workspace.root().to_path_buf(),
                options: plan_options,
                only: args.job.clone(),
            })),
        }
    } else {
        Mode::Once { args: args.args }
    };
    let summary = scheduler::run(workspace, selected, mode, &options, log)?;
    Ok(if summary.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--history`: the recent runs, as a table or (`--json`) an array.
fn print_history(
    args: &Args,
    jobs: &[PlannedJob],
    workspace: &Workspace,
    store: &crate::store::StoreLocation,
) -> Result<ExitCode, Error> {
    use scheduler::history::{self, HistoryEntry};
    let root = workspace.root();
    let job = match args.job.first() {
        Some(name) => Some(history::resolve_job(jobs, name, root, store)?),
        None => None,
    };
    let query = crate::store::HistoryQuery {
        job,
        limit: args.limit.map_or(history::DEFAULT_LIMIT, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        }),
        failed_only: args.failed,
    };
    let runs = history::read(root, store, &query).map_err(SchedulerError::History)?;
    let entries: Vec<HistoryEntry> = runs.iter().map(HistoryEntry::of).collect();
    if args.json {
        let text = serde_json::to_string_pretty(&entries).expect("history entries are plain data");
        print_lines([text]);
    } else if entries.is_empty() {
        print_lines(["no runs recorded".to_owned()]);
    } else {
        print_lines(history::table(&entries));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints to stdout, stopping quietly at a closed pipe (`scheduler --list | head -1`): the
/// installed scheduler keeps SIGPIPE ignored, so a write error is how it learns.
fn print_lines(lines: impl IntoIterator<Item = String>) {
    // Buffered: stdout flushes at every line, and a list of thousands of jobs would be as many
    // writes.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// One id of `--tenants`, by the rule manifest tenants follow (white space around an id typed
/// after a comma is forgiven).
fn parse_tenant(raw: &str) -> Result<String, String> {
    let tenant = raw.trim();
    policy::check_tenant_id(tenant)
        .map_err(|reason| format!("{reason} (example: --tenants acme,globex)"))?;
    Ok(tenant.to_owned())
}

fn parse_http(raw: &str) -> Result<SocketAddr, String> {
    crate::http::parse_addr(raw).map_err(|e| e.to_string())
}

fn parse_timezone(raw: &str) -> Result<String, String> {
    crate::schedule::parse_timezone(raw)
        .map(|_| raw.to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_root_of_an_installed_scheduler() {
        assert_eq!(
            root_of_installed_scheduler(Path::new("/srv/app/build/backend/jobs/scheduler")),
            Some(PathBuf::from("/srv/app"))
        );
        assert_eq!(
            root_of_installed_scheduler(Path::new("/usr/local/bin/scheduler")),
            None
        );
    }
}
