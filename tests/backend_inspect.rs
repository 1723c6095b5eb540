//! `webstir backend-inspect`: the text and JSON reports and every diagnostic, through the real
//! binary. Next-run times need the real schedule engine and live in `add_job_schedules.rs`.

mod manifest_support;

use std::fs;

use manifest_support::*;
use serde_json::{Value, json};

/// The example workspace: `nightly` with metadata, then `cleanup`.
fn example() -> Fixture {
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "0 0 * * *"])
        .args([
            "--description",
            "Nightly maintenance window",
            "--priority",
            "5",
        ])
        .assert()
        .success();
    fx.cmd().args(["add-job", "cleanup"]).assert().success();
    fx
}

/// Removes the `next run: ...` lines, whose value depends on the clock.
fn without_next_run(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with("    next run: "))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn text_report_lists_workspace_manifest_and_jobs() {
    let fx = example();
    let out = stdout_of(fx.cmd().arg("backend-inspect"));
    let root = fx.root.display();
    assert_eq!(
        without_next_run(&out),
        format!(
            "workspace: demo\n\
             mode: api\n\
             root: {root}\n\
             manifest: demo 1.0.0 (kind: backend, contract: 1.0.0)\n\
             capabilities: none\n\
             jobs: 2\n\
             \x20 - nightly (schedule: 0 0 * * *, description: Nightly maintenance window, priority: 5)\n\
             \x20 - cleanup\n\
             diagnostics: none\n"
        )
    );
}

#[test]
fn json_report_has_workspace_manifest_jobs_and_diagnostics() {
    let fx = example();
    let out = stdout_of(fx.cmd().args(["backend-inspect", "--json"]));
    let report: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        report["workspace"],
        json!({ "name": "demo", "mode": "api", "root": fx.root.display().to_string() })
    );
    assert_eq!(report["manifest"], fx.manifest());
    assert_eq!(report["diagnostics"], json!([]));
    let jobs = report["jobs"].as_array().expect("jobs array");
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["name"], "nightly");
    assert_eq!(jobs[0]["schedules"], json!(["0 0 * * *"]));
    assert_eq!(jobs[0]["description"], "Nightly maintenance window");
    assert_eq!(jobs[0]["priority"], 5);
    assert_eq!(jobs[0]["source"], "src/backend/jobs/nightly");
    assert_eq!(jobs[0]["hasSource"], true);
    assert_eq!(
        jobs[1],
        json!({
            "name": "cleanup",
            "schedules": [],
            "source": "src/backend/jobs/cleanup",
            "hasSource": true,
            "nextRun": null
        })
    );
}

/// Writes `jobs` into the example workspace's manifest by hand and returns the JSON report and
/// the exit code.
fn inspect_with_jobs(jobs: Value) -> (Fixture, Value, String, i32) {
    let fx = Fixture::init();
    let mut package: Value = serde_json::from_str(&fx.package_json()).expect("json");
    package["webstir"]["moduleManifest"]["jobs"] = jobs;
    fs::write(
        fx.root.join("package.json"),
        serde_json::to_string_pretty(&package).expect("serialize"),
    )
    .expect("write");
    fs::create_dir_all(fx.root.join("src/backend/jobs/ok")).expect("mkdir");
    fs::write(fx.root.join("src/backend/jobs/ok/index.ts"), "").expect("write entry");
    let (report, code) = inspect_json(&fx);
    let text = fx.cmd().arg("backend-inspect").output().expect("run");
    assert_eq!(text.status.code(), Some(code), "text and JSON agree");
    (
        fx,
        report,
        String::from_utf8(text.stdout).expect("utf-8"),
        code,
    )
}

fn codes(report: &Value) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code").to_owned(),
                d["level"].as_str().expect("level").to_owned(),
            )
        })
        .collect()
}

fn pair(code: &str, level: &str) -> (String, String) {
    (code.to_owned(), level.to_owned())
}

