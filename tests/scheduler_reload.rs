//! `scheduler --watch` follows `package.json`: added, removed and changed jobs, an invalid
//! edit, SIGHUP, and runs in progress left alone, with the real binary and real Node.js.

mod scheduler_support;

use scheduler_support::*;

/// `package.json` text with `jobs` (a JSON array), the way [`Ws::new`] writes it.
fn manifest(jobs: &str) -> String {
    format!(
        "{{\n  \"name\": \"demo\",\n  \"type\": \"module\",\n  \"webstir\": {{\n    \"mode\": \"api\",\n    \"moduleManifest\": {{ \"jobs\": {jobs} }}\n  }}\n}}\n"
    )
}

/// Replaces `package.json` the way webstir and most editors do: a new file renamed over it.
fn replace_manifest(ws: &Ws, jobs: &str) {
    ws.file("package.json.tmp", &manifest(jobs));
    std::fs::rename(ws.path("package.json.tmp"), ws.path("package.json")).expect("rename");
}

/// A job that says it started (with its pid), waits for the file `release`, then says done.
const WAITS_FOR_RELEASE: &str = r#"import { existsSync } from 'node:fs';
export async function run() {
  console.log(`started pid=${process.pid}`);
  while (!existsSync('release')) await new Promise((resolve) => setTimeout(resolve, 20));
  console.log('done');
}
"#;

const SAYS_HI: &str = "export function run() { console.log('hi'); }\n";

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == line).count()
}

#[test]
fn added_removed_and_changed_jobs_are_followed_and_a_running_job_is_left_alone() {
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "rate(1 hour)" }]"#);
    ws.job("slow", WAITS_FOR_RELEASE);
    ws.job("added", SAYS_HI);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let started = running.wait_for("slow to start", |l| l.starts_with("[slow] started pid="));
    let pid: i32 = started
        .rsplit_once('=')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a pid");

    // Added by `webstir add-job`, which rewrites package.json while the scheduler runs.
    ws.webstir(&["add-job", "added", "--schedule", "rate(1 hour)"])
        .assert()
        .success();
    running.wait_for("the reload", |l| {
        l == "[jobs] manifest reloaded: +1 job (added: added)"
    });
    running.wait_for("the new job to run", |l| l == "[added] hi");

    // Changed: its new schedule is armed (a changed rate starts one interval from now).
    replace_manifest(
        &ws,
        r#"[{ "name": "slow", "schedule": "rate(1 hour)" }, { "name": "added", "schedule": "rate(1 second)" }]"#,
    );
    running.wait_for("the change", |l| {
        l == "[jobs] manifest reloaded: 1 changed (changed: added)"
    });
    running.wait_for("the changed job to run again", |l| l == "[added] hi");

    // Removed while it runs: the run goes on and is not restarted.
    replace_manifest(
        &ws,
        r#"[{ "name": "added", "schedule": "rate(1 second)" }]"#,
    );
    running.wait_for("the removal", |l| {
        l == "[jobs] manifest reloaded: -1 job (removed: slow)"
    });
    assert!(alive(pid), "the running job was left alone");
    ws.file("release", "");
    running.wait_for("the removed job's run to end", |l| l == "[slow] done");
    running.wait_for("its completion", |l| {
        l.starts_with("[jobs] slow completed in ")
    });
    // The remaining job goes on firing.
    running.wait_for("another run of the changed job", |l| l == "[added] hi");

    running.signal(libc::SIGTERM);
    let finished = running.finish();
    assert_eq!(finished.code, Some(0));
    assert_eq!(
        count(
            &finished.stdout,
            "[jobs] running slow (schedule: rate(1 hour))"
        ),
        1,
        "slow ran once: {:#?}",
        finished.stdout
    );
}

