//! `webstir export`: golden files per target, the targets' own validators on what is written
//! (installed by scripts/test; a missing validator fails the test), and translation checks
//! that compare the exported schedules' fire times with `webstir schedule`'s.

mod scheduler_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use scheduler_support::Ws;

/// Every form the targets translate: zones from the job, from webstir.toml and UTC; cron,
/// macros, 6-field, rate, @reboot, a day-field OR, and a job without a schedule.
const JOBS: &str = r#"[
      { "name": "send_daily_reports", "schedule": "0 9 * * MON-FRI", "timezone": "Europe/London", "timeout": "5m", "description": "Mail the daily reports" },
      { "name": "cleanup", "schedule": ["*/15 * * * *", "@daily"] },
      { "name": "tokyo_digest", "schedule": "30 8 * * 1-5", "timezone": "Asia/Tokyo", "timeout": "90s" },
      { "name": "thirteenth", "schedule": "0 0 13 * 5", "timezone": "UTC" },
      { "name": "heartbeat", "schedule": "rate(5 minutes)", "timezone": "UTC" },
      { "name": "warmup", "schedule": "@reboot" },
      { "name": "ticker", "schedule": "*/20 * * * * *", "timezone": "UTC" },
      { "name": "manual" }
    ]"#;

const BASE: &str = "2026-01-05T00:00:00Z";

fn workspace(jobs: &str) -> Ws {
    let ws = Ws::new(jobs);
    ws.file("webstir.toml", "timezone = \"America/New_York\"\n");
    ws
}

fn export(ws: &Ws, args: &[&str]) -> Output {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    ws.webstir(&all).output().expect("run webstir export")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "export failed ({:?}): {}",
        output.status.code(),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Output with the temp workspace's path replaced, so that golden files are stable.
fn normalized(ws: &Ws, output: &str) -> String {
    let root = ws.root().canonicalize().expect("canonical root");
    output.replace(&*root.to_string_lossy(), "/WORKSPACE")
}

/// Compares with tests/golden/export/<name>; `UPDATE_GOLDEN=1` rewrites the file instead.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/export")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual,
        expected,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

/// Runs a validator that scripts/test installs; its absence is a failure, not a skip.
fn validator(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env("TZ", "UTC");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output().unwrap_or_else(|e| {
        panic!("`{program}` is needed by this test (scripts/test installs it): {e}")
    })
}

fn assert_valid(program: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{program} rejected the export:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Golden files, one per target

#[test]
fn kubernetes_golden() {
    let ws = workspace(JOBS);
    let out = export(
        &ws,
        &[
            "--target",
            "kubernetes",
            "--image",
            "registry.example.com/demo:1.4",
            "--namespace",
            "jobs",
            "--skip-unsupported",
        ],
    );
    golden("kubernetes.yaml", &ok(&out));
    golden("kubernetes.stderr", &text(&out.stderr));
}

#[test]
fn systemd_golden() {
    let ws = workspace(JOBS);
    let out = ws.path("units");
    ok(&export(
        &ws,
        &["--target", "systemd", "--out", out.to_str().expect("utf-8")],
    ));
    golden("systemd.units", &normalized(&ws, &concatenated(&out)));
}

#[test]
fn crontab_golden() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "crontab", "--skip-unsupported"]);
    golden("crontab", &normalized(&ws, &ok(&out)));
    golden("crontab.stderr", &text(&out.stderr));
}

#[test]
fn eventbridge_golden() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "eventbridge", "--skip-unsupported"]);
    golden("eventbridge.yaml", &ok(&out));
    golden("eventbridge.stderr", &text(&out.stderr));
}

#[test]
fn github_actions_golden() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "github-actions", "--skip-unsupported"]);
    golden("github-actions.yml", &ok(&out));
    golden("github-actions.stderr", &text(&out.stderr));
}

#[test]
fn cloud_scheduler_golden() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "cloud-scheduler", "--skip-unsupported"]);
    golden("cloud-scheduler.sh", &ok(&out));
}

#[test]
fn temporal_golden() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "temporal", "--skip-unsupported"]);
    golden("temporal.sh", &ok(&out));
}