#[test]
fn flags_a_job_without_source_folder_and_still_prints_the_report() {
    let (_fx, report, text, code) =
        inspect_with_jobs(json!([{ "name": "ok" }, { "name": "ghost" }]));
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec![pair("missing-source", "error")]);
    assert_eq!(report["diagnostics"][0]["job"], "ghost");
    assert!(text.contains("jobs: 2\n  - ok\n  - ghost\n"), "{text}");
    assert!(
        text.contains(
            "diagnostics: 1\n  error: job `ghost`: no source folder `src/backend/jobs/ghost/`"
        ),
        "{text}"
    );
}

#[test]
fn flags_duplicate_names_including_other_spellings() {
    let (_fx, report, _text, code) = inspect_with_jobs(json!([
        { "name": "ok" }, { "name": "ok" }, { "name": "OK" }
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        codes(&report),
        vec![
            pair("duplicate-name", "error"),
            pair("duplicate-name", "error")
        ]
    );
    assert!(
        report["diagnostics"][1]["message"]
            .as_str()
            .expect("message")
            .contains("same name as job `ok`")
    );
}

#[test]
fn json_report_keeps_the_manifest_as_written() {
    let fx = example();
    let out = stdout_of(fx.cmd().args(["backend-inspect", "--json"]));
    // Key order is what users see in their package.json, not alphabetical.
    assert!(
        out.contains(
            "  \"manifest\": {\n    \"contractVersion\": \"1.0.0\",\n    \"name\": \"demo\",\n    \"version\": \"1.0.0\",\n    \"kind\": \"backend\",\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("        \"name\": \"nightly\",\n        \"schedule\": \"0 0 * * *\",\n        \"description\": "),
        "{out}"
    );
}

#[test]
fn duplicate_names_are_reported_once_per_job_line() {
    let (_fx, _report, text, _code) = inspect_with_jobs(json!([
        { "name": "ok" }, { "name": "ok" }, { "name": "OK" }
    ]));
    assert!(
        text.contains("  error: job `ok`: is declared more than once\n"),
        "{text}"
    );
    assert!(
        text.contains("  error: job `OK`: has the same name as job `ok` (names are compared"),
        "{text}"
    );
}

#[test]
fn flags_a_source_folder_without_an_entry_file() {
    let (fx, _, _, _) = inspect_with_jobs(json!([{ "name": "ok" }]));
    fs::remove_file(fx.root.join("src/backend/jobs/ok/index.ts")).expect("rm");
    fs::write(fx.root.join("src/backend/jobs/ok/README.md"), "notes").expect("write");
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec![pair("missing-entry", "error")]);
    assert_eq!(report["jobs"][0]["hasSource"], true);
    assert_eq!(
        report["diagnostics"][0]["message"],
        "`src/backend/jobs/ok/` has no entry file (index.ts, index.tsx, index.mts, index.js, index.jsx, index.mjs); create `src/backend/jobs/ok/index.ts` exporting `run()`"
    );
    for entry in ["index.mts", "index.js", "index.mjs"] {
        let file = fx.root.join("src/backend/jobs/ok").join(entry);
        fs::write(&file, "").expect("write entry");
        fx.cmd().arg("backend-inspect").assert().success();
        fs::remove_file(&file).expect("rm");
    }
}

#[test]
fn a_manifest_without_name_or_version_is_unnamed() {
    let fx = Fixture::with_package_json(
        "{\"webstir\": {\"moduleManifest\": {\"kind\": \"backend\", \"jobs\": []}}}\n",
    );
    let out = stdout_of(fx.cmd().arg("backend-inspect"));
    assert!(
        out.contains("\nmanifest: (unnamed) (kind: backend)\ncapabilities: none\n"),
        "{out}"
    );
}

#[test]
fn flags_keys_the_schema_does_not_allow() {
    let (_fx, report, text, code) =
        inspect_with_jobs(json!([{ "name": "ok", "cron": "* * * * *" }]));
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec![pair("unknown-key", "error")]);
    assert!(text.contains("unknown key `cron`"), "{text}");
}