#[test]
fn an_invalid_edit_is_reported_and_the_last_valid_plan_is_kept() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)" }]"#);
    ws.job("tick", SAYS_HI);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("a first run", |l| l == "[tick] hi");

    // Not JSON (Node cannot load the job while package.json is broken, but the scheduler
    // keeps firing it).
    ws.file("package.json", "{ \"webstir\": ");
    let line = running.wait_for("the refusal", |l| l.contains("manifest not reloaded"));
    assert!(
        line.starts_with(
            "[jobs] manifest not reloaded, keeping the last valid plan: package.json:1:"
        ),
        "{line}"
    );
    running.wait_for("a fire after the refusal", |l| {
        l == "[jobs] running tick (schedule: rate(1 second))"
    });
    // Valid JSON, invalid manifest: each diagnostic on a line of its own.
    replace_manifest(&ws, r#"[{ "name": "tick", "schedule": "every tuesday" }]"#);
    running.wait_for("the second refusal", |l| {
        l == "[jobs] manifest not reloaded, keeping the last valid plan: the module manifest in package.json is invalid:"
    });
    let diagnostic = running.wait_for("the diagnostic", |l| l.starts_with("[jobs]   - "));
    assert!(diagnostic.contains("every tuesday"), "{diagnostic}");
    // The old plan still fires.
    running.wait_for("a run after the refusals", |l| l == "[tick] hi");
    running.wait_for("another run after the refusals", |l| l == "[tick] hi");

    // Fixed again: followed.
    replace_manifest(
        &ws,
        r#"[{ "name": "tick", "schedule": "rate(2 seconds)" }]"#,
    );
    running.wait_for("the reload", |l| {
        l == "[jobs] manifest reloaded: 1 changed (changed: tick)"
    });
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn sighup_forces_a_reread_and_does_not_stop_the_watcher() {
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "rate(1 hour)" }]"#);
    ws.job("slow", WAITS_FOR_RELEASE);
    let mut running = ws.spawn_scheduler(&["--watch", "--log-format", "json"]);
    running.wait_for("slow to start", |l| l.contains("started pid="));
    running.signal(libc::SIGHUP);
    let line = running.wait_for("the reload", |l| l.contains(r#""event":"reloaded""#));
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON event");
    assert_eq!(event["message"], "manifest reloaded: no job changed");
    assert_eq!(event["signal"], "SIGHUP");
    assert_eq!(event["level"], "info");
    // A second SIGHUP too; the scheduler and its run are still there.
    running.signal(libc::SIGHUP);
    running.wait_for("the second reload", |l| l.contains(r#""event":"reloaded""#));
    ws.file("release", "");
    running.wait_for("the run to end", |l| l.contains(r#""event":"completed""#));
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn a_failed_reload_is_a_json_event_too() {
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "rate(1 hour)" }]"#);
    ws.job("slow", WAITS_FOR_RELEASE);
    let mut running = ws.spawn_scheduler(&["--watch", "--log-format", "json"]);
    running.wait_for("slow to start", |l| l.contains("started pid="));
    replace_manifest(
        &ws,
        r#"[{ "name": "slow", "schedule": "rate(1 hour)", "timeout": "soon" }]"#,
    );
    let line = running.wait_for("the refusal", |l| l.contains(r#""event":"reload-failed""#));
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON event");
    assert_eq!(event["level"], "error");
    assert!(
        event["error"]
            .as_str()
            .is_some_and(|e| e.contains("timeout")),
        "{event}"
    );
    ws.file("release", "");
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn with_job_only_that_job_is_followed() {
    let ws = Ws::new(r#"[{ "name": "mine", "schedule": "rate(1 hour)" }]"#);
    ws.job("mine", SAYS_HI);
    ws.job(
        "other",
        "export function run() { console.log('other ran'); }\n",
    );
    let mut running = ws.spawn_scheduler(&["--watch", "--job", "mine"]);
    running.wait_for("a first run", |l| l == "[mine] hi");
    replace_manifest(
        &ws,
        r#"[{ "name": "mine", "schedule": "rate(1 hour)" }, { "name": "other", "schedule": "rate(1 second)" }]"#,
    );
    running.wait_for("the reload", |l| {
        l == "[jobs] manifest reloaded: no job changed"
    });
    replace_manifest(&ws, r#"[{ "name": "mine", "schedule": "rate(1 second)" }]"#);
    running.wait_for("the change", |l| {
        l == "[jobs] manifest reloaded: 1 changed (changed: mine)"
    });
    running.wait_for("a run on the new schedule", |l| l == "[mine] hi");
    running.signal(libc::SIGTERM);
    let finished = running.finish();
    assert_eq!(finished.code, Some(0));
    assert!(
        !finished.stdout.iter().any(|l| l.contains("other ran")),
        "{:#?}",
        finished.stdout
    );
}

#[test]
fn a_catch_up_window_added_by_a_reload_starts_recording_fires() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "* * * * * *" }]"#);
    ws.job("tick", SAYS_HI);
    // Without the run history, only catch-up keeps state.
    let mut running = ws.spawn_scheduler(&["--watch", "--no-history"]);
    running.wait_for("a first run", |l| l == "[tick] hi");
    assert!(
        !ws.path(".webstir").exists(),
        "no job catches up yet: no state is kept"
    );
    replace_manifest(
        &ws,
        r#"[{ "name": "tick", "schedule": "* * * * * *", "catchUp": "1h" }]"#,
    );
    running.wait_for("the change", |l| {
        l == "[jobs] manifest reloaded: 1 changed (changed: tick)"
    });
    running.wait_for("a run after the change", |l| l == "[tick] hi");
    running.wait_for("another one", |l| l == "[tick] hi");
    running.signal(libc::SIGTERM);
    running.finish();
    assert!(
        ws.path(".webstir/state.db").is_file(),
        "fires of the job that gained a catch-up window are recorded"
    );
}