/// Every file of a folder, in name order, each under a `==> name <==` header.
fn concatenated(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read out")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            format!(
                "==> {} <==\n{}",
                p.file_name().expect("name").to_string_lossy(),
                fs::read_to_string(p).expect("read unit")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// The targets' own validators

#[test]
fn kubernetes_validate_accepts_the_cronjobs() {
    let ws = workspace(JOBS);
    let out = ws.path("k8s");
    ok(&export(
        &ws,
        &[
            "--target",
            "kubernetes",
            "--image",
            "registry.example.com/demo:1.4",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let file = out.join("cronjobs.yaml");
    let result = validator(
        "kubernetes-validate",
        &["--strict", "-k", "1.30.0", file.to_str().expect("utf-8")],
        None,
    );
    assert_valid("kubernetes-validate", &result);
    // One CronJob per job and schedule that Kubernetes can express.
    assert_eq!(
        text(&result.stdout).matches("passed").count()
            + text(&result.stderr).matches("passed").count(),
        5
    );
}

#[test]
fn systemd_analyze_verifies_every_unit_against_the_built_scheduler() {
    let ws = workspace(JOBS);
    ws.file("src/backend/index.ts", "export const ready = true;\n");
    let build = ws.webstir(&["build"]).output().expect("run webstir build");
    ok(&build);
    assert!(ws.path("build/backend/jobs/scheduler").exists());
    let out = ws.path("units");
    ok(&export(
        &ws,
        &["--target", "systemd", "--out", out.to_str().expect("utf-8")],
    ));
    let units: Vec<String> = fs::read_dir(&out)
        .expect("read units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        units.len(),
        14,
        "a service and a timer per scheduled job: {units:?}"
    );
    let mut args = vec!["verify", "--man=no"];
    args.extend(units.iter().map(String::as_str));
    let result = validator("systemd-analyze", &args, Some(&out));
    assert_valid("systemd-analyze verify", &result);
    // systemd reports an unparsable setting on stderr and goes on: that is a failure here.
    assert_eq!(text(&result.stderr), "", "systemd-analyze complained");
}

#[test]
fn cfn_lint_accepts_the_template() {
    let ws = workspace(JOBS);
    let out = ws.path("aws");
    ok(&export(
        &ws,
        &[
            "--target",
            "eventbridge",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let result = validator("cfn-lint", &["schedules.yaml"], Some(&out));
    assert_valid("cfn-lint", &result);
}

#[test]
fn check_jsonschema_accepts_the_workflow() {
    let ws = workspace(JOBS);
    let out = ws.path("wf");
    ok(&export(
        &ws,
        &[
            "--target",
            "github-actions",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let result = validator(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            "webstir-jobs.yml",
        ],
        Some(&out),
    );
    assert_valid("check-jsonschema", &result);
}

// ---------------------------------------------------------------------------------------------
// Translation: the exported schedules fire when webstir fires

/// (schedule, zone) pairs; each becomes a job of its own.
const CRONS: &[(&str, &str)] = &[
    ("*/15 9-17 * * MON-FRI", "Europe/London"),
    ("0 0 13 * 5", "UTC"),
    ("0 0 */2 * 1", "UTC"),
    ("30 2 * * 0,6", "America/New_York"),
    ("5/10 * * * *", "Asia/Kolkata"),
    ("@weekly", "Australia/Sydney"),
    ("0 12 * * 1/2", "UTC"),
    ("0 6 1,15 * *", "Asia/Tokyo"),
    ("*/20 * * * * *", "UTC"),
    ("0 0 1-31 * 1", "UTC"),
    ("0 9-17/4 * 2,8 *", "America/Bogota"),
    ("45 23 * * SUN", "Asia/Tokyo"),
];

fn jobs_of(crons: &[(&str, &str)]) -> String {
    let entries: Vec<String> = crons
        .iter()
        .enumerate()
        .map(|(i, (expr, zone))| {
            format!(r#"{{ "name": "job{i}", "schedule": "{expr}", "timezone": "{zone}" }}"#)
        })
        .collect();
    format!("[{}]", entries.join(", "))
}

/// `webstir schedule`'s next `count` fire times after BASE, in UTC.
fn webstir_times(ws: &Ws, expr: &str, zone: &str, count: usize) -> Vec<DateTime<Utc>> {
    let out = ws
        .webstir(&[
            "schedule",
            expr,
            "--timezone",
            zone,
            "--from",
            BASE,
            "--count",
            &count.to_string(),
            "--json",
        ])
        .output()
        .expect("run webstir schedule");
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).expect("schedule json");
    report["next"]
        .as_array()
        .expect("next")
        .iter()
        .map(|t| {
            DateTime::parse_from_rfc3339(t.as_str().expect("string"))
                .expect("rfc3339")
                .with_timezone(&Utc)
        })
        .collect()
}

/// The `OnCalendar=` lines of each timer, by job index.
fn calendars(dir: &Path) -> BTreeMap<usize, Vec<String>> {
    let mut by_job = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("read units") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let Some(index) = name
            .strip_prefix("demo-job")
            .and_then(|rest| rest.strip_suffix(".timer"))
        else {
            continue;
        };
        let lines = fs::read_to_string(&path)
            .expect("read timer")
            .lines()
            .filter_map(|l| l.strip_prefix("OnCalendar="))
            .map(str::to_owned)
            .collect();
        by_job.insert(index.parse().expect("index"), lines);
    }
    by_job
}

/// `systemd-analyze calendar`'s next ten elapses of `spec` after BASE, in UTC.
fn systemd_times(spec: &str) -> Vec<DateTime<Utc>> {
    let out = validator(
        "systemd-analyze",
        &[
            "calendar",
            "--iterations=10",
            "--base-time=2026-01-05 00:00:00 UTC",
            spec,
        ],
        None,
    );
    assert_valid("systemd-analyze calendar", &out);
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
        .map(|l| {
            // "Next elapse: Mon 2026-01-05 09:05:00 UTC" (TZ=UTC)
            let words: Vec<&str> = l.split_whitespace().collect();
            let stamp = format!("{} {}", words[words.len() - 3], words[words.len() - 2]);
            Utc.from_utc_datetime(
                &chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S")
                    .expect("systemd time"),
            )
        })
        .collect()
}

#[test]
fn every_on_calendar_agrees_with_webstir_schedule_on_the_next_ten_fire_times() {
    let ws = workspace(&jobs_of(CRONS));
    let out = ws.path("units");
    ok(&export(
        &ws,
        &["--target", "systemd", "--out", out.to_str().expect("utf-8")],
    ));
    let by_job = calendars(&out);
    assert_eq!(by_job.len(), CRONS.len());
    for (i, (expr, zone)) in CRONS.iter().enumerate() {
        // A timer fires on any of its lines: merge them.
        let mut times: Vec<DateTime<Utc>> = by_job[&i]
            .iter()
            .flat_map(|spec| systemd_times(spec))
            .collect();
        times.sort();
        times.dedup();
        times.truncate(10);
        assert_eq!(
            times,
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {:?}",
            by_job[&i]
        );
    }
}

#[test]
fn every_eventbridge_expression_agrees_with_webstir_on_the_next_ten_fire_times() {
    let supported: Vec<(&str, &str)> = CRONS
        .iter()
        .copied()
        // AWS cannot OR the day fields, nor AND two restricted ones, nor fire on seconds.
        .filter(|(e, _)| !["0 0 13 * 5", "0 0 */2 * 1", "*/20 * * * * *"].contains(e))
        .collect();
    let ws = workspace(&jobs_of(&supported));
    let yaml = ok(&export(&ws, &["--target", "eventbridge"]));
    let expressions: Vec<(String, String)> = pairs_of(&yaml);
    assert_eq!(expressions.len(), supported.len(), "{yaml}");
    for ((expr, zone), (aws, aws_zone)) in supported.iter().zip(&expressions) {
        assert_eq!(aws_zone, zone);
        let tz: Tz = zone.parse().expect("zone");
        let base = DateTime::parse_from_rfc3339(BASE)
            .expect("base")
            .with_timezone(&Utc);
        assert_eq!(
            aws_cron_times(aws, tz, base, 10),
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {aws}"
        );
    }
}

/// (ScheduleExpression, ScheduleExpressionTimezone) of every resource, in order.
fn pairs_of(yaml: &str) -> Vec<(String, String)> {
    let value = |line: &str| -> String {
        serde_json::from_str(line.split_once(": ").expect("key: value").1).expect("json string")
    };
    let exprs = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("ScheduleExpression:"))
        .map(value);
    let zones = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("ScheduleExpressionTimezone:"))
        .map(value);
    exprs.zip(zones).collect()
}

/// AWS's cron semantics, computed here independently: `cron(min hour dom month dow year)`,
/// days of the week 1-7 from Sunday, `?` for "any" in one day field, and the two day fields
/// ANDed (one is always `?`).
fn aws_cron_times(expr: &str, tz: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    let inner = expr
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .expect("an AWS cron");
    let f: Vec<&str> = inner.split_whitespace().collect();
    assert_eq!(f.len(), 6, "{expr}");
    assert!(
        f[2] == "?" || f[4] == "?",
        "AWS needs `?` in a day field: {expr}"
    );
    let minutes = aws_field(f[0], 0, 59);
    let hours = aws_field(f[1], 0, 23);
    let days = aws_field(f[2], 1, 31);
    let months = aws_field(f[3], 1, 12);
    let weekdays = aws_field(f[4], 1, 7);
    assert_eq!(f[5], "*");
    let mut found = Vec::new();
    let mut t = after + Duration::minutes(1);
    t = t.with_second(0).expect("second 0");
    let limit = after + Duration::days(3 * 366);
    while found.len() < count && t < limit {
        let local = t.with_timezone(&tz);
        let day_ok = days[local.day() as usize]
            && months[local.month() as usize]
            && weekdays[local.weekday().number_from_sunday() as usize];
        if !day_ok {
            // Jump to the next local hour: no minute of this local day can match, and local
            // days start on local hours (even at half-hour offsets).
            t += Duration::minutes(60 - i64::from(local.minute()));
            continue;
        }
        if hours[local.hour() as usize] && minutes[local.minute() as usize] {
            found.push(t);
        }
        t += Duration::minutes(1);
    }
    found
}

/// An AWS cron field as a set of allowed values: `*`, `?`, `a`, `a-b`, `a/s`, `a-b/s`, lists.
fn aws_field(text: &str, lo: u32, hi: u32) -> Vec<bool> {
    let mut allowed = vec![false; hi as usize + 1];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().expect("step")),
            None => (item, 1),
        };
        let (start, end) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().expect("start"), b.parse().expect("end")),
                None if item.contains('/') => (r.parse().expect("start"), hi),
                None => {
                    let v = r.parse().expect("value");
                    (v, v)
                }
            },
        };
        for v in (start..=end).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    allowed
}

#[test]
fn github_crons_fire_at_the_same_utc_instants_as_the_jobs() {
    // Zones without daylight saving, including a half-hour offset and a day shift.
    let crons: &[(&str, &str)] = &[
        ("30 8 * * 1-5", "Asia/Tokyo"),
        ("0 1,12 * * *", "Asia/Tokyo"),
        ("5/10 * * * *", "Asia/Kolkata"),
        ("45 23 * * SUN", "Asia/Tokyo"),
        ("0 22 10 * *", "America/Bogota"),
        ("*/15 9-17 * * MON-FRI", "UTC"),
    ];
    let ws = workspace(&jobs_of(crons));
    let yaml = ok(&export(&ws, &["--target", "github-actions"]));
    for (i, (expr, zone)) in crons.iter().enumerate() {
        let condition = yaml
            .lines()
            .skip_while(|l| l.trim() != format!("job{i}:"))
            .find(|l| l.trim_start().starts_with("if:"))
            .expect("the job's condition");
        let utc_crons: Vec<&str> = condition
            .split("github.event.schedule == '")
            .skip(1)
            .map(|rest| rest.split('\'').next().expect("closing quote"))
            .collect();
        assert!(!utc_crons.is_empty(), "{condition}");
        for cron in &utc_crons {
            assert!(
                yaml.contains(&format!("- cron: \"{cron}\"")),
                "`{cron}` is in on.schedule"
            );
        }
        let mut times: Vec<DateTime<Utc>> = utc_crons
            .iter()
            .flat_map(|c| webstir_times(&ws, c, "UTC", 10))
            .collect();
        times.sort();
        times.dedup();
        times.truncate(10);
        assert_eq!(
            times,
            webstir_times(&ws, expr, zone, 10),
            "`{expr}` in {zone} as {utc_crons:?}"
        );
    }
}

#[test]
fn github_refuses_a_zone_with_daylight_saving_and_says_why() {
    let ws = workspace(
        r#"[{ "name": "london", "schedule": "0 9 * * *", "timezone": "Europe/London" }]"#,
    );
    let out = export(&ws, &["--target", "github-actions"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("job `london`, schedule `0 9 * * *`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`Europe/London` observes daylight saving"),
        "{stderr}"
    );
    assert!(stderr.contains("github-actions"), "{stderr}");
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Behaviour and failure paths

#[test]
fn an_unsupported_schedule_is_an_error_naming_job_schedule_and_target_and_writes_nothing() {
    let ws = workspace(JOBS);
    let out_dir = ws.path("deploy");
    let out = export(
        &ws,
        &[
            "--target",
            "crontab",
            "--out",
            out_dir.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "webstir: error: 2 of the selected schedules cannot be exported to crontab"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("job `heartbeat`, schedule `rate(5 minutes)`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("job `ticker`, schedule `*/20 * * * * *`: it fires on seconds"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing is written");
    assert!(out.stdout.is_empty());
}

#[test]
fn skip_unsupported_lists_what_was_left_out() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "crontab", "--skip-unsupported"]);
    let stdout = ok(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("webstir: skipped: job `heartbeat`, schedule `rate(5 minutes)`"),
        "{stderr}"
    );
    assert!(!stdout.contains("--job heartbeat"));
    assert!(stdout.contains("--job cleanup"));
}

#[test]
fn kubernetes_names_are_dns_1123_at_most_52_characters_and_unique() {
    // Both names become the same 52 characters once truncated.
    let long = "a_very_long_job_name_that_goes_on_past_the_kubernetes_lim";
    let ws = workspace(&format!(
        r#"[{{ "name": "{long}_a", "schedule": ["0 1 * * *", "0 2 * * *"], "timezone": "UTC" }},
            {{ "name": "{long}_b", "schedule": "0 3 * * *", "timezone": "UTC" }},
            {{ "name": "send_daily_reports", "schedule": "0 9 * * *", "timezone": "UTC" }}]"#
    ));
    let yaml = ok(&export(
        &ws,
        &["--target", "kubernetes", "--image", "img:1"],
    ));
    let names: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    assert_eq!(names.len(), 4, "{yaml}");
    assert!(names.contains(&"send-daily-reports"));
    for name in &names {
        assert!(name.len() <= 52, "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert!(!name.starts_with('-') && !name.ends_with('-'));
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn the_zone_is_the_jobs_else_webstir_toml_s_and_always_written() {
    let ws = workspace(
        r#"[{ "name": "own", "schedule": "0 1 * * *", "timezone": "Asia/Tokyo" },
            { "name": "inherited", "schedule": "0 2 * * *" }]"#,
    );
    let yaml = ok(&export(
        &ws,
        &["--target", "kubernetes", "--image", "img:1"],
    ));
    assert!(yaml.contains("timeZone: \"Asia/Tokyo\""), "{yaml}");
    assert!(yaml.contains("timeZone: \"America/New_York\""), "{yaml}");
}

#[test]
fn kubernetes_needs_an_image() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "kubernetes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--image"));
}

