//! `webstir export`: golden files per target, the policies each target translates, and the
//! failure paths. The targets' validators run in export_validators.rs, the fire-time checks in
//! export_translation.rs.

mod export_support;
mod scheduler_support;

use std::fs;
use std::path::{Path, PathBuf};

use export_support::*;

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
    // The Job controller retries; the scheduler in the pod must not retry again.
    let args: Vec<&str> = yaml
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("args:"))
        .collect();
    assert_eq!(
        args,
        [
            r#"args: ["--job", "queued", "--no-retry"]"#,
            r#"args: ["--job", "replaced"]"#,
            r#"args: ["--job", "parallel"]"#,
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
    let exec = service
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    assert!(exec.ends_with(" --job queued --no-retry"), "{exec}");
    let plain = fs::read_to_string(dir.join("demo-parallel.service")).expect("service");
    assert!(!plain.contains("--no-retry"), "{plain}");
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

#[test]
fn a_job_without_a_zone_is_exported_in_utc_whatever_the_machine() {
    let ws = Ws::new(
        r#"[{ "name": "cleanup", "schedule": "@daily" }, { "name": "own", "schedule": "@daily", "timezone": "Asia/Tokyo" }]"#,
    );
    // TZ=UTC here: the local watcher agrees with the export, nothing to warn about.
    let out = export(&ws, &["--target", "kubernetes", "--image", "img:1"]);
    let yaml = ok(&out);
    assert!(yaml.contains("timeZone: \"UTC\""), "{yaml}");
    assert!(yaml.contains("timeZone: \"Asia/Tokyo\""), "{yaml}");
    assert_eq!(text(&out.stderr), "");

    // Elsewhere the output stays the same, and the difference from the local watcher is said.
    let out = ws
        .webstir(&["export", "--target", "kubernetes", "--image", "img:1"])
        .env("TZ", "Europe/Berlin")
        .output()
        .expect("run webstir export");
    assert_eq!(ok(&out), yaml);
    assert_eq!(
        text(&out.stderr),
        "webstir: warning: job `cleanup` has no `timezone` and webstir.toml sets none: exported \
         in UTC, while `webstir scheduler` here fires it in `Europe/Berlin` (pin a zone with \
         `webstir config set timezone <zone>`)\n"
    );
}
