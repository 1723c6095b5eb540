use std::process::ExitCode;

use serde_json::json;

use super::{Context, changes};
use crate::Error;
use crate::jobs::{NewJob, add_job_with};

const AFTER_HELP: &str = "\
Examples:
  webstir add-job cleanup
  webstir add-job nightly --schedule \"0 0 * * *\" --description \"Nightly maintenance window\" --priority 5
  webstir add-job \"Send daily reports\" --schedule @daily --timezone Europe/London
  webstir add-job sync --schedule \"rate(15 minutes)\" --schedule @reboot --priority high
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
