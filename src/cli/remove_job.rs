use std::process::ExitCode;

use serde_json::json;

use super::{Context, changes};
use crate::Error;
use crate::jobs::{RemoveOptions, remove_job};

const AFTER_HELP: &str = "\
Examples:
  webstir remove-job nightly
  webstir remove-job SendDailyReports --dry-run     # show the package.json diff, change nothing
  webstir remove-job cleanup --delete-source        # also delete its source and built folders

The name matches as `scheduler --job` matches it (`SendDailyReports` finds
`send_daily_reports`). Only the entry, with the comma and line break that separate it from its
neighbour, leaves package.json; every other byte stays. src/backend/jobs/<name> and
build/backend/jobs/<name> stay unless --delete-source is given.

Exit status: 0 removed, 1 failure, 2 unknown job or invalid arguments. A rejected command
changes no file.";

/// Remove a backend job from the module manifest
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The job's name, in any form (`send_daily_reports`, `SendDailyReports`)
    #[arg(value_name = "NAME", add = super::completion::job_names())]
    pub name: String,
    /// Also delete src/backend/jobs/<name> and build/backend/jobs/<name>
    #[arg(long)]
    pub delete_source: bool,
    /// Print the diff of package.json and the files that would be deleted; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print what was removed as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    let options = RemoveOptions {
        delete_source: args.delete_source,
        dry_run: args.dry_run,
    };
    let removed = remove_job(&workspace, &args.name, options)?;
    if args.json {
        let report = changes::merge(
            json!({ "name": removed.name }),
            changes::json_members(&removed.changes, args.dry_run),
        );
        println!("{report:#}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        changes::print_text(&removed.changes, true);
        println!(
            "Would remove job `{}` from webstir.moduleManifest.jobs in package.json",
            removed.name
        );
        changes::print_dry_run_footer();
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Removed job `{}` from webstir.moduleManifest.jobs in package.json",
        removed.name
    );
    changes::print_text(&removed.changes, false);
    Ok(ExitCode::SUCCESS)
}
