//! `webstir schedule` through the real binary: text and JSON output, the zone order, and
//! every kind of bad input (exit 2, message on stderr, nothing on stdout).

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The command with a known zone environment, run outside any workspace (it needs none).
fn schedule(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("webstir").expect("binary is built");
    cmd.current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WEBSTIR_WORKSPACE")
        .env("TZ", "UTC")
        .arg("schedule")
        .args(args);
    cmd
}

fn json_of(args: &[&str]) -> Value {
    let output = schedule(args).arg("--json").output().expect("runs");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// Runs a command that must be rejected as a usage error and returns its stderr.
fn rejected(cmd: &mut Command) -> String {
    let output = cmd.output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing on stdout: {output:?}");
    String::from_utf8(output.stderr).expect("utf-8 stderr")
}

#[test]
fn text_lists_the_meaning_and_the_next_times_with_offsets() {
    schedule(&[
        "30 2 * * *",
        "--timezone",
        "America/New_York",
        "--from",
        "2026-03-07T00:00:00-05:00",
        "--count",
        "3",
    ])
    .assert()
    .success()
    .stderr("")
    .stdout(
        "Schedule:    30 2 * * * (cron)\n\
         Meaning:     At 02:30\n\
         Time zone:   America/New_York\n\
         Next 3 after 2026-03-07T00:00:00-05:00:\n  \
         2026-03-07T02:30:00-05:00\n  \
         2026-03-08T03:00:00-04:00\n  \
         2026-03-09T02:30:00-04:00\n",
    );
}

#[test]
fn json_is_one_object_with_the_documented_keys() {
    let report = json_of(&["0 0 13 * 5", "--from", "2026-01-01T00:00:00Z"]);
    assert_eq!(
        report,
        json!({
            "schedule": "0 0 13 * 5",
            "kind": "cron",
            "description": "At 00:00 on day 13 of the month and on Friday",
            "timezone": "UTC",
            "next": [
                "2026-01-02T00:00:00+00:00",
                "2026-01-09T00:00:00+00:00",
                "2026-01-13T00:00:00+00:00",
                "2026-01-16T00:00:00+00:00",
                "2026-01-23T00:00:00+00:00",
            ],
        })
    );
}

#[test]
fn every_example_of_the_fine_print_through_the_command() {
    let cases: [(&str, &str, &str, &[&str]); 6] = [
        (
            "0 0 */2 * 1",
            "UTC",
            "2026-01-01T00:00:00Z",
            &[
                "2026-01-05T00:00:00+00:00",
                "2026-01-19T00:00:00+00:00",
                "2026-02-09T00:00:00+00:00",
                "2026-02-23T00:00:00+00:00",
                "2026-03-09T00:00:00+00:00",
            ],
        ),
        (
            "0 0 * * 1/2",
            "UTC",
            "2026-01-01T00:00:00Z",
            &[
                "2026-01-02T00:00:00+00:00",
                "2026-01-04T00:00:00+00:00",
                "2026-01-05T00:00:00+00:00",
                "2026-01-07T00:00:00+00:00",
                "2026-01-09T00:00:00+00:00",
            ],
        ),
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T00:00:00-05:00",
            &[
                "2026-03-07T02:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00",
            ],
        ),
        (
            "0 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-03T12:00:00+10:30",
            &["2026-10-04T02:30:00+11:00"],
        ),
        (
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            &["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "0 * * * *",
            "America/New_York",
            "2026-11-01T00:30:00-04:00",
            &[
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T02:00:00-05:00",
                "2026-11-01T03:00:00-05:00",
            ],
        ),
    ];
    for (expr, tz, from, expected) in cases {
        let count = expected.len().to_string();
        let report = json_of(&[expr, "--timezone", tz, "--from", from, "--count", &count]);
        assert_eq!(report["next"], json!(expected), "{expr} in {tz}");
        assert_eq!(report["timezone"], tz);
    }
}

#[test]
fn rate_starts_one_interval_after_from() {
    let report = json_of(&[
        "rate(90 minutes)",
        "--from",
        "2026-01-01T00:00:00Z",
        "--count",
        "2",
    ]);
    assert_eq!(report["kind"], "rate");
    assert_eq!(
        report["next"],
        json!(["2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00"])
    );
}

#[test]
fn reboot_has_no_next_times_and_macros_are_macros() {
    let reboot = json_of(&["@reboot", "--from", "2026-01-01T00:00:00Z"]);
    assert_eq!(reboot["kind"], "reboot");
    assert_eq!(reboot["next"], json!([]));
    schedule(&["@reboot"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Next:        none (runs once when the scheduler starts)",
        ));
    let daily = json_of(&["@DAILY", "--from", "2026-01-01T10:00:00Z", "--count", "1"]);
    assert_eq!(daily["kind"], "macro");
    assert_eq!(daily["schedule"], "@DAILY");
    assert_eq!(daily["next"], json!(["2026-01-02T00:00:00+00:00"]));
}

#[test]
fn zone_comes_from_the_flag_then_tz() {
    let from_tz = schedule(&["0 9 * * *", "--from", "2026-01-01T00:00:00Z", "--json"])
        .env("TZ", "Asia/Kolkata")
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&from_tz.stdout).expect("JSON");
    assert_eq!(report["timezone"], "Asia/Kolkata");
    assert_eq!(report["next"][0], "2026-01-01T09:00:00+05:30");

    let flag_wins = schedule(&["0 9 * * *", "--timezone", "Europe/London", "--json"])
        .env("TZ", "Asia/Kolkata")
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&flag_wins.stdout).expect("JSON");
    assert_eq!(report["timezone"], "Europe/London");
}

