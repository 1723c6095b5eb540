//! `webstir schedule`: explain a schedule and list its next fire times.

use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;

use super::Context;
use crate::Error;
use crate::schedule::{LAST_YEAR, Schedule, format_instant, resolve_timezone};

const AFTER_HELP: &str = "\
Examples:
  webstir schedule \"*/15 9-17 * * MON-FRI\" --timezone Europe/London
  webstir schedule \"30 2 * * *\" --timezone America/New_York --from 2026-03-07T00:00:00-05:00
  webstir schedule @daily --count 3 --json
  webstir schedule \"rate(90 minutes)\"

The zone is --timezone, else TZ, else the system zone. See docs/schedules.md for the syntax and
the daylight-saving rules.

Exit status: 0 success, 2 invalid schedule, time zone, --from or --count.";

/// Explain a schedule in plain English and list its next fire times
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// A cron expression (5 fields, or 6 with leading seconds), a macro such as `@daily`, or
    /// `rate(N unit)`
    #[arg(value_name = "EXPR", allow_hyphen_values = true)]
    pub expr: String,

    /// List fire times strictly after this instant, in RFC 3339 (default: now)
    #[arg(long, value_name = "RFC3339", value_parser = parse_from)]
    pub from: Option<DateTime<FixedOffset>>,

    /// How many fire times to list (1-1000)
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub count: u16,

    /// IANA time zone to evaluate the schedule in, e.g. `Europe/London`
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

fn parse_from(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("{e}; expected an RFC 3339 time with an offset, such as 2026-03-08T09:30:00Z")
    })
}

#[derive(serde::Serialize)]
struct Report {
    schedule: String,
    kind: &'static str,
    description: String,
    timezone: &'static str,
    next: Vec<String>,
}

pub fn execute(args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    let schedule = Schedule::parse(&args.expr)
        .map_err(|e| Error::Usage(format!("invalid schedule `{}`: {e}", args.expr)))?;
    let tz = zone(args.timezone.as_deref())?;
    let from = args.from.map_or_else(Utc::now, |at| at.with_timezone(&Utc));
    let next: Vec<String> = schedule
        .upcoming(from, tz)
        .take(usize::from(args.count))
        .map(|at| format_instant(&at))
        .collect();
    let report = Report {
        schedule: schedule.source().to_owned(),
        kind: schedule.kind().as_str(),
        description: schedule.describe(),
        timezone: tz.name(),
        next,
    };
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).expect("a report of strings always serializes");
        println!("{text}");
    } else {
        print!(
            "{}",
            render_text(&report, from, tz, usize::from(args.count))
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The zone from `--timezone`, else `TZ`, else the system zone; a bad name is a usage error
/// that says where it came from (an error about `TZ` already does).
fn zone(flag: Option<&str>) -> Result<Tz, Error> {
    resolve_timezone(None, flag).map_err(|e| match flag {
        Some(_) => Error::Usage(format!("--timezone: {e}")),
        None => Error::Usage(e.to_string()),
    })
}

fn render_text(report: &Report, from: DateTime<Utc>, tz: Tz, count: usize) -> String {
    let from = format_instant(&from.with_timezone(&tz));
    let mut out = format!(
        "Schedule:    {} ({})\nMeaning:     {}\nTime zone:   {}\n",
        report.schedule, report.kind, report.description, report.timezone
    );
    if report.kind == "reboot" {
        out.push_str("Next:        none (runs once when the scheduler starts)\n");
        return out;
    }
    if !report.next.is_empty() {
        out.push_str(&format!("Next {} after {from}:\n", report.next.len()));
        for at in &report.next {
            out.push_str(&format!("  {at}\n"));
        }
    }
    // Only the end of the calendar stops a schedule that is not `@reboot` early.
    if report.next.len() < count {
        let lead = if report.next.is_empty() {
            "Next:        none:"
        } else {
            "No more fire times:"
        };
        out.push_str(&format!(
            "{lead} they end with the year {LAST_YEAR} (RFC 3339 years have four digits)\n"
        ));
    }
    out
}
