use std::process::ExitCode;

use serde_json::json;

use super::{Context, changes};
use crate::Error;
use crate::jobs::{JobName, rename_job};

const AFTER_HELP: &str = "\
Examples:
  webstir rename-job nightly nightly_cleanup
  webstir rename-job SendDailyReports \"Send weekly reports\"   # becomes send_weekly_reports
  webstir rename-job cleanup purge --dry-run                    # show what would change

Changes the entry's `name` in package.json (every other byte stays) and moves
src/backend/jobs/<old> and build/backend/jobs/<old> to the new name. The new name follows
add-job's rules and must not be taken by another job or an existing folder. All or nothing:
if any step fails, what was done is undone. The job's code is not edited; a log line that
names the job keeps its old text until you change it.

Exit status: 0 renamed, 1 failure, 2 unknown job or invalid name. A rejected command changes
no file.";

/// Rename a backend job: its manifest entry and its folders
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The job's current name, in any form
    #[arg(value_name = "OLD", add = super::completion::job_names())]
    pub old: String,
    /// The new name; add-job's rules apply (other words are snake_cased)
    #[arg(value_name = "NEW")]
    pub new: String,
    /// Print the diff of package.json and the folders that would move; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print what was renamed as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let new = JobName::parse(&args.new).map_err(|e| Error::Usage(e.to_string()))?;
    let workspace = ctx.workspace()?;
    let renamed = rename_job(&workspace, &args.old, &new, args.dry_run)?;
    if args.json {
        let report = changes::merge(
            json!({
                "from": renamed.from,
                "to": renamed.to,
                "normalizedFrom": renamed.normalized_from,
            }),
            changes::json_members(&renamed.changes, args.dry_run),
        );
        println!("{report:#}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(given) = &renamed.normalized_from {
        println!(
            "Normalized job name `{}` to `{}`.",
            given.escape_debug(),
            renamed.to
        );
    }
    if args.dry_run {
        // The diff and file operations first, then what would happen, as remove-job does.
        changes::print_text(&renamed.changes, true);
        println!(
            "Would rename job `{}` to `{}` in package.json",
            renamed.from, renamed.to
        );
        changes::print_dry_run_footer();
    } else {
        println!(
            "Renamed job `{}` to `{}` in package.json",
            renamed.from, renamed.to
        );
        changes::print_text(&renamed.changes, false);
    }
    Ok(ExitCode::SUCCESS)
}
