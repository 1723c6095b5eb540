//! Amazon EventBridge Scheduler: a CloudFormation template with one `AWS::Scheduler::Schedule`
//! per job and schedule. AWS's cron has six fields (a year last), numbers the days of the week
//! 1-7 from Sunday, and needs `?` in one day field because it cannot combine the two.

use serde::Serialize;

use super::dialect::{Style, minute_resolution, render_values};
use super::{
    DEFAULT_CONTAINER_COMMAND, ExportError, ExportJob, ExportOptions, OutputFile, Report, Target,
    ceil_secs, one_line, yaml_str,
};
use crate::manifest::policy::Overlap;
use crate::schedule::{Cron, DayRule, FieldSpec, Schedule, ScheduleKind};

const AWS: Style = Style {
    range: "-",
    open_step: true,
};

#[derive(Serialize)]
struct Data {
    package: Option<String>,
    description: String,
    schedules: Vec<Resource>,
}

#[derive(Serialize)]
struct Resource {
    logical_id: String,
    job: String,
    source: String,
    description: String,
    expression: String,
    time_zone: String,
    window_mode: &'static str,
    window_minutes: Option<u64>,
    command: String,
}

pub fn render(
    jobs: &[ExportJob],
    options: &ExportOptions,
    report: &mut Report,
) -> Result<Vec<OutputFile>, ExportError> {
    let entry = options
        .command
        .as_deref()
        .unwrap_or(DEFAULT_CONTAINER_COMMAND);
    let mut taken: Vec<String> = Vec::new();
    let mut schedules = Vec::new();
    for job in jobs {
        let window_minutes = policies(job, report);
        for (i, schedule) in job.schedules.iter().enumerate() {
            let expression = match expression(schedule) {
                Ok(expression) => expression,
                Err(reason) => {
                    report.unsupported(job, schedule.source(), reason);
                    continue;
                }
            };
            let mut logical_id = format!("{}Schedule{}", pascal_case(&job.name), i + 1);
            while taken.contains(&logical_id) {
                logical_id.push('X');
            }
            taken.push(logical_id.clone());
            let command = serde_json::to_string(&[entry, "--job", job.name.as_str()])
                .expect("strings always serialize");
            schedules.push(Resource {
                logical_id,
                job: job.name.clone(),
                source: one_line(schedule.source()),
                description: yaml_str(&format!(
                    "webstir job {} ({})",
                    job.name,
                    one_line(schedule.source())
                )),
                expression: yaml_str(&expression),
                time_zone: yaml_str(job.tz.name()),
                window_mode: if window_minutes.is_some() {
                    "FLEXIBLE"
                } else {
                    "OFF"
                },
                window_minutes,
                command: yaml_str(&command),
            });
        }
    }
    let package = options.package_name.as_deref().map(one_line);
    let description = match &package {
        Some(name) => format!("webstir jobs of {name}"),
        None => "webstir jobs".to_owned(),
    };
    let data = Data {
        package,
        description: yaml_str(&description),
        schedules,
    };
    Ok(vec![OutputFile {
        name: "schedules.yaml".to_owned(),
        contents: crate::templates::render("export/eventbridge.yaml", &data)?,
        executable: false,
    }])
}

/// Warns about the policies EventBridge has no setting for; returns the flexible time window
/// (in minutes) that `jitter` becomes.
fn policies(job: &ExportJob, report: &mut Report) -> Option<u64> {
    let p = &job.policies;
    if p.overlap != Overlap::Allow {
        report.warn(
            job,
            "overlap",
            "EventBridge Scheduler starts a task at every fire, even while the previous one runs",
        );
    }
    if p.retry.as_ref().is_some_and(|r| r.attempts > 1) {
        report.warn(
            job,
            "retry",
            "EventBridge retries a failed RunTask call, not a task that failed",
        );
    }
    if p.catch_up.is_some() {
        report.warn(
            job,
            "catchUp",
            "EventBridge Scheduler never runs a fire it missed",
        );
    }
    // The window is whole minutes, 1 to 1440: a jitter rounds up to it.
    p.jitter
        .map(|jitter| ceil_secs(jitter).div_ceil(60).clamp(1, 1440))
}

