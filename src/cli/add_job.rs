use std::process::ExitCode;

use serde_json::json;

use super::{Context, changes};
use crate::Error;
use crate::jobs::{NewJob, PolicyFlags, add_job_with};
use crate::manifest::policy::{Backoff, Overlap};

const AFTER_HELP: &str = "\
Examples:
  webstir add-job cleanup
  webstir add-job nightly --schedule \"0 0 * * *\" --description \"Nightly maintenance window\" --priority 5
  webstir add-job \"Send daily reports\" --schedule @daily --timezone Europe/London
  webstir add-job sync --schedule \"rate(15 minutes)\" --schedule @reboot --priority high
  webstir add-job billing --schedule @hourly --retry 3 --retry-delay 30s --overlap queue --jitter 30s
  webstir add-job nightly --schedule \"0 2 * * *\" --catch-up 6h --timeout 30m --tenants dynamic
  webstir add-job cleanup --schedule @daily --dry-run    # show the diff, change nothing

Names made of a-z, 0-9, `_` and `-` (starting with a letter or digit, at most 64 characters)
are kept as typed; other words are snake_cased (`SendDailyReports` becomes
`send_daily_reports`). Schedules are validated and stored exactly as typed.

Exit status: 0 added, 1 failure, 2 invalid arguments. A rejected command changes no file.";

/// Scaffold a backend job and record it in the module manifest
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Job name; the job's code goes in src/backend/jobs/<name>/index.ts
    pub name: String,
    /// When the job runs: a cron expression (`0 0 * * *`), a macro (`@daily`, `@reboot`) or
    /// `rate(N unit)`; repeat for several schedules
    #[arg(long = "schedule", value_name = "SCHEDULE")]
    pub schedules: Vec<String>,
    /// What the job does
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// An integer (`5`, `-3`), stored as a number, or a label (`high`), stored as text
    #[arg(long, value_name = "PRIORITY", allow_negative_numbers = true)]
    pub priority: Option<String>,
    /// IANA time zone the schedules are evaluated in (`Europe/London`)
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Stop a run that takes longer than this (`30s`, `5m`, `1h 30m`, or seconds)
    #[arg(long, value_name = "DURATION", help_heading = "Policies")]
    pub timeout: Option<String>,
    /// When the job is due while it still runs: skip the fire, allow a second run, queue one
    /// run for after this one, or replace the running one [default: skip]
    #[arg(long, value_name = "POLICY", value_enum, help_heading = "Policies")]
    pub overlap: Option<Overlap>,
    /// Attempts a failing run makes in all, the first included (`3`: two retries)
    #[arg(long, value_name = "ATTEMPTS", help_heading = "Policies")]
    pub retry: Option<u32>,
    /// Wait before the second attempt [default: 10s]
    #[arg(long, value_name = "DURATION", help_heading = "Policies")]
    pub retry_delay: Option<String>,
    /// How the wait grows between attempts [default: exponential]
    #[arg(long, value_name = "BACKOFF", value_enum, help_heading = "Policies")]
    pub retry_backoff: Option<Backoff>,
    /// Longest wait between two attempts
    #[arg(long, value_name = "DURATION", help_heading = "Policies")]
    pub retry_max_delay: Option<String>,
    /// Delay each scheduled fire by a random 0 up to this duration (`30s`)
    #[arg(long, value_name = "DURATION", help_heading = "Policies")]
    pub jitter: Option<String>,
    /// Run once on start for the latest fire missed while the watcher was stopped, if within
    /// this window (`6h`), or `none` [default: none]
    #[arg(long, value_name = "WINDOW", help_heading = "Policies")]
    pub catch_up: Option<String>,
    /// Run once per tenant: ids separated by commas, or `dynamic` for the tenant provider
    /// src/backend/tenants.ts
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        help_heading = "Policies"
    )]
    pub tenants: Option<Vec<String>>,
    /// How many of the job's tenant runs may run at once [default: 1]
    #[arg(long, value_name = "N", help_heading = "Policies")]
    pub tenant_concurrency: Option<u64>,
    /// Print the diff of package.json and the files that would be created; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print what was added as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let job = NewJob::new(
        &args.name,
        args.schedules,
        args.description,
        args.priority.as_deref(),
        args.timezone,
    )
    .and_then(|job| {
        job.with_policies(&PolicyFlags {
            timeout: args.timeout,
            overlap: args.overlap,
            retry: args.retry,
            retry_delay: args.retry_delay,
            retry_backoff: args.retry_backoff,
            retry_max_delay: args.retry_max_delay,
            jitter: args.jitter,
            catch_up: args.catch_up,
            tenants: args.tenants,
            tenant_concurrency: args.tenant_concurrency,
        })
    })
    .map_err(|e| Error::Usage(e.to_string()))?;
    let workspace = ctx.workspace()?;
    let (added, changed) = add_job_with(&workspace, &job, args.dry_run)?;

    if args.json {
        let mut report = json!({
            "name": added.name,
            "normalizedFrom": added.normalized_from,
            "source": added.source,
            "entry": added.entry,
        });
        if args.dry_run {
            report = changes::merge(report, changes::json_members(&changed, true));
        }
        println!("{report:#}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        changes::print_text(&changed, true);
        println!(
            "Would add job `{}` to webstir.moduleManifest.jobs in package.json",
            added.name
        );
        changes::print_dry_run_footer();
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(given) = &added.normalized_from {
        println!(
            "Normalized job name `{}` to `{}`.",
            given.escape_debug(),
            added.name
        );
    }
    println!("Created {}", added.source.display());
    println!(
        "Added job `{}` to webstir.moduleManifest.jobs in package.json",
        added.name
    );
    Ok(ExitCode::SUCCESS)
}
