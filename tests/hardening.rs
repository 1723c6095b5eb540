//! Regressions from hostile testing (issue 10): each test reproduces one report against the
//! real binary on a temp workspace, and checks that bad input changes nothing.

mod manifest_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command as StdCommand;

use manifest_support::{Fixture, inspect_json, rejected, stdout_of, webstir};
use serde_json::Value;

fn package_json_with_jobs(jobs: &str) -> String {
    format!(
        "{{\n  \"name\": \"demo\",\n  \"webstir\": {{\n    \"mode\": \"api\",\n    \"moduleManifest\": {{\n      \"jobs\": {jobs}\n    }}\n  }}\n}}\n"
    )
}

/// What Node's `JSON.parse` makes of a file: the value at `expr` (a JavaScript expression on
/// `p`), printed with `String()`.
fn node_reads(path: &std::path::Path, expr: &str) -> String {
    let script = format!(
        "const p = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8').replace(/^\\uFEFF/, '')); process.stdout.write(String({expr}))"
    );
    let out = StdCommand::new("node")
        .args(["-e", &script])
        .arg(path)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "node refused the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

// ---- item 8: the time zone from the environment ----

#[test]
fn unknown_tz_in_the_environment_is_a_diagnostic_in_backend_inspect_not_silence() {
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "@daily"])
        .assert()
        .success();
    let output = fx
        .cmd()
        .env("TZ", "Mars/Olympus")
        .args(["backend-inspect", "--json"])
        .output()
        .expect("spawn");
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    let diagnostics = report["diagnostics"].as_array().expect("array");
    assert!(
        diagnostics.iter().any(|d| d["code"] == "invalid-timezone"
            && d["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("TZ: unknown time zone `Mars/Olympus`"))),
        "{diagnostics:?}"
    );
    // The same words from every command that needs the zone.
    let stderr = rejected(
        fx.cmd()
            .env("TZ", "Mars/Olympus")
            .args(["schedule", "@daily"]),
        2,
    );
    assert!(
        stderr.starts_with("webstir: error: TZ: unknown time zone `Mars/Olympus`"),
        "{stderr}"
    );
    let stderr = rejected(
        fx.cmd()
            .env("TZ", "Mars/Olympus")
            .args(["scheduler", "--list"]),
        1,
    );
    assert!(
        stderr.contains("TZ: unknown time zone `Mars/Olympus`"),
        "{stderr}"
    );
    // A job with its own zone does not depend on TZ: no diagnostic.
    let own = Fixture::with_package_json(&package_json_with_jobs(
        r#"[{"name": "a", "schedule": "@daily", "timezone": "Europe/London"}]"#,
    ));
    fs::create_dir_all(own.root.join("src/backend/jobs/a")).expect("mkdir");
    fs::write(
        own.root.join("src/backend/jobs/a/index.ts"),
        "export async function run() {}\n",
    )
    .expect("write");
    let output = own
        .cmd()
        .env("TZ", "Mars/Olympus")
        .args(["backend-inspect", "--json"])
        .output()
        .expect("spawn");
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["diagnostics"], serde_json::json!([]));
    assert!(report["jobs"][0]["nextRun"].is_string());
}

#[test]
fn tz_naming_a_zone_file_is_followed_like_the_c_library_does() {
    let out = stdout_of(
        webstir()
            .env("TZ", ":/usr/share/zoneinfo/Europe/London")
            .args([
                "schedule",
                "@daily",
                "--from",
                "2026-07-01T12:00:00Z",
                "--count",
                "1",
            ]),
    );
    assert!(out.contains("Time zone:   Europe/London"), "{out}");
    assert!(out.contains("2026-07-02T00:00:00+01:00"), "{out}");
    // `/etc/localtime` is a link into the zone database here; its zone is whatever it names.
    stdout_of(
        webstir()
            .env("TZ", ":/etc/localtime")
            .args(["schedule", "@daily"]),
    );
    let stderr = rejected(
        webstir()
            .env("TZ", ":/no/such/zone")
            .args(["schedule", "@daily"]),
        2,
    );
    assert!(
        stderr.contains("TZ: unknown time zone `:/no/such/zone`"),
        "{stderr}"
    );
}

