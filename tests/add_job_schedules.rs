//! `--schedule` validation and backend-inspect's next-run column. These need the real schedule
//! engine (`crate::schedule`); on a branch with the placeholder engine they fail by design.

mod manifest_support;

use chrono::{DateTime, Duration, Timelike, Utc};
use manifest_support::*;
use serde_json::{Value, json};

#[test]
fn accepts_macros_rates_and_cron_and_stores_them_as_typed() {
    let fx = Fixture::init();
    let schedules = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@reboot",
        "rate(1 second)",
        "rate(30 seconds)",
        "rate(1 minute)",
        "rate(15 minutes)",
        "rate(2 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "0 0 * * *",
        "*/15 9-17 * * MON-FRI",
        "0 0 13 * 5",
        "30 0 0 * * *",
    ];
    let mut cmd = fx.cmd();
    cmd.args(["add-job", "everything"]);
    for s in schedules {
        cmd.args(["--schedule", s]);
    }
    cmd.assert().success();
    assert_eq!(fx.jobs()[0]["schedule"], json!(schedules));
}

/// `add-job x --schedule <schedule>` is a usage error naming the schedule and `expected`, and
/// changes nothing.
fn assert_schedule_rejected(schedule: &str, expected: &[&str]) {
    let fx = Fixture::init();
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "x", "--schedule", schedule]), 2);
    assert!(
        stderr.starts_with(&format!("webstir: error: invalid schedule `{schedule}`: ")),
        "{stderr}"
    );
    for part in expected {
        assert!(
            stderr.contains(part),
            "{schedule}: expected {part:?} in {stderr}"
        );
    }
    assert_eq!(fx.snapshot(), before, "{schedule} changed files");
}

#[test]
fn rejects_out_of_range_fields_naming_the_field_and_its_range() {
    assert_schedule_rejected("60 * * * *", &["minute", "60", "0-59"]);
    assert_schedule_rejected("* 24 * * *", &["hour", "0-23"]);
    assert_schedule_rejected("* * 0 * *", &["day-of-month", "1-31"]);
    assert_schedule_rejected("* * * 13 *", &["month", "1-12"]);
    assert_schedule_rejected("* * * * 8", &["day-of-week", "0-7"]);
    assert_schedule_rejected("60 * * * * *", &["second", "0-59"]);
}

#[test]
fn rejects_unknown_macros_and_bad_rates() {
    assert_schedule_rejected("@fortnightly", &["@fortnightly", "@daily"]);
    assert_schedule_rejected("rate(0 minutes)", &["rate"]);
    assert_schedule_rejected("rate(5 weeks)", &["weeks"]);
    assert_schedule_rejected("rate(-1 hours)", &["rate"]);
}

#[test]
fn rejects_malformed_cron() {
    assert_schedule_rejected("* * * *", &["5 fields"]);
    assert_schedule_rejected("*/0 * * * *", &["minute"]);
    assert_schedule_rejected("1,,2 * * * *", &["minute"]);
    assert_schedule_rejected("* * * * FUNDAY", &["day-of-week", "FUNDAY"]);
}

#[test]
fn every_schedule_of_a_repeated_flag_is_checked() {
    let fx = Fixture::init();
    let before = fx.snapshot();
    let stderr = rejected(
        fx.cmd().args([
            "add-job",
            "x",
            "--schedule",
            "@daily",
            "--schedule",
            "61 * * * *",
        ]),
        2,
    );
    assert!(stderr.contains("invalid schedule `61 * * * *`"), "{stderr}");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn inspect_flags_a_schedule_that_does_not_parse() {
    let fx = Fixture::init();
    fx.cmd().args(["add-job", "ok"]).assert().success();
    let text = fx.package_json().replace(
        "\"name\": \"ok\"",
        "\"name\": \"ok\",\n          \"schedule\": \"60 * * * *\"",
    );
    std::fs::write(fx.root.join("package.json"), text).expect("write");
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1);
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["code"], "invalid-schedule");
    assert_eq!(diagnostic["job"], "ok");
    assert!(
        diagnostic["message"]
            .as_str()
            .is_some_and(|m| m.contains("0-59")),
        "{diagnostic}"
    );
}

#[test]
fn inspect_shows_each_jobs_next_run_in_its_time_zone() {
    let fx = Fixture::init();
    fx.cmd()
        .args([
            "add-job",
            "nightly",
            "--schedule",
            "0 0 * * *",
            "--timezone",
            "UTC",
        ])
        .assert()
        .success();
    fx.cmd()
        .args([
            "add-job",
            "tokyo",
            "--schedule",
            "0 9 * * *",
            "--timezone",
            "Asia/Tokyo",
        ])
        .assert()
        .success();
    fx.cmd()
        .args(["add-job", "boot", "--schedule", "@reboot"])
        .assert()
        .success();
    let before = Utc::now();
    let out = stdout_of(fx.cmd().args(["backend-inspect", "--json"]));
    let report: Value = serde_json::from_str(&out).expect("json");
    let jobs = report["jobs"].as_array().expect("jobs");

    let nightly = jobs[0]["nextRun"].as_str().expect("nightly has a next run");
    assert!(nightly.ends_with("T00:00:00+00:00"), "{nightly}");
    let at = DateTime::parse_from_rfc3339(nightly).expect("RFC 3339");
    assert!(
        at > before && at <= before + Duration::days(1) + Duration::minutes(5),
        "{nightly}"
    );

    let tokyo = jobs[1]["nextRun"].as_str().expect("tokyo has a next run");
    assert!(tokyo.ends_with("T09:00:00+09:00"), "{tokyo}");
    let at = DateTime::parse_from_rfc3339(tokyo).expect("RFC 3339");
    assert_eq!(at.with_timezone(&Utc).hour(), 0);

    assert_eq!(jobs[2]["nextRun"], Value::Null);

    let text = stdout_of(fx.cmd().arg("backend-inspect"));
    assert!(
        text.contains("  - nightly (schedule: 0 0 * * *, timezone: UTC)\n    next run: ")
            && text.contains("T00:00:00+00:00\n"),
        "{text}"
    );
    assert!(text.contains("  - boot (schedule: @reboot)\n"), "{text}");
}

#[test]
fn inspect_uses_the_workspace_default_time_zone_like_the_scheduler() {
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "0 0 * * *"])
        .assert()
        .success();
    std::fs::write(fx.root.join("webstir.toml"), "timezone = \"Asia/Tokyo\"\n").expect("toml");
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 0, "{report}");
    let next = report["jobs"][0]["nextRun"].as_str().expect("next run");
    assert!(next.ends_with("T00:00:00+09:00"), "{next}");

    let listed = stdout_of(fx.cmd().args(["scheduler", "--json"]));
    let listed: Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed[0]["nextRun"].as_str(), Some(next));
}

#[test]
fn inspect_reports_a_broken_settings_file_and_fails() {
    let fx = Fixture::init();
    std::fs::write(fx.root.join("webstir.toml"), "timezone = \n").expect("toml");
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1);
    let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diagnostics.iter().any(|d| d["code"] == "invalid-settings"
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("webstir.toml"))),
        "{report}"
    );
}
