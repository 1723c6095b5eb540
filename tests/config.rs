//! `webstir config` and `webstir.toml`: edits keep comments and layout, bad input changes
//! nothing, and the scheduler takes its defaults from the file while flags win.

mod scheduler_support;

use scheduler_support::{Ws, lines};

use serde_json::Value;

const COMMENTED: &str = "# Scheduler defaults for this workspace.\n\
grace   = \"5s\"   # give jobs time to flush\n\
\n\
# Logs go to the collector.\n\
log-format = \"text\"\n";

#[test]
fn set_creates_the_file_and_get_reads_it_back() {
    let ws = Ws::new("[]");
    ws.webstir(&["config", "set", "grace", "30s"])
        .assert()
        .success();
    assert_eq!(ws.read("webstir.toml"), "grace = \"30s\"\n");
    ws.webstir(&["config", "get", "grace"])
        .assert()
        .success()
        .stdout("30s\n");
    ws.webstir(&["config", "get", "node"])
        .assert()
        .success()
        .stdout("node\n");
    ws.webstir(&["config", "get", "timeout"]).assert().code(1);
}

#[test]
fn set_keeps_comments_and_layout() {
    let ws = Ws::new("[]");
    ws.file("webstir.toml", COMMENTED);
    ws.webstir(&["config", "set", "grace", "1m"])
        .assert()
        .success();
    ws.webstir(&["config", "set", "timezone", "Europe/London"])
        .assert()
        .success();
    assert_eq!(
        ws.read("webstir.toml"),
        "# Scheduler defaults for this workspace.\n\
grace   = \"1m\"   # give jobs time to flush\n\
\n\
# Logs go to the collector.\n\
log-format = \"text\"\n\
timezone = \"Europe/London\"\n"
    );
    ws.webstir(&["config", "unset", "timezone"])
        .assert()
        .success();
    assert_eq!(
        ws.read("webstir.toml"),
        COMMENTED.replace("\"5s\"", "\"1m\"")
    );
}

#[test]
fn list_shows_values_and_defaults() {
    let ws = Ws::new("[]");
    ws.file("webstir.toml", COMMENTED);
    ws.webstir(&["config", "list"]).assert().success().stdout(
        "node = \"node\" (default)\n\
         grace = \"5s\"\n\
         timeout is not set\n\
         log-format = \"text\"\n\
         timezone is not set\n\
         overlap = \"skip\" (default)\n\
         retry = \"1\" (default)\n\
         retry-delay = \"10s\" (default)\n\
         retry-backoff = \"exponential\" (default)\n\
         retry-max-delay is not set\n\
         jitter is not set\n\
         catch-up = \"none\" (default)\n\
         tenant-concurrency = \"1\" (default)\n\
         runner = \"process\" (default)\n\
         worker-pool is not set\n\
         worker-concurrency = \"16\" (default)\n\
         worker-max-runs is not set\n\
         worker-max-memory = \"512MiB\" (default)\n\
         history-limit = \"1000\" (default)\n\
         store = \"sqlite\" (default)\n",
    );
    let out = ws.webstir(&["config", "list", "--json"]).assert().success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "node": "node", "grace": "5s", "timeout": null, "log-format": "text", "timezone": null,
            "overlap": "skip", "retry": "1", "retry-delay": "10s", "retry-backoff": "exponential",
            "retry-max-delay": null, "jitter": null, "catch-up": "none", "tenant-concurrency": "1",
            "runner": "process", "worker-pool": null, "worker-concurrency": "16",
            "worker-max-runs": null,
            "worker-max-memory": "512MiB",
            "history-limit": "1000",
            "store": "sqlite"
        })
    );
}

#[test]
fn bad_keys_and_values_are_usage_errors_that_change_nothing() {
    let ws = Ws::new("[]");
    ws.file("webstir.toml", COMMENTED);
    for (args, message) in [
        (
            &["config", "set", "colour", "red"][..],
            "webstir: error: unknown setting `colour` (accepted: node, grace, timeout, log-format, timezone, overlap, retry, retry-delay, retry-backoff, retry-max-delay, jitter, catch-up, tenant-concurrency, runner, worker-pool, worker-concurrency, worker-max-runs, worker-max-memory, history-limit, store)\n",
        ),
        (
            &["config", "set", "grace", "soon"],
            "webstir: error: invalid value `soon` for `grace`: expected a duration such as `30s`, `5m` or `1h 30m`, or a number of seconds\n",
        ),
        (
            &["config", "set", "store", "mysql://root:hunter2@db/jobs"],
            "webstir: error: invalid value `mysql://root:***@db/jobs` for `store`: expected `sqlite` (the default, .webstir/state.db) or a PostgreSQL URL such as `postgres://user:password@host:5432/database`\n",
        ),
        (
            &["config", "set", "log-format", "xml"],
            "webstir: error: invalid value `xml` for `log-format`: expected `text` or `json`\n",
        ),
        (
            &["config", "get", "colour"],
            "webstir: error: unknown setting `colour` (accepted: node, grace, timeout, log-format, timezone, overlap, retry, retry-delay, retry-backoff, retry-max-delay, jitter, catch-up, tenant-concurrency, runner, worker-pool, worker-concurrency, worker-max-runs, worker-max-memory, history-limit, store)\n",
        ),
    ] {
        ws.webstir(args).assert().code(2).stderr(message);
    }
    let out = ws
        .webstir(&["config", "set", "timezone", "Mars/Olympus"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("unknown time zone"));
    assert_eq!(ws.read("webstir.toml"), COMMENTED);
}

#[test]
fn a_broken_file_is_reported_with_line_and_column_and_left_alone() {
    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    let broken = "# defaults\nnode = \"node\"\ngrace = \"forever\"\n";
    ws.file("webstir.toml", broken);
    ws.scheduler(&["--all"])
        .assert()
        .code(1)
        .stderr("webstir: error: webstir.toml:3:9: `grace`: expected a duration such as `30s`, `5m` or `1h 30m`, or a number of seconds\n");
    ws.webstir(&["config", "set", "node", "/usr/bin/node"])
        .assert()
        .code(1);
    assert_eq!(ws.read("webstir.toml"), broken);

    ws.file("webstir.toml", "grace = \"5s\n");
    let out = ws.scheduler(&["--list"]).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("webstir: error: webstir.toml:1:"),
        "{stderr}"
    );
}

