//! systemd: a `.service` that runs the job once and a `.timer` with its schedules. Cron and
//! macro schedules become `OnCalendar=` lines in the job's zone, `rate(...)` becomes
//! `OnActiveSec=` + `OnUnitActiveSec=`, and `@reboot` becomes `OnBootSec=`.

use serde::Serialize;

use super::dialect::{Style, render_values};
use super::{
    ExportError, ExportJob, ExportOptions, OutputFile, Report, ceil_secs, dns_name, one_line,
    unique_name,
};
use std::time::Duration;

use crate::manifest::policy::{Backoff, Overlap};
use crate::schedule::{Cron, DayRule, Field, FieldSpec, ScheduleKind};

const SYSTEMD: Style = Style {
    range: "..",
    open_step: true,
};

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

#[derive(Serialize)]
struct Service {
    job: String,
    timer: String,
    description: String,
    working_directory: String,
    exec_start: String,
    runtime_max: Option<u64>,
    retry: Option<Retry>,
}

#[derive(Serialize)]
struct Retry {
    burst: u32,
    window: u64,
    delay: u64,
}

#[derive(Serialize)]
struct Timer {
    job: String,
    service: String,
    sources: Vec<String>,
    lines: Vec<String>,
}

pub fn render(
    jobs: &[ExportJob],
    options: &ExportOptions,
    report: &mut Report,
) -> Result<Vec<OutputFile>, ExportError> {
    let prefix = options.name_prefix();
    let root = options.workspace.to_string_lossy().into_owned();
    let scheduler = options
        .workspace
        .join("build/backend/jobs/scheduler")
        .to_string_lossy()
        .into_owned();
    let mut taken = Vec::new();
    let mut files = Vec::new();
    for job in jobs {
        let mut lines = Vec::new();
        let mut sources = Vec::new();
        for schedule in &job.schedules {
            let translated = match schedule.kind() {
                ScheduleKind::Cron | ScheduleKind::Macro => on_calendar(
                    schedule
                        .cron()
                        .expect("cron and macro schedules have a cron"),
                    job.tz.name(),
                ),
                ScheduleKind::Rate => {
                    let secs = ceil_secs(schedule.interval().expect("a rate has an interval"));
                    vec![
                        format!("OnActiveSec={secs}s"),
                        format!("OnUnitActiveSec={secs}s"),
                    ]
                }
                // A user manager starts at login, not at boot: its start-up is its "reboot".
                ScheduleKind::Reboot if options.user => vec!["OnStartupSec=0".to_owned()],
                ScheduleKind::Reboot => vec!["OnBootSec=0".to_owned()],
            };
            sources.push(one_line(schedule.source()));
            lines.extend(translated);
        }
        let retry = policies(job, report, &mut lines);
        let unit = unique_name(
            format!("{prefix}-{}", dns_name(&job.name, 200)),
            &mut taken,
            200,
        );
        let service = format!("{unit}.service");
        let timer = format!("{unit}.timer");
        let description = match &job.description {
            Some(text) => format!("webstir job {}: {}", job.name, one_line(text)),
            None => format!("webstir job {}", job.name),
        };
        let data = Service {
            job: job.name.clone(),
            timer: timer.clone(),
            description: escape_specifiers(&description),
            working_directory: escape_specifiers(&root),
            // `Restart=on-failure` retries; the scheduler inside must not retry again.
            exec_start: format!(
                "{} --job {}{}",
                exec_word(&scheduler),
                exec_word(&job.name),
                if retry.is_some() { " --no-retry" } else { "" }
            ),
            runtime_max: job.timeout.map(ceil_secs),
            retry,
        };
        files.push(OutputFile {
            name: service.clone(),
            contents: crate::templates::render("export/systemd.service", &data)?,
            executable: false,
        });
        let data = Timer {
            job: job.name.clone(),
            service,
            sources,
            lines,
        };
        files.push(OutputFile {
            name: timer,
            contents: crate::templates::render("export/systemd.timer", &data)?,
            executable: false,
        });
    }
    Ok(files)
}

/// A run without a timeout is assumed to take at most this long when the retry window is
/// sized; a longer run lets the window pass and allows more attempts, never fewer.
const ASSUMED_RUN: Duration = Duration::from_secs(3600);

