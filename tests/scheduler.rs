//! `webstir scheduler`: listing, running once (`--job`, `--all`), arguments, environment,
//! timeouts, tenants and error paths, against real workspaces and a real Node.js.

mod scheduler_support;

use std::time::{Duration, Instant};

use scheduler_support::{Ws, assert_completed, lines};

const PRINT_ARGS: &str = r#"export async function run(...args) {
  console.log(JSON.stringify(args));
}
"#;

const PRINT_ENV: &str = r#"export async function run() {
  const { WEBSTIR_JOB, WEBSTIR_SCHEDULE, WEBSTIR_TENANT_ID, FROM_REAL, FROM_LOCAL, FROM_DOTENV } = process.env;
  console.log(JSON.stringify({ WEBSTIR_JOB, WEBSTIR_SCHEDULE, WEBSTIR_TENANT_ID, FROM_REAL, FROM_LOCAL, FROM_DOTENV }));
}
"#;

#[test]
fn no_jobs_is_reported_and_succeeds() {
    let ws = Ws::new("[]");
    let out = ws.scheduler(&[]).assert().success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "[jobs] no jobs registered in webstir.moduleManifest.jobs\n"
    );
    let ws = Ws::new("[]");
    ws.scheduler(&["--list"])
        .assert()
        .success()
        .stdout("[jobs] no jobs registered in webstir.moduleManifest.jobs\n");
}

#[test]
fn list_shows_one_line_per_job() {
    let ws = Ws::new(
        r#"[
      { "name": "cleanup", "description": "Removes stale sessions" },
      { "name": "warm-up", "schedule": "@reboot" },
      { "name": "both", "schedule": ["@reboot", "rate(5 minutes)"], "description": "Two schedules" }
    ]"#,
    );
    ws.scheduler(&["--list"]).assert().success().stdout(
        "- cleanup (manual) — Removes stale sessions\n\
         - warm-up (@reboot)\n\
         - both (@reboot, rate(5 minutes)) — Two schedules\n",
    );
}

#[test]
fn json_lists_the_jobs_metadata() {
    let ws = Ws::new(
        r#"[
      { "name": "cleanup", "description": "Removes stale sessions", "priority": 5, "timezone": "Europe/London", "timeout": "30s" },
      { "name": "fanout", "schedule": "@reboot", "tenants": ["a", "b"], "priority": "high",
        "overlap": "queue", "retry": { "attempts": 3, "delay": 30, "maxDelay": "10m" }, "jitter": "5s",
        "catchUp": "6h", "tenantConcurrency": 2 }
    ]"#,
    );
    let out = ws.scheduler(&["--json"]).assert().success();
    let value: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("JSON output");
    assert_eq!(
        value,
        serde_json::json!([
            {
                "name": "cleanup", "schedule": null, "description": "Removes stale sessions",
                "priority": 5, "timezone": "Europe/London", "timeout": "30s", "tenants": [],
                "overlap": "skip", "retry": null, "jitter": null, "catchUp": "none",
                "tenantConcurrency": 1, "runner": "process", "nextRun": null
            },
            {
                "name": "fanout", "schedule": "@reboot", "description": null,
                "priority": "high", "timezone": "UTC", "timeout": null, "tenants": ["a", "b"],
                "overlap": "queue",
                "retry": { "attempts": 3, "backoff": "exponential", "delay": "30s", "maxDelay": "10m" },
                "jitter": "5s", "catchUp": "6h", "tenantConcurrency": 2, "runner": "process",
                "nextRun": null
            }
        ])
    );
}

#[test]
fn json_with_no_jobs_is_an_empty_array() {
    let ws = Ws::new("[]");
    ws.scheduler(&["--json"]).assert().success().stdout("[]\n");
}

