//! Shared by the `webstir export` tests: a workspace with a manifest of jobs, running the
//! export, golden files, and the validators that scripts/test installs.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::Output;

use chrono::{DateTime, Utc};

pub use crate::scheduler_support::Ws;

/// Every form the targets translate: zones from the job, from webstir.toml and UTC; cron,
/// macros, 6-field, rate, @reboot, a day-field OR, and a job without a schedule.
pub const JOBS: &str = r#"[
      { "name": "send_daily_reports", "schedule": "0 9 * * MON-FRI", "timezone": "Europe/London", "timeout": "5m", "description": "Mail the daily reports" },
      { "name": "cleanup", "schedule": ["*/15 * * * *", "@daily"] },
      { "name": "tokyo_digest", "schedule": "30 8 * * 1-5", "timezone": "Asia/Tokyo", "timeout": "90s" },
      { "name": "thirteenth", "schedule": "0 0 13 * 5", "timezone": "UTC" },
      { "name": "heartbeat", "schedule": "rate(5 minutes)", "timezone": "UTC" },
      { "name": "warmup", "schedule": "@reboot" },
      { "name": "ticker", "schedule": "*/20 * * * * *", "timezone": "UTC" },
      { "name": "manual" }
    ]"#;

pub const BASE: &str = "2026-01-05T00:00:00Z";

pub fn workspace(jobs: &str) -> Ws {
    let ws = Ws::new(jobs);
    ws.file("webstir.toml", "timezone = \"America/New_York\"\n");
    ws
}

pub fn export(ws: &Ws, args: &[&str]) -> Output {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    ws.webstir(&all).output().expect("run webstir export")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "export failed ({:?}): {}",
        output.status.code(),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Output with the temp workspace's path replaced, so that golden files are stable.
pub fn normalized(ws: &Ws, output: &str) -> String {
    let root = ws.root().canonicalize().expect("canonical root");
    output.replace(&*root.to_string_lossy(), "/WORKSPACE")
}

/// Compares with tests/golden/export/<name>; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
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
pub fn validator(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env("TZ", "UTC");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output().unwrap_or_else(|e| {
        panic!("`{program}` is needed by this test (scripts/test installs it): {e}")
    })
}

pub fn assert_valid(program: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{program} rejected the export:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

pub const POLICY_JOBS: &str = r#"[
      { "name": "queued", "schedule": "0 9 * * *", "timezone": "UTC", "overlap": "queue", "retry": { "attempts": 3, "delay": "30s", "backoff": "fixed" }, "jitter": "90s", "catchUp": "2h", "timeout": "10m" },
      { "name": "replaced", "schedule": "0 10 * * *", "timezone": "UTC", "overlap": "replace" },
      { "name": "parallel", "schedule": "0 11 * * *", "timezone": "UTC", "overlap": "allow" }
    ]"#;

pub fn jobs_of(crons: &[(&str, &str)]) -> String {
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
pub fn webstir_times(ws: &Ws, expr: &str, zone: &str, count: usize) -> Vec<DateTime<Utc>> {
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
