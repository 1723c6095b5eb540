//! `webstir export`: write the manifest's jobs as definitions for another scheduler.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;
use crate::Error;
use crate::export::{self, ExportJob, ExportOptions, Target};
use crate::manifest::Manifest;
use crate::scheduler::{self, PlanOptions, SchedulerError};
use crate::settings::Settings;

const AFTER_HELP: &str = "\
Every definition runs a job as `scheduler --job <name>` (build/backend/jobs/scheduler, which
exits non-zero when the job fails), in the job's time zone: its `timezone`, else webstir.toml's,
else UTC, never the target's or this machine's default. A schedule the target
cannot express is an error naming the job, the schedule and the reason; nothing is written
unless every selected schedule exports, or --skip-unsupported is given.

Examples:
  webstir export --target kubernetes --image registry.example.com/app:1.4 > cronjobs.yaml
  webstir export --target systemd --out deploy/systemd
  webstir export --target crontab --job nightly
  webstir export --target eventbridge --out deploy/aws
  webstir export --target github-actions --out .github/workflows
  webstir export --target temporal --skip-unsupported > schedules.sh

Single-file targets print to stdout without --out; systemd needs --out. --out is created if
missing and written atomically (every file or none); files in it that the export does not name
are left alone. See docs/export.md for what each target translates.

Exit status: 0 exported, 1 a schedule cannot be exported or a file could not be written,
2 usage error.";

/// Write the jobs as Kubernetes CronJobs, systemd timers, a crontab, EventBridge schedules, a
/// GitHub Actions workflow, or Cloud Scheduler / Temporal commands
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Where the jobs will run
    #[arg(long, value_enum, value_name = "TARGET")]
    pub target: Target,

    /// Folder to write the files into (default: stdout, for single-file targets)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Export only this job (repeatable); `send-email`, `SendEmail` and `send_email` are the
    /// same job
    #[arg(long, value_name = "NAME")]
    pub job: Vec<String>,

    /// Export what can be exported and list the schedules left out, instead of failing
    #[arg(long)]
    pub skip_unsupported: bool,

    /// kubernetes: the container image that holds the built workspace (see docs/export.md)
    #[arg(long, value_name = "IMAGE", required_if_eq("target", "kubernetes"))]
    pub image: Option<String>,

    /// kubernetes: the namespace of the CronJobs [default: kubectl's current namespace]
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,

    /// kubernetes, eventbridge: the scheduler's path inside the image
    /// [default: /app/build/backend/jobs/scheduler]
    #[arg(long, value_name = "PATH")]
    pub command: Option<String>,

    /// systemd: user units (`systemctl --user`) instead of system units
    #[arg(long)]
    pub user: bool,

    /// Print a JSON report on stdout: {target, files: [{name, path} with --out, else {name,
    /// contents}], warnings, skipped}; warnings and skipped schedules still go to stderr too
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    target: Target,
    files: Vec<FileReport<'a>>,
    warnings: &'a [export::Warning],
    skipped: &'a [export::Unsupported],
}