#[test]
fn job_runs_once_and_reports_completion() {
    let ws = Ws::new(r#"[{ "name": "hello" }]"#);
    ws.job(
        "hello",
        "export function run() { console.log('hello from the job'); }\n",
    );
    let out = ws.scheduler(&["--job", "hello"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout.len(), 3, "{stdout:?}");
    assert_eq!(stdout[0], "[jobs] running hello (schedule: manual)");
    assert_eq!(stdout[1], "[hello] hello from the job");
    assert_completed(&stdout[2], "hello");
    assert!(out.get_output().stderr.is_empty());
}

#[test]
fn default_export_function_is_run_too() {
    let ws = Ws::new(r#"[{ "name": "dflt" }, { "name": "obj" }, { "name": "mjs" }]"#);
    ws.job(
        "dflt",
        "export default async function () { console.log('default fn'); }\n",
    );
    ws.job(
        "obj",
        "export default { async run() { console.log('object run', this.tag); }, tag: 'ok' };\n",
    );
    ws.file(
        "build/backend/jobs/mjs/index.mjs",
        "export const run = () => console.log('from mjs');\n",
    );
    let out = ws.scheduler(&["--all"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("[dflt] default fn\n"), "{stdout}");
    assert!(stdout.contains("[obj] object run ok\n"), "{stdout}");
    assert!(stdout.contains("[mjs] from mjs\n"), "{stdout}");
}

#[test]
fn arguments_after_double_dash_reach_run() {
    let ws = Ws::new(r#"[{ "name": "send-email" }]"#);
    ws.job("send-email", PRINT_ARGS);
    let out = ws
        .scheduler(&["--job", "send-email", "--", "a@b.c", "Welcome"])
        .assert()
        .success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout[1], r#"[send-email] ["a@b.c","Welcome"]"#);
}

#[test]
fn names_match_the_way_add_job_normalizes_them() {
    let ws = Ws::new(r#"[{ "name": "send-daily-reports" }]"#);
    ws.job("send-daily-reports", "export function run() {}\n");
    for spelling in [
        "send-daily-reports",
        "SendDailyReports",
        "send_daily_reports",
    ] {
        let out = ws.scheduler(&["--job", spelling]).assert().success();
        let stdout = lines(&out.get_output().stdout);
        assert_eq!(
            stdout[0],
            "[jobs] running send-daily-reports (schedule: manual)"
        );
    }
}

#[test]
fn unknown_job_suggests_the_closest_name() {
    let ws = Ws::new(r#"[{ "name": "send-email" }, { "name": "cleanup" }]"#);
    ws.scheduler(&["--job", "send-emial"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("[jobs] job 'send-emial' not found\n[jobs] did you mean 'send-email'?\n");
    ws.scheduler(&["--job", "zzz"])
        .assert()
        .code(1)
        .stderr("[jobs] job 'zzz' not found\n");
}

#[test]
fn a_thrown_error_fails_the_run_with_its_message_and_stack() {
    let ws = Ws::new(r#"[{ "name": "boom" }]"#);
    ws.job(
        "boom",
        "export async function run() { throw new TypeError('kaput'); }\n",
    );
    let out = ws.scheduler(&["--job", "boom"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    assert_eq!(
        stderr.first().map(String::as_str),
        Some("[boom] TypeError: kaput")
    );
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("[boom]     at run (file://")),
        "stack is forwarded: {stderr:?}"
    );
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("[jobs] boom failed: kaput")
    );
}

#[test]
fn missing_module_and_missing_run_are_distinct_errors() {
    let ws = Ws::new(r#"[{ "name": "ghost" }, { "name": "norun" }, { "name": "broken" }]"#);
    ws.job("norun", "export const answer = 42;\n");
    ws.job("broken", "export function run( {\n");
    ws.file("build/backend/jobs/.keep", "");

    let out = ws.scheduler(&["--job", "ghost"]).assert().code(1);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stderr),
        "[jobs] ghost failed: job module not found (looked for build/backend/jobs/ghost/index.js and build/backend/jobs/ghost/index.mjs); build the jobs with `webstir build`\n"
    );

    let out = ws.scheduler(&["--job", "norun"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    let module = ws.path("build/backend/jobs/norun/index.js");
    assert_eq!(
        stderr.last().map(String::as_str),
        Some(
            format!(
                "[jobs] norun failed: {} exports no `run` function or default function (exports: answer)",
                module.display()
            )
            .as_str()
        )
    );

    let out = ws.scheduler(&["--job", "broken"]).assert().code(1);
    let stderr = lines(&out.get_output().stderr);
    let last = stderr.last().expect("a failure line");
    assert!(
        last.starts_with("[jobs] broken failed: could not load ") && last.contains("SyntaxError"),
        "{stderr:?}"
    );
}

#[test]
fn a_non_zero_exit_is_a_failure() {
    let ws = Ws::new(r#"[{ "name": "quits" }]"#);
    ws.job("quits", "export function run() { process.exit(3); }\n");
    ws.scheduler(&["--job", "quits"])
        .assert()
        .code(1)
        .stderr("[jobs] quits failed: exited with status 3\n");
}

#[test]
fn environment_precedence_is_real_then_env_local_then_env() {
    let ws = Ws::new(r#"[{ "name": "show-env" }]"#);
    ws.job("show-env", PRINT_ENV);
    ws.file(
        ".env",
        "FROM_REAL=dotenv\nFROM_LOCAL=dotenv\nFROM_DOTENV=dotenv\n",
    );
    ws.file(".env.local", "FROM_REAL=local\nFROM_LOCAL=local\n");
    let out = ws
        .scheduler(&["--job", "show-env"])
        .env("FROM_REAL", "real")
        .assert()
        .success();
    let stdout = lines(&out.get_output().stdout);
    let json = stdout[1].strip_prefix("[show-env] ").expect("prefixed");
    let env: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(
        env,
        serde_json::json!({
            "WEBSTIR_JOB": "show-env", "WEBSTIR_SCHEDULE": "manual",
            "FROM_REAL": "real", "FROM_LOCAL": "local", "FROM_DOTENV": "dotenv"
        })
    );
}

/// The line is named by its number and first word only: `PASSWORD s3cret` quoted whole put
/// the secret in the log.
#[test]
fn a_malformed_env_file_is_an_error_naming_the_file_the_line_and_the_fix_but_no_value() {
    let ws = Ws::new(r#"[{ "name": "show-env" }]"#);
    ws.job("show-env", PRINT_ENV);
    ws.file(".env", "GOOD=1\nPASSWORD s3cret\n");
    let out = ws.scheduler(&["--job", "show-env"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(
        stderr,
        format!(
            "webstir: error: {}:2: the line starting with `PASSWORD` is not an assignment; write KEY=value (or start a comment with #)\n",
            ws.path(".env").display()
        )
    );
    assert!(out.get_output().stdout.is_empty());

    // A byte order mark, which Node would silently make part of the first name, is named.
    ws.file(".env", "\u{feff}GOOD=1\n");
    let out = ws.scheduler(&["--job", "show-env"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(":1: the file starts with a byte order mark (`\\u{feff}`)"),
        "{stderr}"
    );
}

/// Job modules are Node code whose authors write `.env` for Node: an unquoted value with
/// spaces, a `$` in a password and a later duplicate must mean what `node --env-file` makes of
/// them, not fail or change silently.
#[test]
fn env_files_are_read_the_way_node_reads_them() {
    let ws = Ws::new(r#"[{ "name": "show-env" }]"#);
    ws.job(
        "show-env",
        "export function run() { const { GREETING, PASSWORD, MODE } = process.env; console.log(JSON.stringify({ GREETING, PASSWORD, MODE })); }\n",
    );
    ws.file(
        ".env",
        "GREETING=hello world # the default\nPASSWORD=abc$def\nMODE=first\nMODE=second\n",
    );
    let out = ws.scheduler(&["--job", "show-env"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(
        stdout[1],
        r#"[show-env] {"GREETING":"hello world","PASSWORD":"abc$def","MODE":"second"}"#
    );
}

#[test]
fn env_symlink_out_of_the_workspace_is_refused() {
    let outside = tempfile::tempdir().expect("temp");
    std::fs::write(outside.path().join("secrets"), "A=1\n").expect("write");
    let ws = Ws::new(r#"[{ "name": "show-env" }]"#);
    ws.job("show-env", PRINT_ENV);
    std::os::unix::fs::symlink(outside.path().join("secrets"), ws.path(".env")).expect("link");
    let out = ws.scheduler(&["--job", "show-env"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("points outside the workspace"), "{stderr}");
}

const SLOW_WITH_GRANDCHILD: &str = r#"import { spawn } from 'node:child_process';
export async function run() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  console.log(`pids ${process.pid} ${child.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 60000));
}
"#;

fn pids_in(stdout: &[String], prefix: &str) -> Vec<i32> {
    let line = stdout
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no pid line in {stdout:?}"));
    line.split_whitespace()
        .skip(1)
        .map(|p| p.parse().expect("pid"))
        .collect()
}

#[test]
fn timeout_flag_kills_the_whole_process_group() {
    let ws = Ws::new(r#"[{ "name": "slow" }]"#);
    ws.job("slow", SLOW_WITH_GRANDCHILD);
    let started = Instant::now();
    let out = ws
        // Long enough for Node to start and print its pids on a loaded machine.
        .scheduler(&["--job", "slow", "--timeout", "8s"])
        .assert()
        .code(1)
        .stderr("[jobs] slow failed: timed out after 8s\n");
    // Far below the job's own 60 s: the limit, not the job, ended the run.
    assert!(started.elapsed() < Duration::from_secs(40));
    let stdout = lines(&out.get_output().stdout);
    for pid in pids_in(&stdout, "[slow] ") {
        assert!(
            scheduler_support::gone(pid),
            "process {pid} outlived the timeout"
        );
    }
}

#[test]
fn manifest_timeout_applies_and_the_flag_overrides_it() {
    let ws = Ws::new(r#"[{ "name": "slow", "timeout": "1s" }]"#);
    ws.job(
        "slow",
        "export async function run() { await new Promise((r) => setTimeout(r, 3000)); console.log('finished'); }\n",
    );
    ws.scheduler(&["--job", "slow"])
        .assert()
        .code(1)
        .stderr("[jobs] slow failed: timed out after 1s\n");
    let out = ws
        .scheduler(&["--job", "slow", "--timeout", "2m"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("[slow] finished\n"));
}

#[test]
fn all_runs_every_job_in_order_and_reports_failures() {
    let ws = Ws::new(r#"[{ "name": "first" }, { "name": "second" }, { "name": "third" }]"#);
    ws.job("first", "export function run() { console.log('one'); }\n");
    ws.job(
        "second",
        "export function run() { throw new Error('two failed'); }\n",
    );
    ws.job("third", "export function run() { console.log('three'); }\n");
    for args in [&["--all"][..], &[][..]] {
        let out = ws.scheduler(args).assert().code(1);
        let stdout = lines(&out.get_output().stdout);
        let running: Vec<&str> = stdout
            .iter()
            .filter(|l| l.starts_with("[jobs] running"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            running,
            [
                "[jobs] running first (schedule: manual)",
                "[jobs] running second (schedule: manual)",
                "[jobs] running third (schedule: manual)"
            ]
        );
        assert!(stdout.contains(&"[third] three".to_owned()), "{stdout:?}");
        let stderr = lines(&out.get_output().stderr);
        assert!(stderr.contains(&"[jobs] second failed: two failed".to_owned()));
        assert_eq!(
            stderr.last().map(String::as_str),
            Some("[jobs] 1 of 3 job run(s) failed: second")
        );
    }
}

#[test]
fn all_succeeding_exits_zero() {
    let ws = Ws::new(r#"[{ "name": "a" }, { "name": "b" }]"#);
    ws.job("a", "export function run() {}\n");
    ws.job("b", "export function run() {}\n");
    let out = ws.scheduler(&["--all"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout.len(), 4, "{stdout:?}");
    assert_completed(&stdout[1], "a");
    assert_completed(&stdout[3], "b");
}

#[test]
fn tenants_run_in_isolation_with_their_id() {
    let ws = Ws::new(r#"[{ "name": "per-tenant", "tenants": ["acme", "bad", "globex"] }]"#);
    ws.job(
        "per-tenant",
        r#"export function run() {
  if (process.env.WEBSTIR_TENANT_ID === 'bad') throw new Error('tenant bad broke');
  console.log(`tenant=${process.env.WEBSTIR_TENANT_ID} pid=${process.pid}`);
}
"#,
    );
    let out = ws.scheduler(&["--job", "per-tenant"]).assert().code(1);
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(
        stdout[0],
        "[jobs] running per-tenant for tenant acme (schedule: manual)"
    );
    assert!(stdout[1].starts_with("[per-tenant@acme] tenant=acme pid="));
    assert_completed(&stdout[2], "per-tenant for tenant acme");
    assert_eq!(
        stdout[3],
        "[jobs] running per-tenant for tenant bad (schedule: manual)"
    );
    assert_eq!(
        stdout[4],
        "[jobs] running per-tenant for tenant globex (schedule: manual)"
    );
    assert!(stdout[5].starts_with("[per-tenant@globex] tenant=globex pid="));
    let pid = |line: &str| line.rsplit_once("pid=").map(|(_, p)| p.to_owned());
    assert_ne!(
        pid(&stdout[1]),
        pid(&stdout[5]),
        "each tenant has its own process"
    );
    let stderr = lines(&out.get_output().stderr);
    assert!(
        stderr.contains(&"[jobs] per-tenant for tenant bad failed: tenant bad broke".to_owned())
    );
    assert_eq!(
        stderr.last().map(String::as_str),
        Some("[jobs] 1 of 3 job run(s) failed: per-tenant for tenant bad")
    );
}

#[test]
fn tenants_flag_replaces_the_manifest_tenants() {
    let ws = Ws::new(r#"[{ "name": "t", "tenants": ["x"] }]"#);
    ws.job(
        "t",
        "export function run() { console.log(process.env.WEBSTIR_TENANT_ID); }\n",
    );
    let out = ws
        .scheduler(&["--job", "t", "--tenants", "a,b"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("[t@a] a\n") && stdout.contains("[t@b] b\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("[t@x]"), "{stdout}");
    ws.scheduler(&["--job", "t", "--tenants", "a,,b"])
        .assert()
        .code(2);
}

#[test]
fn usage_errors_exit_2_and_change_nothing() {
    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    ws.job("a", "export function run() {}\n");
    let before = ws.read("package.json");
    for args in [
        &["--", "x"][..],
        &["--watch", "--job", "a", "--", "x"],
        &["--list", "--job", "a"],
        &["--all", "--job", "a"],
        &["--timeout", "soon"],
        &["--timeout", "0s"],
        &["--log-format", "xml"],
        &["--timezone", "Mars/Olympus"],
    ] {
        let out = ws.scheduler(args).assert().code(2);
        assert!(
            !out.get_output().stderr.is_empty(),
            "{args:?} should explain the problem"
        );
    }
    assert_eq!(ws.read("package.json"), before);
    assert!(!ws.path("build/backend/jobs/webstir-runner.mjs").exists());
}

#[test]
fn an_invalid_manifest_is_refused() {
    let ws = Ws::new(r#"[{ "name": "a", "schedule": 5 }]"#);
    let out = ws.scheduler(&["--all"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("webstir: error: the module manifest in package.json is invalid"),
        "{stderr}"
    );
}

#[test]
fn a_missing_node_is_a_clear_failure() {
    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    ws.job("a", "export function run() {}\n");
    let out = ws
        .scheduler(&["--job", "a", "--node", "/nonexistent/node"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("[jobs] a failed: could not start `/nonexistent/node`"),
        "{stderr}"
    );
    let out = ws
        .scheduler(&["--job", "a"])
        .env("WEBSTIR_NODE", "/nonexistent/from-env")
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("/nonexistent/from-env"));
}

#[test]
fn json_log_format_writes_one_object_per_event() {
    let ws = Ws::new(r#"[{ "name": "ok" }, { "name": "bad" }]"#);
    ws.job("ok", "export function run() { console.log('hi'); }\n");
    ws.job(
        "bad",
        "export function run() { throw new Error('nope'); }\n",
    );
    let out = ws
        .scheduler(&["--all", "--log-format", "json"])
        .assert()
        .code(1);
    let events: Vec<serde_json::Value> = lines(&out.get_output().stdout)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let find = |job: &str, event: &str| {
        events
            .iter()
            .find(|e| e["job"] == job && e["event"] == event)
            .unwrap_or_else(|| panic!("no {event} event for {job} in {events:?}"))
            .clone()
    };
    let completed = find("ok", "completed");
    assert_eq!(completed["level"], "info");
    assert_eq!(completed["exit_status"], 0);
    assert!(completed["duration_ms"].is_u64());
    assert!(completed["time"].is_string());
    assert_eq!(find("ok", "output")["message"], "hi");
    let failed = find("bad", "failed");
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["error"], "nope");
    assert_eq!(failed["exit_status"], 1);
}

#[test]
fn runs_as_its_own_program_from_the_build_folder() {
    let ws = Ws::new(r#"[{ "name": "hello", "description": "Says hello" }]"#);
    ws.job("hello", "export function run() { console.log('hi'); }\n");
    let installed = ws.path("build/backend/jobs/scheduler");
    std::fs::copy(assert_cmd::cargo::cargo_bin("webstir"), &installed).expect("copy binary");
    let elsewhere = tempfile::tempdir().expect("temp");

    let mut cmd = assert_cmd::Command::new(&installed);
    cmd.arg("--list")
        .current_dir(elsewhere.path())
        .env_remove("WEBSTIR_WORKSPACE");
    cmd.assert()
        .success()
        .stdout("- hello (manual) — Says hello\n");

    let mut cmd = assert_cmd::Command::new(&installed);
    let out = cmd.arg("--help").assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(help.contains("Usage: scheduler [OPTIONS]"), "{help}");
    assert!(help.contains("--watch"), "{help}");

    let mut cmd = assert_cmd::Command::new(&installed);
    cmd.args(["--job", "nope"]).env_remove("WEBSTIR_WORKSPACE");
    cmd.assert().code(1).stderr("[jobs] job 'nope' not found\n");
}

#[test]
fn a_job_module_outside_the_workspace_is_never_run() {
    let outside = tempfile::tempdir().expect("temp");
    std::fs::write(
        outside.path().join("index.js"),
        "export function run() { console.log('escaped'); }\n",
    )
    .expect("write");
    let ws = Ws::new(r#"[{ "name": "linked" }]"#);
    ws.file("build/backend/jobs/.keep", "");
    std::os::unix::fs::symlink(outside.path(), ws.path("build/backend/jobs/linked")).expect("link");
    let out = ws.scheduler(&["--all"]).assert().code(1);
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains("escaped"));
    let stderr = lines(&out.get_output().stderr);
    assert_eq!(
        stderr[0],
        "[jobs] linked failed: refusing to run build/backend/jobs/linked/index.js: it is a symbolic link that leads outside the workspace"
    );
}

// A manifest name that could climb out of build/backend/jobs makes the whole manifest invalid:
// the scheduler fails closed and runs nothing, not even the well-named jobs beside it.
#[test]
fn a_job_name_that_leaves_the_jobs_folder_fails_the_manifest_closed() {
    let ws = Ws::new(r#"[{ "name": "fine" }, { "name": "../../../escape" }]"#);
    ws.job(
        "fine",
        "export function run() { console.log('fine ran'); }\n",
    );
    let out = ws.scheduler(&["--all"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!stdout.contains("fine ran"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("the module manifest in package.json is invalid")
            && stderr.contains("`../../../escape`")
            && stderr.contains("path separator"),
        "{stderr}"
    );
}

#[test]
fn processes_a_finished_job_left_behind_are_ended_with_it() {
    let ws = Ws::new(r#"[{ "name": "leaky" }]"#);
    ws.job(
        "leaky",
        r#"import { spawn } from 'node:child_process';
export function run() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  child.unref();
  console.log(`pids ${child.pid}`);
}
"#,
    );
    let started = Instant::now();
    let out = ws.scheduler(&["--job", "leaky"]).assert().success();
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "did not wait for the sleep"
    );
    let stdout = lines(&out.get_output().stdout);
    for pid in pids_in(&stdout, "[leaky] ") {
        assert!(
            scheduler_support::gone(pid),
            "process {pid} outlived its job"
        );
    }
}

#[test]
fn a_manual_run_of_a_scheduled_job_shows_its_schedule() {
    let ws = Ws::new(r#"[{ "name": "nightly", "schedule": ["@reboot", "rate(1 hour)"] }]"#);
    ws.job(
        "nightly",
        "export function run() { console.log(process.env.WEBSTIR_SCHEDULE); }\n",
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(
        stdout[0],
        "[jobs] running nightly (schedule: @reboot, rate(1 hour))"
    );
    assert_eq!(stdout[1], "[nightly] manual");
}

/// `--list --json` was documented as a conflict but printed JSON: it is the list as JSON.
#[test]
fn list_with_json_is_the_json_list() {
    let ws = Ws::new(r#"[{ "name": "cleanup", "description": "Sweeps" }]"#);
    let json = ws.scheduler(&["--json"]).assert().success();
    let both = ws.scheduler(&["--list", "--json"]).assert().success();
    assert_eq!(both.get_output().stdout, json.get_output().stdout);
    assert!(both.get_output().stderr.is_empty());
    for args in [["--json", "--watch"], ["--list", "--all"]] {
        ws.scheduler(&args).assert().code(2);
    }
}