/// The schedule as an EventBridge `cron(...)` or `rate(...)` expression.
pub fn expression(schedule: &Schedule) -> Result<String, String> {
    match schedule.kind() {
        ScheduleKind::Cron | ScheduleKind::Macro => aws_cron(
            schedule
                .cron()
                .expect("cron and macro schedules have a cron"),
        ),
        ScheduleKind::Rate => {
            let secs = schedule
                .interval()
                .expect("a rate has an interval")
                .as_secs();
            let (n, unit) = [(86_400, "day"), (3600, "hour"), (60, "minute")]
                .into_iter()
                .find(|(size, _)| secs.is_multiple_of(*size))
                .map(|(size, unit)| (secs / size, unit))
                .ok_or_else(|| "EventBridge rates are whole minutes, hours or days".to_owned())?;
            let plural = if n == 1 { "" } else { "s" };
            Ok(format!("rate({n} {unit}{plural})"))
        }
        ScheduleKind::Reboot => {
            Err("`@reboot` has no equivalent: EventBridge has no start-up event".to_owned())
        }
    }
}

fn aws_cron(cron: &Cron) -> Result<String, String> {
    minute_resolution(cron, Target::Eventbridge)?;
    let [_, minute, hour, dom, month, dow] = cron.fields();
    // Under the OR rule a day field that allows every day makes every day match.
    let every_day = match cron.day_rule() {
        DayRule::Both => dom.is_full() && dow.is_full(),
        DayRule::Either => dom.is_full() || dow.is_full(),
    };
    let (days, weekdays) = if every_day {
        ("*".to_owned(), "?".to_owned())
    } else {
        match (cron.day_rule(), dom.is_full(), dow.is_full()) {
            (DayRule::Both, false, true) => (field(dom), "?".to_owned()),
            (DayRule::Both, true, false) => ("?".to_owned(), weekdays_of(dow)),
            (DayRule::Both, ..) => {
                return Err(
                    "both day fields are restricted and must both match, and EventBridge \
                     allows only one of them"
                        .to_owned(),
                );
            }
            (DayRule::Either, ..) => {
                return Err(
                    "the job runs on the listed days of the month or the listed weekdays, and \
                     EventBridge cannot OR the two fields"
                        .to_owned(),
                );
            }
        }
    };
    Ok(format!(
        "cron({} {} {days} {} {weekdays} *)",
        field(minute),
        field(hour),
        field(month)
    ))
}

fn field(spec: &FieldSpec) -> String {
    if spec.is_full() {
        return "*".to_owned();
    }
    let (lo, hi) = spec.field.bounds();
    let values: Vec<u8> = spec.values().collect();
    render_values(&values, lo, hi, AWS, &|v| v.to_string())
}

/// Days of the week as AWS numbers them, 1 (Sunday) to 7 (Saturday); no steps.
fn weekdays_of(spec: &FieldSpec) -> String {
    let values: Vec<u8> = spec.values().map(|v| v % 7 + 1).collect();
    render_values(&values, 1, u8::MAX, AWS, &|v| v.to_string())
}

/// `send_daily_reports` → `SendDailyReports`: CloudFormation logical ids are alphanumeric.
fn pascal_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert_str(0, "Job");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(expr: &str) -> Result<String, String> {
        expression(&Schedule::parse(expr).expect("valid"))
    }

    #[test]
    fn translates_to_aws_cron() {
        assert_eq!(aws("0 9 * * MON-FRI").as_deref(), Ok("cron(0 9 ? * 2-6 *)"));
        assert_eq!(aws("@daily").as_deref(), Ok("cron(0 0 * * ? *)"));
        assert_eq!(aws("*/15 * 1 * *").as_deref(), Ok("cron(0/15 * 1 * ? *)"));
        assert_eq!(aws("0 0 * * 0,6").as_deref(), Ok("cron(0 0 ? * 1,7 *)"));
        assert_eq!(aws("0 0 1-31 * 1").as_deref(), Ok("cron(0 0 * * ? *)"));
        assert_eq!(aws("rate(90 minutes)").as_deref(), Ok("rate(90 minutes)"));
        assert_eq!(aws("rate(1 hour)").as_deref(), Ok("rate(1 hour)"));
        assert_eq!(aws("rate(120 seconds)").as_deref(), Ok("rate(2 minutes)"));
    }

    #[test]
    fn refuses_what_aws_cannot_say() {
        assert!(aws("0 0 13 * 5").is_err());
        assert!(aws("0 0 */2 * 1").is_err());
        assert!(aws("rate(30 seconds)").is_err());
        assert!(aws("@reboot").is_err());
        assert!(aws("*/5 * * * * *").is_err());
    }

    #[test]
    fn logical_ids_are_alphanumeric() {
        assert_eq!(pascal_case("send_daily_reports"), "SendDailyReports");
        assert_eq!(pascal_case("1st-run"), "Job1stRun");
    }
}