#[test]
fn default_from_is_now() {
    let before = Utc::now();
    let report = json_of(&["* * * * *", "--count", "1"]);
    let after = Utc::now();
    let first = DateTime::parse_from_rfc3339(report["next"][0].as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc);
    assert!(first > before, "{first} is after the start of the run");
    assert!(first <= after + chrono::Duration::seconds(60), "{first}");
}

#[test]
fn count_can_reach_its_maximum() {
    let report = json_of(&[
        "*/5 * * * *",
        "--count",
        "1000",
        "--from",
        "2026-01-01T00:00:00Z",
    ]);
    let next = report["next"].as_array().expect("a list");
    assert_eq!(next.len(), 1000);
    assert_eq!(next[999], "2026-01-04T11:20:00+00:00");
}

#[test]
fn invalid_schedules_are_usage_errors_that_name_the_field() {
    let cases = [
        (
            "60 * * * *",
            "webstir: error: invalid schedule `60 * * * *`: minute: 60 is out of range 0-59\n",
        ),
        (
            "* * * * 8",
            "webstir: error: invalid schedule `* * * * 8`: day-of-week: 8 is out of range 0-7 \
             or SUN-SAT, where 0 and 7 are Sunday\n",
        ),
        (
            "@fortnightly",
            "webstir: error: invalid schedule `@fortnightly`: unknown macro `@fortnightly` \
             (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, \
             @hourly, @reboot)\n",
        ),
        (
            "rate(0 minutes)",
            "webstir: error: invalid schedule `rate(0 minutes)`: rate: `0` is not a whole \
             number of at least 1\n",
        ),
    ];
    for (expr, message) in cases {
        assert_eq!(rejected(&mut schedule(&[expr])), message, "{expr}");
        // With --json the failure is also a JSON object on stdout, for editors and CI.
        let output = schedule(&[expr, "--json"]).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), message, "{expr}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON error");
        assert_eq!(report["error"]["code"], "usage", "{expr}");
        assert_eq!(
            format!(
                "webstir: error: {}\n",
                report["error"]["message"].as_str().expect("text")
            ),
            message,
            "{expr}"
        );
    }
}

#[test]
fn a_schedule_starting_with_a_dash_is_read_as_the_expression() {
    let stderr = rejected(&mut schedule(&["-5 * * * *"]));
    assert_eq!(
        stderr,
        "webstir: error: invalid schedule `-5 * * * *`: minute: malformed range `-5` \
         (expected START-END, such as `0-5`)\n"
    );
}

#[test]
fn bad_time_zones_count_and_from_are_usage_errors() {
    let stderr = rejected(&mut schedule(&["* * * * *", "--timezone", "Mars/Olympus"]));
    assert!(
        stderr.starts_with("webstir: error: --timezone: unknown time zone `Mars/Olympus`"),
        "{stderr}"
    );
    let stderr = rejected(schedule(&["* * * * *"]).env("TZ", "Nowhere/Atall"));
    assert!(
        stderr.starts_with("webstir: error: TZ: unknown time zone `Nowhere/Atall`"),
        "{stderr}"
    );
    for count in ["0", "1001", "-1", "many"] {
        let stderr = rejected(&mut schedule(&["* * * * *", &format!("--count={count}")]));
        assert!(stderr.contains("--count"), "{count}: {stderr}");
    }
    for from in ["yesterday", "2026-01-01", "2026-01-01T00:00:00"] {
        let stderr = rejected(&mut schedule(&["* * * * *", "--from", from]));
        assert!(
            stderr.contains("--from") && stderr.contains("RFC 3339"),
            "{from}: {stderr}"
        );
    }
}