#[test]
fn a_symlinked_settings_file_is_refused() {
    let ws = Ws::new("[]");
    let outside = tempfile::tempdir().expect("temp");
    let target = outside.path().join("elsewhere.toml");
    std::fs::write(&target, "grace = \"5s\"\n").expect("write");
    std::os::unix::fs::symlink(&target, ws.path("webstir.toml")).expect("link");
    ws.webstir(&["config", "set", "grace", "9s"])
        .assert()
        .code(1);
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "grace = \"5s\"\n"
    );
}

#[test]
fn the_scheduler_uses_the_file_and_flags_win() {
    let ws = Ws::new(r#"[{ "name": "slow" }]"#);
    ws.job(
        "slow",
        "export async function run() { console.log('started'); await new Promise((r) => setTimeout(r, 3000)); }\n",
    );
    ws.file("webstir.toml", "timeout = \"1s\"\nlog-format = \"json\"\n");
    let out = ws.scheduler(&["--job", "slow"]).assert().code(1);
    let events: Vec<serde_json::Value> = lines(&out.get_output().stdout)
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    let failed = events
        .iter()
        .find(|e| e["event"] == "failed")
        .expect("failed event");
    assert_eq!(failed["error"], "timed out after 1s");

    let out = ws
        .scheduler(&["--job", "slow", "--log-format", "text", "--timeout", "1m"])
        .assert()
        .success();
    let stdout = lines(&out.get_output().stdout);
    assert_eq!(stdout[0], "[jobs] running slow (schedule: manual)");
    assert_eq!(stdout[1], "[slow] started");
}

#[test]
fn the_node_setting_picks_the_executable() {
    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    ws.job("a", "export function run() {}\n");
    ws.file("webstir.toml", "node = \"/nonexistent/node-from-toml\"\n");
    let out = ws.scheduler(&["--job", "a"]).assert().code(1);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .starts_with("[jobs] a failed: could not start `/nonexistent/node-from-toml`")
    );
    ws.scheduler(&["--job", "a", "--node", "node"])
        .assert()
        .success();
}

#[test]
fn the_timezone_setting_applies_to_jobs_without_their_own_and_the_flag_wins() {
    let ws = Ws::new(
        r#"[
      { "name": "local", "schedule": "0 9 * * *" },
      { "name": "pinned", "schedule": "0 9 * * *", "timezone": "Asia/Tokyo" }
    ]"#,
    );
    ws.file("webstir.toml", "timezone = \"Europe/London\"\n");
    let zones = |args: &[&str]| -> Vec<Value> {
        let out = ws.scheduler(args).assert().success();
        let jobs: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
        jobs.iter().map(|j| j["timezone"].clone()).collect()
    };
    assert_eq!(zones(&["--json"]), ["Europe/London", "Asia/Tokyo"]);
    assert_eq!(
        zones(&["--json", "--timezone", "America/New_York"]),
        ["America/New_York", "Asia/Tokyo"]
    );
}

#[test]
fn the_grace_setting_applies_and_the_flag_wins() {
    let ws = Ws::new(r#"[{ "name": "stubborn" }]"#);
    ws.job(
        "stubborn",
        r#"export async function run() {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  console.log('started');
  await new Promise((resolve) => setTimeout(resolve, 120000));
}
"#,
    );
    ws.file("webstir.toml", "grace = \"1s\"\n");
    for (flags, expected) in [
        (
            &[][..],
            "[jobs] stubborn failed: killed after the 1s grace period",
        ),
        (
            &["--grace", "2s"][..],
            "[jobs] stubborn failed: killed after the 2s grace period",
        ),
    ] {
        let mut args = vec!["--job", "stubborn"];
        args.extend_from_slice(flags);
        let mut running = ws.spawn_scheduler(&args);
        running.wait_for("the job to start", |l| l == "[stubborn] started");
        running.signal(libc::SIGTERM);
        let done = running.finish();
        assert_eq!(done.code, Some(1));
        assert_eq!(done.stderr.last().map(String::as_str), Some(expected));
    }
}

#[test]
fn webstir_node_wins_over_the_file_and_the_flag_over_both() {
    let ws = Ws::new(r#"[{ "name": "a" }]"#);
    ws.job("a", "export function run() {}\n");
    ws.file("webstir.toml", "node = \"/nonexistent/from-toml\"\n");
    let out = ws
        .scheduler(&["--job", "a"])
        .env("WEBSTIR_NODE", "/nonexistent/from-env")
        .assert()
        .code(1);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .starts_with("[jobs] a failed: could not start `/nonexistent/from-env`")
    );
    ws.scheduler(&["--job", "a", "--node", "node"])
        .env("WEBSTIR_NODE", "/nonexistent/from-env")
        .assert()
        .success();
}