#[test]
fn tz_holding_a_posix_rule_works_as_it_does_for_cron() {
    let out = stdout_of(webstir().env("TZ", "EST5EDT,M3.2.0,M11.1.0").args([
        "schedule",
        "30 2 * * *",
        "--from",
        "2026-03-07T00:00:00Z",
        "--count",
        "2",
    ]));
    // The spring-forward day of the US rule: 02:30 does not exist and fires at 03:00 EDT.
    assert!(
        out.contains("  2026-03-07T02:30:00-05:00\n  2026-03-08T03:00:00-04:00\n"),
        "{out}"
    );
    let out = stdout_of(webstir().env("TZ", "<+0530>-5:30").args([
        "schedule",
        "@daily",
        "--from",
        "2026-01-01T00:00:00Z",
        "--count",
        "1",
    ]));
    assert!(out.contains("  2026-01-02T00:00:00+05:30\n"), "{out}");
    // A rule no zone follows is an error that says so, never a silent UTC.
    let stderr = rejected(
        webstir()
            .env("TZ", "ABC3XYZ,M2.1.0,M12.1.0")
            .args(["schedule", "@daily"]),
        2,
    );
    assert!(
        stderr.contains("no IANA time zone follows the POSIX rule"),
        "{stderr}"
    );
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "@daily"])
        .assert()
        .success();
    let output = fx
        .cmd()
        .env("TZ", "EST5EDT,M3.2.0,M11.1.0")
        .args(["backend-inspect", "--json"])
        .output()
        .expect("spawn");
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    let next = report["jobs"][0]["nextRun"].as_str().expect("a next run");
    assert!(
        next.ends_with("-05:00") || next.ends_with("-04:00"),
        "{next}"
    );
}

// ---- item 9: webstir.toml is the user's file ----

#[test]
fn config_set_and_unset_keep_crlf_and_the_bom_of_webstir_toml() {
    let fx = Fixture::init();
    let original = "\u{feff}# defaults\r\ngrace = \"5s\" # flush\r\n\r\n# node = \"/opt/node\"\r\n";
    fs::write(fx.root.join("webstir.toml"), original).expect("write");
    fx.cmd()
        .args(["config", "set", "grace", "30s"])
        .assert()
        .success();
    let after_set = original.replace("\"5s\"", "\"30s\"");
    assert_eq!(
        fs::read_to_string(fx.root.join("webstir.toml")).expect("read"),
        after_set
    );
    // A new key goes right after the last key, in the file's line endings, not after the
    // trailing comments.
    fx.cmd()
        .args(["config", "set", "log-format", "json"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(fx.root.join("webstir.toml")).expect("read"),
        "\u{feff}# defaults\r\ngrace = \"30s\" # flush\r\nlog-format = \"json\"\r\n\r\n# node = \"/opt/node\"\r\n"
    );
    fx.cmd()
        .args(["config", "unset", "log-format"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(fx.root.join("webstir.toml")).expect("read"),
        after_set
    );
    fx.cmd()
        .args(["config", "unset", "grace"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(fx.root.join("webstir.toml")).expect("read"),
        "\u{feff}# defaults\r\n\r\n# node = \"/opt/node\"\r\n"
    );
}

// ---- item 10: a read-only file is not replaced ----

#[test]
fn add_job_refuses_a_read_only_package_json_and_leaves_everything_as_it_was() {
    let fx = Fixture::init();
    let package_json = fx.root.join("package.json");
    fs::set_permissions(&package_json, fs::Permissions::from_mode(0o440)).expect("chmod");
    let before = fx.snapshot();
    let stderr = rejected(
        fx.cmd()
            .args(["add-job", "nightly", "--schedule", "@daily"]),
        1,
    );
    assert!(stderr.contains("package.json"), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(fx.snapshot(), before, "no scaffold, no edit");
    let mode = fs::metadata(&package_json)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o440);
}

#[test]
fn config_set_and_unset_refuse_a_read_only_webstir_toml() {
    let fx = Fixture::init();
    let settings = fx.root.join("webstir.toml");
    fs::write(&settings, "grace = \"5s\"\n").expect("write");
    fs::set_permissions(&settings, fs::Permissions::from_mode(0o444)).expect("chmod");
    let before = fx.snapshot();
    for args in [
        ["config", "set", "grace", "9s"].as_slice(),
        &["config", "unset", "grace"],
    ] {
        let stderr = rejected(fx.cmd().args(args), 1);
        assert!(stderr.contains("read-only"), "{stderr}");
        assert_eq!(fx.snapshot(), before);
    }
}

// ---- item 11: what JSON.parse accepts, webstir accepts ----

#[test]
fn package_json_with_huge_numbers_lone_surrogates_and_deep_nesting_is_read() {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let text = format!(
        "{{\n  \"name\": \"demo\",\n  \"huge\": 1.0e+400,\n  \"lone\": \"\\ud800\",\n  \"deep\": {deep},\n  \"webstir\": {{\n    \"mode\": \"api\",\n    \"moduleManifest\": {{\n      \"contractVersion\": \"1.0.0\",\n      \"retries\": 1e2,\n      \"jobs\": []\n    }}\n  }}\n}}\n"
    );
    let fx = Fixture::with_package_json(&text);
    // Node reads it: that is the bar.
    assert_eq!(
        node_reads(&fx.root.join("package.json"), "p.huge"),
        "Infinity"
    );
    let (report, _) = inspect_json(&fx);
    // Numbers are kept as written (digits as written, the exponent in JavaScript's form), not
    // turned into floats.
    assert_eq!(report["manifest"]["retries"].to_string(), "1e+2");
    assert!(
        !report["diagnostics"]
            .as_array()
            .expect("array")
            .iter()
            .any(|d| d["level"] == "error"
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("package.json:"))),
        "{report:#}"
    );
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "@daily"])
        .assert()
        .success();
    let after = fx.package_json();
    assert!(after.starts_with(&text[..text.find("\"jobs\": []").expect("jobs")]));
    assert_eq!(
        node_reads(&fx.root.join("package.json"), "p.lone.charCodeAt(0)"),
        "55296"
    );
    assert_eq!(
        node_reads(
            &fx.root.join("package.json"),
            "p.webstir.moduleManifest.jobs[0].name"
        ),
        "nightly"
    );
}

