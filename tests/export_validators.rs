//! `webstir export`'s output checked by each target's own validator, installed by scripts/test:
//! a missing validator fails the test rather than skipping it. The shell scripts run in a real
//! `sh` against stand-ins for `gcloud` and `temporal` that record their arguments.

mod export_support;
mod scheduler_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use export_support::*;

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

/// A stand-in for `gcloud` or `temporal` that records its arguments, one per line, so that the
/// scripts' quoting is checked by a real shell.
fn recorder(dir: &Path, program: &str) -> PathBuf {
    let log = dir.join(format!("{program}.log"));
    let script = format!(
        "#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\n' \"$arg\" >> '{}'; done\necho --- >> '{}'\n",
        log.display(),
        log.display()
    );
    let path = dir.join(program);
    fs::write(&path, script).expect("write recorder");
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    log
}

fn run_script(ws: &Ws, script: &str, bin: &Path, env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(ws.path(script)).env("PATH", path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run sh")
}

#[test]
fn the_cloud_scheduler_script_runs_gcloud_with_the_intended_arguments() {
    let ws = workspace(JOBS);
    let script = ok(&export(
        &ws,
        &["--target", "cloud-scheduler", "--skip-unsupported"],
    ));
    ws.file("cloud-scheduler.sh", &script);
    let bin = ws.path("bin");
    fs::create_dir_all(&bin).expect("mkdir");
    let log = recorder(&bin, "gcloud");

    let refused = run_script(&ws, "cloud-scheduler.sh", &bin, &[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("set WEBSTIR_ENDPOINT"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!log.exists(), "nothing runs without the endpoint");

    let ran = run_script(
        &ws,
        "cloud-scheduler.sh",
        &bin,
        &[
            ("WEBSTIR_ENDPOINT", "https://jobs.example.com/run"),
            ("LOCATION", "europe-west1"),
        ],
    );
    assert_valid("sh cloud-scheduler.sh", &ran);
    let calls = fs::read_to_string(&log).expect("log");
    let first: Vec<&str> = calls
        .split("---\n")
        .next()
        .expect("a call")
        .lines()
        .collect();
    assert_eq!(
        first,
        [
            "scheduler",
            "jobs",
            "create",
            "http",
            "demo-send-daily-reports",
            "--location=europe-west1",
            "--schedule=0 9 * * 1-5",
            "--time-zone=Europe/London",
            "--uri=https://jobs.example.com/run",
            "--http-method=POST",
            "--headers=Content-Type=application/json",
            "--message-body={\"job\":\"send_daily_reports\"}",
            "--attempt-deadline=300s",
        ]
    );
    assert_eq!(
        calls.matches("---").count(),
        5,
        "one call per job and schedule: {calls}"
    );
}

#[test]
fn the_temporal_script_runs_temporal_with_the_intended_arguments() {
    let ws = workspace(JOBS);
    let script = ok(&export(
        &ws,
        &["--target", "temporal", "--skip-unsupported"],
    ));
    ws.file("temporal.sh", &script);
    let bin = ws.path("bin");
    fs::create_dir_all(&bin).expect("mkdir");
    let log = recorder(&bin, "temporal");
    let ran = run_script(&ws, "temporal.sh", &bin, &[("TEMPORAL_TASK_QUEUE", "jobs")]);
    assert_valid("sh temporal.sh", &ran);
    let calls = fs::read_to_string(&log).expect("log");
    let cleanup = calls
        .split("---\n")
        .find(|c| c.contains("demo-cleanup"))
        .expect("the cleanup schedule");
    assert_eq!(
        cleanup.lines().collect::<Vec<_>>(),
        [
            "schedule",
            "create",
            "--schedule-id",
            "demo-cleanup",
            "--cron",
            "*/15 * * * *",
            "--cron",
            "0 0 * * *",
            "--time-zone",
            "America/New_York",
            "--overlap-policy",
            "Skip",
            "--workflow-id",
            "demo-cleanup",
            "--task-queue",
            "jobs",
            "--type",
            "WebstirJob",
            "--input",
            "\"cleanup\"",
            "--catchup-window",
            "10s",
        ]
    );
}