#[test]
fn systemd_needs_an_out_folder() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "systemd"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "webstir: error: --target systemd writes several files: give --out <DIR>\n"
    );
}

#[test]
fn a_flag_of_another_target_is_a_usage_error() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "crontab", "--image", "img:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "webstir: error: --image applies only to --target kubernetes\n"
    );
}

#[test]
fn an_unknown_job_is_a_usage_error_with_a_suggestion() {
    let ws = workspace(JOBS);
    let out = export(&ws, &["--target", "crontab", "--job", "cleanpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "webstir: error: --job: no job named `cleanpu`; did you mean `cleanup`?\n"
    );
}

#[test]
fn job_selects_jobs_by_any_spelling_of_their_name() {
    let ws = workspace(JOBS);
    let out = ok(&export(
        &ws,
        &["--target", "crontab", "--job", "SendDailyReports"],
    ));
    assert!(out.contains("--job send_daily_reports"));
    assert!(!out.contains("--job cleanup"));
}

#[test]
fn out_keeps_files_it_did_not_write_and_replaces_its_own() {
    let ws = workspace(JOBS);
    let dir = ws.path("deploy");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("README"), "mine\n").expect("seed");
    fs::write(dir.join("crontab"), "old\n").expect("seed");
    let out = export(
        &ws,
        &[
            "--target",
            "crontab",
            "--skip-unsupported",
            "--out",
            dir.to_str().expect("utf-8"),
        ],
    );
    let stdout = ok(&out);
    assert_eq!(stdout, format!("wrote {}\n", dir.join("crontab").display()));
    assert_eq!(
        fs::read_to_string(dir.join("README")).expect("kept"),
        "mine\n"
    );
    assert!(
        fs::read_to_string(dir.join("crontab"))
            .expect("new")
            .contains("CRON_TZ=")
    );
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn out_that_is_a_file_is_a_usage_error_and_leaves_it_alone() {
    let ws = workspace(JOBS);
    let file = ws.path("deploy");
    fs::write(&file, "not a folder\n").expect("seed");
    let out = export(
        &ws,
        &[
            "--target",
            "crontab",
            "--skip-unsupported",
            "--out",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("exists and is not a folder"));
    assert_eq!(fs::read_to_string(&file).expect("kept"), "not a folder\n");
}

#[test]
fn shell_scripts_are_written_executable() {
    use std::os::unix::fs::PermissionsExt;
    let ws = workspace(JOBS);
    let dir = ws.path("deploy");
    ok(&export(
        &ws,
        &[
            "--target",
            "temporal",
            "--skip-unsupported",
            "--out",
            dir.to_str().expect("utf-8"),
        ],
    ));
    let mode = fs::metadata(dir.join("temporal-schedules.sh"))
        .expect("script")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

#[test]
fn an_invalid_manifest_leaves_nothing_written() {
    let ws = workspace(r#"[{ "name": "bad", "schedule": "61 * * * *" }]"#);
    let dir = ws.path("deploy");
    let out = export(
        &ws,
        &["--target", "crontab", "--out", dir.to_str().expect("utf-8")],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------------------------
// Policies

const POLICY_JOBS: &str = r#"[
      { "name": "queued", "schedule": "0 9 * * *", "timezone": "UTC", "overlap": "queue", "retry": { "attempts": 3, "delay": "30s", "backoff": "fixed" }, "jitter": "90s", "catchUp": "2h", "timeout": "10m" },
      { "name": "replaced", "schedule": "0 10 * * *", "timezone": "UTC", "overlap": "replace" },
      { "name": "parallel", "schedule": "0 11 * * *", "timezone": "UTC", "overlap": "allow" }
    ]"#;

#[test]
fn policies_become_kubernetes_settings_and_the_rest_are_warnings() {
    let ws = workspace(POLICY_JOBS);
    let out = export(&ws, &["--target", "kubernetes", "--image", "img:1"]);
    let yaml = ok(&out);
    let settings: Vec<&str> = yaml
        .lines()
        .map(str::trim)
        .filter(|l| {
            [
                "concurrencyPolicy",
                "startingDeadlineSeconds",
                "backoffLimit",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect();
    assert_eq!(
        settings,
        [
            "concurrencyPolicy: Forbid",
            "startingDeadlineSeconds: 7200",
            "backoffLimit: 2",
            "concurrencyPolicy: Replace",
            "startingDeadlineSeconds: 60",
            "backoffLimit: 0",
            "concurrencyPolicy: Allow",
            "startingDeadlineSeconds: 60",
            "backoffLimit: 0",
        ]
    );
    assert_eq!(
        text(&out.stderr),
        "webstir: warning: job `queued`: kubernetes cannot express policy `overlap`: a CronJob \
         cannot queue a run behind the running one; exported as `Forbid`, which skips it\n\
         webstir: warning: job `queued`: kubernetes cannot express policy `jitter`: a CronJob \
         has no random start delay\n\
         webstir: warning: job `queued`: kubernetes cannot express policy `retry`: the Job \
         controller retries 2 times but waits 10s, 20s, 40s... (up to 6m) between attempts, not \
         3 attempts, fixed backoff from 30s\n"
    );
}

#[test]
fn policies_become_systemd_settings() {
    let ws = workspace(POLICY_JOBS);
    let dir = ws.path("units");
    let out = export(
        &ws,
        &["--target", "systemd", "--out", dir.to_str().expect("utf-8")],
    );
    ok(&out);
    let service = fs::read_to_string(dir.join("demo-queued.service")).expect("service");
    for line in [
        "StartLimitBurst=3",
        "RuntimeMaxSec=600",
        "Restart=on-failure",
        "RestartSec=30",
    ] {
        assert!(
            service.contains(&format!("{line}\n")),
            "{line} in {service}"
        );
    }
    let timer = fs::read_to_string(dir.join("demo-queued.timer")).expect("timer");
    assert!(
        timer.contains("RandomizedDelaySec=90s\nPersistent=true\n"),
        "{timer}"
    );
    let plain = fs::read_to_string(dir.join("demo-parallel.timer")).expect("timer");
    assert!(
        !plain.contains("Persistent="),
        "no catch-up, no Persistent=: {plain}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("job `queued`: systemd cannot express policy `catchUp`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("job `replaced`: systemd cannot express policy `overlap`"),
        "{stderr}"
    );
}

#[test]
fn policies_become_eventbridge_github_temporal_and_cloud_scheduler_settings() {
    let ws = workspace(POLICY_JOBS);
    let aws = ok(&export(&ws, &["--target", "eventbridge"]));
    assert!(
        aws.contains("Mode: \"FLEXIBLE\"\n        MaximumWindowInMinutes: 2\n"),
        "{aws}"
    );
    let gh = ok(&export(&ws, &["--target", "github-actions"]));
    assert!(
        gh.contains("concurrency:\n      group: webstir-queued\n      cancel-in-progress: false\n"),
        "{gh}"
    );
    assert!(
        gh.contains(
            "concurrency:\n      group: webstir-replaced\n      cancel-in-progress: true\n"
        ),
        "{gh}"
    );
    let temporal = ok(&export(&ws, &["--target", "temporal"]));
    for flag in [
        "--overlap-policy BufferOne",
        "--catchup-window 7200s",
        "--jitter 90s",
        "--overlap-policy CancelOther",
        "--overlap-policy AllowAll",
        "--execution-timeout 600s",
    ] {
        assert!(temporal.contains(flag), "{flag} in {temporal}");
    }
    let gcloud = ok(&export(&ws, &["--target", "cloud-scheduler"]));
    for flag in [
        "--max-retry-attempts=2",
        "--min-backoff=30s",
        "--max-backoff=30s",
        "--max-doublings=0",
        "--attempt-deadline=600s",
    ] {
        assert!(gcloud.contains(flag), "{flag} in {gcloud}");
    }
    let cron = ok(&export(&ws, &["--target", "crontab"]));
    assert!(
        cron.contains("&& flock build/backend/jobs/.queued.lock ./build"),
        "{cron}"
    );
    assert!(
        cron.contains("&& flock -n build/backend/jobs/.replaced.lock ./build"),
        "{cron}"
    );
    assert!(
        cron.contains("&& ./build/backend/jobs/scheduler --job parallel"),
        "{cron}"
    );
}

#[test]
fn the_policies_export_passes_the_validators() {
    let ws = workspace(POLICY_JOBS);
    let dir = ws.path("deploy");
    let d = dir.to_str().expect("utf-8");
    ok(&export(
        &ws,
        &["--target", "kubernetes", "--image", "img:1", "--out", d],
    ));
    ok(&export(&ws, &["--target", "eventbridge", "--out", d]));
    ok(&export(&ws, &["--target", "github-actions", "--out", d]));
    assert_valid(
        "kubernetes-validate",
        &validator(
            "kubernetes-validate",
            &["--strict", "-k", "1.30.0", "cronjobs.yaml"],
            Some(&dir),
        ),
    );
    assert_valid(
        "cfn-lint",
        &validator("cfn-lint", &["schedules.yaml"], Some(&dir)),
    );
    assert_valid(
        "check-jsonschema",
        &validator(
            "check-jsonschema",
            &[
                "--builtin-schema",
                "vendor.github-workflows",
                "webstir-jobs.yml",
            ],
            Some(&dir),
        ),
    );
    // The systemd units, against a built workspace so that ExecStart= exists.
    ws.file("src/backend/index.ts", "export const ready = true;\n");
    ok(&ws.webstir(&["build"]).output().expect("build"));
    let units = ws.path("units");
    ok(&export(
        &ws,
        &[
            "--target",
            "systemd",
            "--out",
            units.to_str().expect("utf-8"),
        ],
    ));
    let names: Vec<String> = fs::read_dir(&units)
        .expect("units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["verify", "--man=no"];
    args.extend(names.iter().map(String::as_str));
    let result = validator("systemd-analyze", &args, Some(&units));
    assert_valid("systemd-analyze verify", &result);
    assert_eq!(text(&result.stderr), "");
}

#[test]
fn json_reports_files_warnings_and_skipped_schedules() {
    let ws = workspace(POLICY_JOBS);
    let out = export(&ws, &["--target", "crontab", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).expect("json");
    assert_eq!(report["target"], "crontab");
    assert_eq!(report["files"][0]["name"], "crontab");
    assert!(
        report["files"][0]["contents"]
            .as_str()
            .expect("contents")
            .contains("--job parallel")
    );
    assert_eq!(report["warnings"][0]["job"], "queued");
    assert_eq!(report["warnings"][0]["policy"], "overlap");
    assert_eq!(report["warnings"][0]["target"], "crontab");
    assert_eq!(report["skipped"], serde_json::json!([]));

    let ws = workspace(JOBS);
    let dir = ws.path("deploy");
    let out = export(
        &ws,
        &[
            "--target",
            "crontab",
            "--json",
            "--skip-unsupported",
            "--out",
            dir.to_str().expect("utf-8"),
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).expect("json");
    assert_eq!(
        report["files"][0]["path"],
        dir.join("crontab").to_str().expect("utf-8")
    );
    assert!(report["files"][0].get("contents").is_none());
    assert_eq!(report["skipped"][0]["job"], "heartbeat");
    assert_eq!(report["skipped"][0]["schedule"], "rate(5 minutes)");
}

#[test]
fn out_is_all_or_nothing_when_one_file_cannot_be_written() {
    let ws = workspace(JOBS);
    let dir = ws.path("units");
    // A folder where the export writes its last unit: nothing at all may be written.
    fs::create_dir_all(dir.join("demo-warmup.timer")).expect("mkdir");
    let out = export(
        &ws,
        &["--target", "systemd", "--out", dir.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is a folder where the export writes a file"),
        "{}",
        text(&out.stderr)
    );
    let entries: Vec<_> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, ["demo-warmup.timer"]);
}

#[test]
fn kubernetes_command_sets_the_containers_entry_point() {
    let ws = workspace(r#"[{ "name": "nightly", "schedule": "@daily", "timezone": "UTC" }]"#);
    let yaml = ok(&export(
        &ws,
        &[
            "--target",
            "kubernetes",
            "--image",
            "img:1",
            "--command",
            "/srv/app/build/backend/jobs/scheduler",
        ],
    ));
    assert!(
        yaml.contains(
            "command: [\"/srv/app/build/backend/jobs/scheduler\"]\n              args: [\"--job\", \"nightly\"]\n"
        ),
        "{yaml}"
    );
    assert!(yaml.contains("schedule: \"0 0 * * *\""), "{yaml}");
}