#[test]
fn flags_a_schedule_of_the_wrong_type_and_a_bad_time_zone() {
    let (_fx, report, _text, code) = inspect_with_jobs(json!([
        { "name": "ok", "schedule": 5, "timezone": "Nowhere/Land" }
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        codes(&report),
        vec![
            pair("invalid-schedule", "error"),
            pair("invalid-timezone", "error")
        ]
    );
}

#[test]
fn flags_names_that_cannot_be_folders() {
    let (_fx, report, _text, code) =
        inspect_with_jobs(json!([{ "name": "ok" }, { "name": "../../etc" }]));
    assert_eq!(code, 1);
    assert_eq!(codes(&report), vec![pair("invalid-name", "error")]);
    assert_eq!(report["jobs"].as_array().map(Vec::len), Some(1));
}

/// Issue 10: hand-written jobs named `con`, `scheduler` or `node_modules` passed with
/// `diagnostics: none`, though `add-job` refuses them and the build cannot run them.
#[test]
fn flags_hand_written_names_that_add_job_refuses() {
    for (name, rule) in [
        ("con", "reserved device name"),
        (
            "scheduler",
            "`build/backend/jobs/scheduler` is the scheduler binary",
        ),
        (
            "Scheduler.js",
            "`build/backend/jobs/scheduler.js` is the scheduler shim",
        ),
        (
            "webstir-runner.mjs",
            "`build/backend/jobs/webstir-runner.mjs` is the job runner script",
        ),
        (
            "WebstirNext",
            "names that begin with `webstir` are reserved",
        ),
        ("node_modules", "skips `node_modules` folders"),
    ] {
        let (_fx, report, text, code) =
            inspect_with_jobs(json!([{ "name": "ok" }, { "name": name }]));
        assert_eq!(code, 1, "{name}");
        assert_eq!(
            codes(&report),
            vec![pair("invalid-name", "error")],
            "{name}"
        );
        assert!(text.contains(rule), "{name}: {text}");
        assert!(
            text.contains(&format!(
                "has the name `{name}`, which `webstir add-job` refuses"
            )),
            "{text}"
        );
    }
}

#[test]
fn a_workspace_without_manifest_has_no_jobs() {
    let fx = Fixture::with_package_json("{\"name\": \"bare\", \"webstir\": {}}\n");
    let out = stdout_of(fx.cmd().arg("backend-inspect"));
    assert!(out.contains("workspace: bare\nmode: none\n"), "{out}");
    assert!(out.contains("manifest: none"), "{out}");
    assert!(out.ends_with("jobs: 0\ndiagnostics: none\n"), "{out}");
}

#[test]
fn a_malformed_package_json_fails_with_its_position() {
    let fx = Fixture::with_package_json("{\n  \"webstir\": {\n    \"mode\": api\n  }\n}\n");
    let stderr = rejected(fx.cmd().arg("backend-inspect"), 1);
    assert!(
        stderr.starts_with("webstir: error: package.json:3:13: "),
        "{stderr}"
    );
}

#[test]
fn inspecting_changes_nothing() {
    let (fx, _report, _text, _code) = inspect_with_jobs(json!([{ "name": "ghost" }]));
    let before = fx.snapshot();
    fx.cmd().arg("backend-inspect").output().expect("run");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn help_shows_examples() {
    let out = stdout_of(webstir().args(["backend-inspect", "--help"]));
    assert!(
        out.contains("Examples:\n  webstir backend-inspect\n"),
        "{out}"
    );
    let stderr = rejected(webstir().args(["backend-inspect", "--yaml"]), 2);
    assert!(stderr.contains("--yaml"), "{stderr}");
}

#[test]
fn a_symlinked_job_folder_is_not_a_source_folder() {
    let (fx, _, _, _) = inspect_with_jobs(json!([{ "name": "ok" }]));
    let outside = fx.temp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    fs::remove_dir_all(fx.root.join("src/backend/jobs/ok")).expect("rm");
    std::os::unix::fs::symlink(&outside, fx.root.join("src/backend/jobs/ok")).expect("symlink");
    let out = fx.cmd().arg("backend-inspect").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("error: job `ok`: `src/backend/jobs/ok` is a symbolic link"),
        "{text}"
    );
}

#[test]
fn each_job_stays_on_one_line() {
    let (_fx, report, text, code) =
        inspect_with_jobs(json!([{ "name": "ok", "description": "first\nsecond" }]));
    assert_eq!(code, 0, "{report}");
    assert!(
        text.contains("  - ok (description: first\\nsecond)\n"),
        "{text}"
    );
    assert_eq!(report["jobs"][0]["description"], "first\nsecond");
}