/// Adds the timer lines of a job's policies and returns the service's retry settings.
fn policies(job: &ExportJob, report: &mut Report, lines: &mut Vec<String>) -> Option<Retry> {
    let p = &job.policies;
    if p.overlap != Overlap::Skip {
        report.warn(
            job,
            "overlap",
            "a timer never starts a unit that is still running, so a fire during a run is \
             skipped",
        );
    }
    if let Some(jitter) = p.jitter {
        lines.push(format!("RandomizedDelaySec={}s", ceil_secs(jitter)));
    }
    let has_calendar = lines.iter().any(|l| l.starts_with("OnCalendar="));
    if let Some(window) = p.catch_up
        && has_calendar
    {
        lines.push("Persistent=true".to_owned());
        report.warn(
            job,
            "catchUp",
            &format!(
                "`Persistent=true` runs a missed fire however late it is; the {} window is \
                 not exported",
                humantime::format_duration(window)
            ),
        );
    }
    let retry = p.retry.as_ref()?;
    if retry.attempts < 2 {
        return None;
    }
    if retry.backoff == Backoff::Exponential && retry.attempts > 2 {
        report.warn(
            job,
            "retry",
            &format!(
                "systemd restarts after a fixed `RestartSec=`: exponential backoff is exported \
                 as a fixed {}",
                humantime::format_duration(retry.delay)
            ),
        );
    }
    // The start limit must cover every attempt of one run, or systemd stops counting early.
    let delays: Duration = (1..retry.attempts).map(|n| retry.delay_after(n)).sum();
    let runs = job.timeout.unwrap_or(ASSUMED_RUN) * retry.attempts;
    Some(Retry {
        burst: retry.attempts,
        window: ceil_secs(delays + runs),
        delay: ceil_secs(retry.delay),
    })
}

/// The `OnCalendar=` lines of a cron. systemd ANDs a weekday with the date, which is Vixie's
/// rule when a day field starts with `*`; when both are restricted Vixie ORs them, so the
/// days of the month and the weekdays become two lines, which a timer fires on either of.
pub fn on_calendar(cron: &Cron, zone: &str) -> Vec<String> {
    let [second, minute, hour, dom, month, dow] = cron.fields();
    let time = format!("{}:{}:{}", field(hour), field(minute), field(second));
    let line = |weekdays: Option<String>, days: String| {
        let prefix = weekdays.map(|w| format!("{w} ")).unwrap_or_default();
        format!("OnCalendar={prefix}*-{}-{days} {time} {zone}", field(month))
    };
    match cron.day_rule() {
        DayRule::Both => {
            let weekdays = (!dow.is_full()).then(|| weekday_list(dow));
            vec![line(weekdays, field(dom))]
        }
        DayRule::Either => vec![
            line(None, numbers(dom)),
            line(Some(weekday_list(dow)), "*".to_owned()),
        ],
    }
}

fn field(spec: &FieldSpec) -> String {
    if spec.is_full() {
        "*".to_owned()
    } else {
        numbers(spec)
    }
}

fn numbers(spec: &FieldSpec) -> String {
    let (lo, hi) = spec.field.bounds();
    let values: Vec<u8> = spec.values().collect();
    render_values(&values, lo, hi, SYSTEMD, &|v| v.to_string())
}

/// Weekdays as systemd names them; runs as `Mon..Fri`. systemd has no weekday steps.
fn weekday_list(spec: &FieldSpec) -> String {
    debug_assert_eq!(spec.field, Field::DayOfWeek);
    let values: Vec<u8> = spec.values().collect();
    let no_steps = Style {
        range: "..",
        open_step: true,
    };
    // A progression never reaches here as `a/n`: with hi = 255 no step runs to the end.
    render_values(&values, 0, u8::MAX, no_steps, &|v| {
        WEEKDAYS[usize::from(v % 7)].to_owned()
    })
}

/// `%` starts a specifier in unit files; `%%` is a literal percent sign.
fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// One word of `ExecStart=`: quoted when it has spaces or quotes, with `$` and `%` escaped.
fn exec_word(text: &str) -> String {
    let escaped = escape_specifiers(text).replace('$', "$$");
    if escaped
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\')
    {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(expr: &str) -> Vec<String> {
        let cron = Cron::parse(expr).expect("valid");
        on_calendar(&cron, "UTC")
    }

    #[test]
    fn translates_fields() {
        assert_eq!(
            calendar("*/15 9-17 * * MON-FRI"),
            ["OnCalendar=Mon..Fri *-*-* 9..17:0/15:0 UTC"]
        );
        assert_eq!(
            calendar("0 0 13 * 5"),
            [
                "OnCalendar=*-*-13 0:0:0 UTC",
                "OnCalendar=Fri *-*-* 0:0:0 UTC"
            ]
        );
        assert_eq!(
            calendar("0 0 * * 1/2"),
            ["OnCalendar=Sun,Mon,Wed,Fri *-*-* 0:0:0 UTC"]
        );
        assert_eq!(
            calendar("*/10 * * * * *"),
            ["OnCalendar=*-*-* *:*:0/10 UTC"]
        );
    }

    #[test]
    fn exec_words_are_quoted_and_escaped() {
        assert_eq!(exec_word("/srv/app"), "/srv/app");
        assert_eq!(exec_word("/srv/my app"), "\"/srv/my app\"");
        assert_eq!(exec_word("/srv/100%$"), "/srv/100%%$$");
    }
}