#[derive(serde::Serialize)]
struct FileReport<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contents: Option<&'a str>,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    check_flags(&args)?;
    let workspace = ctx.workspace()?;
    let settings = Settings::load(&workspace)?;
    let manifest = Manifest::from_package_json(&workspace.read_package_json()?)?.require_valid()?;
    let planned = scheduler::plan(
        &manifest.jobs,
        &PlanOptions {
            default_timeout: settings.timeout,
            // The output must not depend on the machine that exports it.
            timezone: Some(settings.timezone.clone().unwrap_or_else(|| "UTC".into())),
            policies: settings.policy_defaults(),
            ..PlanOptions::default()
        },
    )?;
    let selected = if args.job.is_empty() {
        planned.iter().collect()
    } else {
        scheduler::select(&planned, &args.job).map_err(|e| match e {
            SchedulerError::JobNotFound { name, suggestion } => Error::Usage(format!(
                "--job: no job named `{name}`{}",
                suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
            )),
            other => other.into(),
        })?
    };
    if settings.timezone.is_none() {
        warn_unpinned_zones(&selected);
    }
    // A job without a schedule is only started by hand, which only GitHub's dispatch offers.
    let jobs: Vec<ExportJob> = selected
        .into_iter()
        .filter(|job| !job.schedules.is_empty() || args.target == Target::GithubActions)
        .map(ExportJob::from)
        .collect();
    let root =
        std::fs::canonicalize(workspace.root()).unwrap_or_else(|_| workspace.root().to_path_buf());
    let options = ExportOptions {
        target: args.target,
        workspace: root,
        package_name: manifest.package_name.clone(),
        image: args.image,
        namespace: args.namespace,
        command: args.command,
        user: args.user,
        skip_unsupported: args.skip_unsupported,
    };
    let result = export::export(&jobs, &options)?;
    for warning in &result.warnings {
        eprintln!("webstir: warning: {warning}");
    }
    for skipped in &result.skipped {
        eprintln!("webstir: skipped: {skipped}");
    }
    let written = match &args.out {
        Some(dir) => Some(export::write_files(dir, &result.files)?),
        None => None,
    };
    if args.json {
        let files = result
            .files
            .iter()
            .enumerate()
            .map(|(i, file)| FileReport {
                name: &file.name,
                path: written.as_ref().map(|w| w.0[i].clone()),
                contents: written.is_none().then_some(file.contents.as_str()),
            })
            .collect();
        let report = Report {
            target: args.target,
            files,
            warnings: &result.warnings,
            skipped: &result.skipped,
        };
        let text = serde_json::to_string_pretty(&report).expect("a report of strings serializes");
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    match written {
        Some(written) => {
            for path in written.0 {
                println!("wrote {}", path.display());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            for file in &result.files {
                // A closed pipe (`| head`) ends the output quietly.
                if out.write_all(file.contents.as_bytes()).is_err() {
                    break;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A job without its own zone, in a workspace whose webstir.toml names none, is exported in
/// UTC, while `webstir scheduler` fires it in the zone of the machine it runs on: say so when
/// this machine's zone is another one.
fn warn_unpinned_zones(jobs: &[&scheduler::PlannedJob]) {
    let Ok(local) = crate::schedule::resolve_timezone(None, None) else {
        return;
    };
    if local == chrono_tz::Tz::UTC {
        return;
    }
    let unpinned: Vec<&scheduler::PlannedJob> = jobs
        .iter()
        .copied()
        .filter(|job| {
            job.spec.timezone.is_none() && job.schedules.iter().any(|s| s.cron().is_some())
        })
        .collect();
    let Some(first) = unpinned.first() else {
        return;
    };
    let names: Vec<String> = unpinned
        .iter()
        .map(|j| format!("`{}`", j.spec.name))
        .collect();
    eprintln!(
        "webstir: warning: {} {} no `timezone` and webstir.toml sets none: exported in UTC, \
         while `webstir scheduler` here fires {} in `{}` (pin a zone with `webstir config set \
         timezone <zone>`)",
        if names.len() == 1 { "job" } else { "jobs" },
        names.join(", ") + if names.len() == 1 { " has" } else { " have" },
        if names.len() == 1 { "it" } else { "them" },
        local.name()
    );
    debug_assert!(first.tz == chrono_tz::Tz::UTC);
}

/// Flags that belong to another target are mistakes, not options to ignore silently.
fn check_flags(args: &Args) -> Result<(), Error> {
    let only = |set: bool, flag: &str, targets: &[Target]| {
        if set && !targets.contains(&args.target) {
            let names: Vec<&str> = targets.iter().map(|t| t.as_str()).collect();
            return Err(Error::Usage(format!(
                "{flag} applies only to --target {}",
                names.join(" or --target ")
            )));
        }
        Ok(())
    };
    only(args.image.is_some(), "--image", &[Target::Kubernetes])?;
    only(
        args.namespace.is_some(),
        "--namespace",
        &[Target::Kubernetes],
    )?;
    only(
        args.command.is_some(),
        "--command",
        &[Target::Kubernetes, Target::Eventbridge],
    )?;
    only(args.user, "--user", &[Target::Systemd])?;
    if args.out.is_none() && !args.target.is_single_file() {
        return Err(Error::Usage(format!(
            "--target {} writes several files: give --out <DIR>",
            args.target
        )));
    }
    for (flag, value) in [
        ("--image", &args.image),
        ("--namespace", &args.namespace),
        ("--command", &args.command),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::Usage(format!("{flag} must not be empty")));
        }
    }
    if let Some(ns) = &args.namespace
        && crate::export::dns_label(ns) != *ns
    {
        return Err(Error::Usage(format!(
            "--namespace `{ns}` is not a Kubernetes namespace name (lowercase letters, digits \
             and `-`, at most 63 characters, starting and ending with a letter or digit)"
        )));
    }
    Ok(())
}