#[test]
fn lone_surrogate_in_a_job_description_is_read_and_a_real_syntax_error_still_points_at_it() {
    let fx = Fixture::with_package_json(&package_json_with_jobs(
        r#"[{"name": "a", "schedule": "@daily", "description": "half \ud83d a smile"}]"#,
    ));
    let (report, _) = inspect_json(&fx);
    assert_eq!(report["jobs"][0]["description"], "half \u{fffd} a smile");

    let fx =
        Fixture::with_package_json("{\n  \"webstir\": {},\n  \"x\": 1.0e+400\n  \"y\": 2\n}\n");
    let stderr = rejected(fx.cmd().args(["backend-inspect"]), 1);
    assert!(
        stderr.contains("package.json:4:3: expected `,` or `}`"),
        "{stderr}"
    );
}

// ---- item 12: integers beyond JavaScript's safe range ----

#[test]
fn priority_beyond_the_safe_integer_range_is_stored_as_a_string_for_both_signs() {
    let fx = Fixture::init();
    for (name, priority) in [
        ("big", "9007199254740993"),
        ("small", "-9007199254740993"),
        ("edge", "9007199254740992"),
        ("safe", "9007199254740991"),
        ("safe-negative", "-9007199254740991"),
    ] {
        fx.cmd()
            .args([
                "add-job",
                name,
                "--schedule",
                "@daily",
                "--priority",
                priority,
            ])
            .assert()
            .success();
    }
    let jobs = fx.jobs();
    let priority = |i: usize| jobs[i]["priority"].clone();
    assert_eq!(priority(0), Value::String("9007199254740993".into()));
    assert_eq!(priority(1), Value::String("-9007199254740993".into()));
    assert_eq!(priority(2), Value::String("9007199254740992".into()));
    assert!(priority(3).is_number());
    assert!(priority(4).is_number());
    // Node reads back exactly what was typed.
    let path = fx.root.join("package.json");
    for (i, typed) in [
        "9007199254740993",
        "-9007199254740993",
        "9007199254740992",
        "9007199254740991",
        "-9007199254740991",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            node_reads(
                &path,
                &format!("p.webstir.moduleManifest.jobs[{i}].priority")
            ),
            *typed
        );
    }
}

#[test]
fn an_unsafe_integer_priority_written_by_hand_is_an_error_diagnostic() {
    let fx = Fixture::with_package_json(&package_json_with_jobs(
        r#"[{"name": "a", "schedule": "@daily", "priority": -9007199254740993}]"#,
    ));
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1);
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["code"] == "invalid-priority")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(messages.len(), 1, "{report:#}");
    assert!(
        messages[0].contains("safe integer range"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].contains("\"-9007199254740993\""),
        "{}",
        messages[0]
    );
}

// ---- smaller rough edges ----

#[test]
fn rate_with_a_count_too_large_for_any_integer_says_it_is_too_long() {
    let stderr = rejected(
        webstir().args(["schedule", "rate(99999999999999999999 seconds)"]),
        2,
    );
    assert!(
        stderr.contains(
            "`99999999999999999999 seconds` is longer than the longest accepted interval"
        ),
        "{stderr}"
    );
}

#[test]
fn config_get_shows_durations_as_written_and_bounds_them() {
    let fx = Fixture::init();
    fx.cmd()
        .args(["config", "set", "grace", "1w"])
        .assert()
        .success();
    assert_eq!(stdout_of(fx.cmd().args(["config", "get", "grace"])), "1w\n");
    let list = stdout_of(fx.cmd().args(["config", "list"]));
    assert!(list.contains("grace = \"1w\"\n"), "{list}");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["config", "set", "grace", "99999999999h"]), 2);
    assert!(stderr.contains("too long: at most a year"), "{stderr}");
    let stderr = rejected(fx.cmd().args(["config", "set", "timeout", "366d"]), 2);
    assert!(stderr.contains("too long"), "{stderr}");
    assert_eq!(fx.snapshot(), before);
    // The scheduler's flags use the same parser and bound.
    let stderr = rejected(
        fx.cmd()
            .args(["scheduler", "--list", "--grace", "99999999999h"]),
        2,
    );
    assert!(stderr.contains("too long"), "{stderr}");
}

#[test]
fn config_get_of_a_key_that_is_not_set_reads_like_the_other_errors() {
    let fx = Fixture::init();
    let stderr = rejected(fx.cmd().args(["config", "get", "timeout"]), 1);
    assert_eq!(
        stderr,
        "webstir: error: `timeout` is not set in webstir.toml and has no default (set it with `webstir config set timeout 5m`)\n"
    );
}

#[test]
fn schedule_from_the_year_9999_stops_at_the_end_of_rfc_3339_years() {
    let out = stdout_of(webstir().args([
        "schedule",
        "@hourly",
        "--from",
        "9999-12-31T22:00:00Z",
        "--count",
        "3",
    ]));
    assert!(!out.contains("+10000"), "{out}");
    assert!(out.contains("  9999-12-31T23:00:00+00:00\n"), "{out}");
    assert!(
        out.contains("No more fire times: they end with the year 9999"),
        "{out}"
    );
    let json: Value = serde_json::from_str(&stdout_of(webstir().args([
        "schedule",
        "@yearly",
        "--from",
        "9999-06-01T00:00:00Z",
        "--json",
    ])))
    .expect("json");
    assert_eq!(json["next"], serde_json::json!([]));
}

#[test]
fn time_zones_are_stored_in_canonical_form() {
    let fx = Fixture::init();
    let out = stdout_of(
        fx.cmd()
            .args(["config", "set", "timezone", "america/new_york"]),
    );
    assert!(
        out.starts_with("set timezone = \"America/New_York\""),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(fx.root.join("webstir.toml")).expect("read"),
        "timezone = \"America/New_York\"\n"
    );
    fx.cmd()
        .args([
            "add-job",
            "nightly",
            "--schedule",
            "@daily",
            "--timezone",
            "europe/LONDON",
        ])
        .assert()
        .success();
    assert_eq!(fx.jobs()[0]["timezone"], "Europe/London");
}

#[test]
fn init_hints_a_cd_the_shell_can_run_for_dash_and_newline_folders() {
    let temp = tempfile::tempdir().expect("temp");
    let out = stdout_of(
        webstir()
            .current_dir(temp.path())
            .args(["init", "api", "--", "-dash"]),
    );
    assert!(out.contains("\n  cd ./-dash\n"), "{out}");
    let out = stdout_of(
        webstir()
            .current_dir(temp.path())
            .args(["init", "api", "two\nlines"]),
    );
    assert!(out.contains("\n  cd $'two\\nlines'\n"), "{out}");
    assert!(
        out.starts_with("Created api workspace `two-lines` in $'"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.contains("lines")).count(),
        2,
        "{out}"
    );
}

#[test]
fn init_in_a_folder_named_like_a_name_npm_refuses_gives_a_valid_package_name() {
    let temp = tempfile::tempdir().expect("temp");
    for (folder, name) in [
        ("node_modules", "node_modules-app"),
        ("http", "http-app"),
        ("~tilde", "tilde"),
    ] {
        let out = stdout_of(
            webstir()
                .current_dir(temp.path())
                .args(["init", "api", folder, "--json"]),
        );
        let report: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(report["name"], name);
    }
}
