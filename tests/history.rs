//! The run history: the real binary runs real Node jobs (manually and watching), then
//! `scheduler --history` and `backend-inspect` read back what was recorded in
//! `.webstir/state.db`.

mod scheduler_support;

use serde_json::Value;

use scheduler_support::Ws;

const OK: &str = "export function run() { console.log('ok ran'); }\n";
const BAD: &str = "export function run() { throw new Error('database <down>\\nsecond line'); }\n";
const SLOW: &str = "export function run() { return new Promise(r => setTimeout(r, 30000)); }\n";
/// Prints its fire time, then takes long enough that the next second's fire finds it running.
const TICK: &str = "export function run() {\n  console.log(`fire ${process.env.WEBSTIR_FIRE_TIME}`);\n  return new Promise(r => setTimeout(r, 2500));\n}\n";

fn history_json(ws: &Ws, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--history", "--json"];
    all.extend_from_slice(args);
    let out = ws.scheduler(&all).assert().success();
    let json: Value = serde_json::from_slice(&out.get_output().stdout).expect("history JSON");
    json.as_array().expect("an array").clone()
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

fn three_jobs() -> Ws {
    let ws = Ws::new(
        r#"[{ "name": "ok", "schedule": "rate(1 hour)" }, { "name": "bad" }, { "name": "slow", "timeout": "1s" }]"#,
    );
    ws.job("ok", OK).job("bad", BAD).job("slow", SLOW);
    ws
}

#[test]
fn succeeded_failed_and_timed_out_runs_are_listed_newest_first() {
    let ws = three_jobs();
    assert!(history_json(&ws, &[]).is_empty(), "nothing ran yet");
    assert!(!ws.path(".webstir").exists(), "reading creates nothing");
    ws.scheduler(&["--all"]).assert().code(1);

    let runs = history_json(&ws, &[]);
    let jobs: Vec<&str> = runs.iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(jobs, ["slow", "bad", "ok"], "newest first");
    let (slow, bad, ok) = (&runs[0], &runs[1], &runs[2]);
    assert_eq!(ok["outcome"], "succeeded");
    assert_eq!(ok["exitStatus"], 0);
    assert_eq!(ok["error"], Value::Null);
    assert_eq!(bad["outcome"], "failed");
    assert_eq!(bad["error"], "database <down>\nsecond line");
    assert_eq!(bad["exitStatus"], 1);
    assert_eq!(slow["outcome"], "timed-out");
    assert!(
        slow["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 1s")
    );
    for run in &runs {
        assert_eq!(run["schedule"], "manual");
        assert_eq!(run["attempt"], 1);
        assert_eq!(run["tenant"], Value::Null);
        assert!(
            run["due"].as_str().is_some_and(|d| d.ends_with('Z')),
            "{run}"
        );
        assert!(run["durationMs"].as_i64().is_some_and(|ms| ms >= 0));
        assert!(run["pid"].as_u64().is_some_and(|p| p > 0));
        assert!(run["host"].as_str().is_some_and(|h| !h.is_empty()));
        let keys: Vec<&str> = run
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "job",
                "tenant",
                "schedule",
                "due",
                "startedAt",
                "finishedAt",
                "durationMs",
                "outcome",
                "error",
                "attempt",
                "exitStatus",
                "host",
                "pid"
            ]
        );
    }
    assert!(slow["durationMs"].as_i64().unwrap() >= 1000);

    let failed = history_json(&ws, &["--failed"]);
    let names: Vec<&str> = failed.iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(names, ["slow", "bad"]);
    let one = history_json(&ws, &["--limit", "1"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["job"], "slow");
    // `--job` takes any spelling the scheduler accepts.
    let ok_only = history_json(&ws, &["--job", "Ok"]);
    assert_eq!(ok_only.len(), 1);
    assert_eq!(ok_only[0]["job"], "ok");

    let text = stdout(&ws.scheduler(&["--history"]).assert().success());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("STARTED") && lines[0].contains("OUTCOME"));
    assert!(lines[1].contains(" slow ") && lines[1].contains("timed-out"));
    assert!(
        lines[2].contains("failed") && lines[2].ends_with("database <down>"),
        "the error's first line: {text}"
    );
    assert!(lines[3].contains("succeeded"));
}

#[test]
fn each_attempt_of_a_retried_run_is_recorded_with_the_same_due_time() {
    let ws = Ws::new(r#"[{ "name": "bad", "retry": { "attempts": 2, "delay": "100ms" } }]"#);
    ws.job("bad", BAD);
    ws.scheduler(&["--job", "bad"]).assert().code(1);
    let runs = history_json(&ws, &[]);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["attempt"], 2);
    assert_eq!(runs[1]["attempt"], 1);
    assert_eq!(runs[0]["due"], runs[1]["due"]);
    assert!(runs.iter().all(|r| r["outcome"] == "failed"));
}

#[test]
fn a_watcher_records_scheduled_runs_skips_and_the_run_it_stops() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "* * * * * *" }]"#);
    ws.job("tick", TICK);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    let fire = running.wait_for("a run", |l| l.starts_with("[tick] fire "));
    let fire_time = fire.trim_start_matches("[tick] fire ").to_owned();
    running.wait_for("a skip", |l| l.contains("skipping tick"));
    running.wait_for("a later run", |l| l.starts_with("[tick] fire "));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));

    let runs = history_json(&ws, &["--limit", "1000"]);
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"killed"),
        "the run SIGTERM stopped is written before exit: {outcomes:?}"
    );
    assert!(outcomes.contains(&"succeeded"), "{outcomes:?}");
    assert!(outcomes.contains(&"skipped"), "{outcomes:?}");
    let first = runs.last().expect("runs");
    assert_eq!(first["due"], fire_time, "the due time is WEBSTIR_FIRE_TIME");
    assert_eq!(first["schedule"], "* * * * * *");
    let skip = runs
        .iter()
        .find(|r| r["outcome"] == "skipped")
        .expect("a skip");
    assert_eq!(skip["attempt"], 1);
    assert_eq!(skip["durationMs"], 0);
    assert_eq!(skip["schedule"], "* * * * * *");
    // Skips are not failures; the stopped run is.
    let failed = history_json(&ws, &["--failed", "--limit", "1000"]);
    assert!(
        failed.iter().all(|r| r["outcome"] == "killed"),
        "{failed:?}"
    );
}

#[test]
fn history_limit_keeps_the_newest_runs_of_each_job() {
    let ws = Ws::new(r#"[{ "name": "ok" }, { "name": "bad" }]"#);
    ws.job("ok", OK).job("bad", BAD);
    ws.file("webstir.toml", "history-limit = \"3\"\n");
    for _ in 0..5 {
        ws.scheduler(&["--job", "ok"]).assert().success();
    }
    ws.scheduler(&["--job", "bad"]).assert().code(1);
    let ok = history_json(&ws, &["--job", "ok"]);
    assert_eq!(ok.len(), 3);
    let ids: Vec<i64> = ok.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [5, 4, 3], "the newest three");
    assert_eq!(history_json(&ws, &["--job", "bad"]).len(), 1);

    ws.file("webstir.toml", "history-limit = \"0\"\n");
    let out = ws.scheduler(&["--job", "ok"]).assert().failure();
    assert!(stderr(&out).contains("history-limit"), "{}", stderr(&out));
}

#[test]
fn no_history_records_nothing() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    ws.scheduler(&["--job", "ok", "--no-history"])
        .assert()
        .success();
    assert!(!ws.path(".webstir").exists());
}

#[test]
fn backend_inspect_shows_each_jobs_last_run() {
    let ws = three_jobs();
    let before = stdout(&ws.webstir(&["backend-inspect"]).assert());
    assert!(!before.contains("last run"), "{before}");
    assert!(!ws.path(".webstir").exists(), "inspect creates nothing");
    ws.scheduler(&["--job", "ok"]).assert().success();
    ws.scheduler(&["--job", "bad"]).assert().code(1);

    let text = stdout(&ws.webstir(&["backend-inspect"]).assert());
    assert!(
        text.lines()
            .any(|l| l.starts_with("    last run: ") && l.contains(" succeeded after ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("    last run: ") && l.ends_with(": database <down>")),
        "{text}"
    );
    let out = ws.webstir(&["backend-inspect", "--json"]).assert();
    let json: Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    let jobs = json["jobs"].as_array().expect("jobs");
    assert_eq!(jobs[0]["lastRun"]["outcome"], "succeeded");
    assert_eq!(jobs[1]["lastRun"]["outcome"], "failed");
    assert_eq!(jobs[1]["lastRun"]["error"], "database <down>\nsecond line");
    assert!(jobs[1]["lastRun"]["durationMs"].is_i64());
    assert!(jobs[1]["lastRun"]["startedAt"].is_string());
    assert!(jobs[2].get("lastRun").is_none(), "slow never ran");

    // An unreadable history is a warning, not a failure of the inspection.
    std::fs::write(
        ws.path(".webstir/state.db"),
        b"not a database at all, not even close......",
    )
    .expect("write");
    for leftover in ["state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(ws.path(&format!(".webstir/{leftover}")));
    }
    let out = ws.webstir(&["backend-inspect", "--json"]).assert();
    let json: Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    let diagnostics = json["diagnostics"].to_string();
    assert!(diagnostics.contains("unreadable-history"), "{diagnostics}");
    assert!(diagnostics.contains("state.db"), "{diagnostics}");
}

#[test]
fn unknown_job_names_the_known_ones_and_usage_errors_are_caught() {
    let ws = three_jobs();
    let out = ws
        .scheduler(&["--history", "--job", "nope"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(
            "no job named `nope` in the manifest or the run history (jobs: ok, bad, slow)"
        ),
        "{}",
        stderr(&out)
    );
    let out = ws.scheduler(&["--limit", "3"]).assert().code(2);
    assert!(stderr(&out).contains("need --history"), "{}", stderr(&out));
    ws.scheduler(&["--history", "--limit", "0"])
        .assert()
        .code(2);
    ws.scheduler(&["--history", "--watch"]).assert().code(2);
    assert!(!ws.path(".webstir").exists());
    let out = ws.scheduler(&["--history"]).assert().success();
    assert_eq!(stdout(&out), "no runs recorded\n");
}

#[test]
fn a_state_folder_that_is_a_file_is_said_and_the_jobs_still_run() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    ws.file(".webstir", "mine\n");
    let out = ws.scheduler(&["--job", "ok"]).assert().success();
    assert!(stdout(&out).contains("[ok] ok ran"));
    assert!(
        stderr(&out).contains("run history is off for this run")
            && stderr(&out).contains("is not a folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ws.read(".webstir"), "mine\n");
    let out = ws.scheduler(&["--history"]).assert().code(1);
    assert!(
        stderr(&out).contains(".webstir` is not a folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_state_folder_linked_out_of_the_workspace_is_never_written() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    let outside = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(outside.path(), ws.path(".webstir")).expect("link");
    let out = ws.scheduler(&["--job", "ok"]).assert().success();
    assert!(
        stderr(&out).contains("symbolic link that leads outside the workspace"),
        "{}",
        stderr(&out)
    );
    let out = ws.scheduler(&["--history"]).assert().code(1);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    let out = ws.webstir(&["backend-inspect"]).assert();
    assert!(
        stdout(&out).contains("the run history cannot be read"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
}

#[test]
fn a_read_only_state_folder_is_said_and_the_jobs_still_run() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: root writes to read-only folders, so there is nothing to test");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    std::fs::create_dir(ws.path(".webstir")).expect("mkdir");
    std::fs::set_permissions(ws.path(".webstir"), std::fs::Permissions::from_mode(0o555))
        .expect("chmod");
    let out = ws.scheduler(&["--job", "ok"]).assert().success();
    assert!(
        stderr(&out).contains("run history is off"),
        "{}",
        stderr(&out)
    );
    std::fs::set_permissions(ws.path(".webstir"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod back");
    assert_eq!(
        std::fs::read_dir(ws.path(".webstir"))
            .expect("read")
            .count(),
        0
    );
}

#[test]
fn a_damaged_database_is_named_and_left_alone() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    let garbage = "this is not an SQLite database, it only has its name\n".repeat(100);
    ws.file(".webstir/state.db", &garbage);
    let out = ws.scheduler(&["--history"]).assert().code(1);
    let message = stderr(&out);
    assert!(
        message.contains(".webstir/state.db")
            && message.contains("damaged or not a SQLite database"),
        "{message}"
    );
    let out = ws.scheduler(&["--job", "ok"]).assert().success();
    assert!(stdout(&out).contains("[ok] ok ran"));
    assert!(stderr(&out).contains("state.db"), "{}", stderr(&out));
    assert_eq!(ws.read(".webstir/state.db"), garbage);
}

#[test]
fn the_store_is_closed_and_reopened_across_watcher_restarts() {
    let ws = Ws::new(r#"[{ "name": "boot", "schedule": "@reboot" }]"#);
    ws.job("boot", OK);
    for _ in 0..2 {
        // A watcher of @reboot jobs only exits once they ran.
        ws.scheduler(&["--watch"]).assert().success();
    }
    let runs = history_json(&ws, &[]);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs.iter()
            .all(|r| r["outcome"] == "succeeded" && r["schedule"] == "@reboot")
    );
    assert_ne!(runs[0]["pid"], runs[1]["pid"], "two watchers");
}

#[test]
fn a_run_whose_watcher_was_killed_is_shown_as_lost() {
    let ws = Ws::new(r#"[{ "name": "slow" }]"#);
    ws.job("slow", SLOW);
    let mut running = ws.spawn_scheduler(&["--job", "slow"]);
    running.wait_for("the run", |l| l.starts_with("[jobs] running slow"));
    // The start is written by the writer task: wait until it is there.
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    while history_json(&ws, &[]).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the start was never written"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let running_now = history_json(&ws, &[]);
    assert_eq!(running_now[0]["outcome"], "running");
    assert_eq!(running_now[0]["finishedAt"], Value::Null);
    running.signal(libc::SIGKILL);
    let pid = running.pid();
    running.finish();
    assert!(scheduler_support::gone(pid));
    let runs = history_json(&ws, &["--failed"]);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "lost");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {pid}"))
    );
}

// ---------------------------------------------------------------------------------------------
// the status page and the JSON API read the history

/// One HTTP/1.1 GET over a plain socket; the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the watcher");
    stream
        .set_read_timeout(Some(scheduler_support::PATIENCE))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete reply");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

#[test]
fn the_status_page_shows_runs_from_before_the_watcher_and_manual_jobs() {
    let manifest = |extra: &str| {
        format!(
            r#"[{{ "name": "tick", "schedule": "rate(1 hour)" }}, {{ "name": "adhoc" }}{extra}]"#
        )
    };
    let ws = Ws::new(&manifest(""));
    ws.job("tick", OK).job("adhoc", BAD);
    ws.scheduler(&["--job", "adhoc"]).assert().code(1);

    let mut running = ws.spawn_scheduler(&["--watch", "--http", "127.0.0.1:0"]);
    let line = running.wait_for("the served address", |l| {
        l.starts_with("[jobs] serving http://")
    });
    let addr = line.trim_start_matches("[jobs] serving http://").to_owned();
    running.wait_for("tick's first run", |l| l == "[tick] ok ran");

    // The manual run happened before this watcher started: it comes from the store.
    let runs = get_json(&addr, "/api/runs?job=adhoc");
    assert_eq!(runs[0]["outcome"], "failed", "{runs}");
    assert_eq!(runs[0]["error"], "database <down>\nsecond line");
    assert_eq!(runs[0]["schedule"], "manual");
    // tick's one run is both in the watcher's memory and in the store: listed once.
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    while history_json(&ws, &["--job", "tick"]).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "tick's run was never written"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ticks = get_json(&addr, "/api/runs?job=tick");
    assert_eq!(ticks.as_array().map(Vec::len), Some(1), "{ticks}");
    assert_eq!(ticks[0]["attempt"], 1);
    assert!(ticks[0]["due"].is_string());

    let jobs = get_json(&addr, "/api/jobs");
    let names: Vec<&str> = jobs
        .as_array()
        .expect("an array")
        .iter()
        .map(|j| j["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["tick", "adhoc"]);
    assert_eq!(jobs[0]["manual"], false);
    assert_eq!(jobs[1]["manual"], true);
    assert_eq!(jobs[1]["nextRun"], Value::Null);
    assert_eq!(jobs[1]["lastRun"]["outcome"], "failed");
    let (status, page) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-job="adhoc""#), "{page}");
    assert!(page.contains(r#"<span class="badge manual">manual</span>"#));

    // A job added to the manifest shows up without a restart.
    ws.file(
        "package.json",
        &std::fs::read_to_string(ws.path("package.json"))
            .expect("read")
            .replace(
                r#"{ "name": "adhoc" }"#,
                r#"{ "name": "adhoc" }, { "name": "later" }"#,
            ),
    );
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    loop {
        let jobs = get_json(&addr, "/api/jobs");
        if jobs
            .as_array()
            .expect("an array")
            .iter()
            .any(|j| j["name"] == "later")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page never followed the reload: {jobs}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(get(&addr, "/healthz").0, 200);
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn a_store_deleted_under_the_watcher_makes_healthz_fail_and_is_said_once() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "* * * * * *" }]"#);
    ws.job("tick", OK);
    let mut running = ws.spawn_scheduler(&["--watch", "--http", "127.0.0.1:0"]);
    let line = running.wait_for("the served address", |l| {
        l.starts_with("[jobs] serving http://")
    });
    let addr = line.trim_start_matches("[jobs] serving http://").to_owned();
    running.wait_for("a run", |l| l == "[tick] ok ran");
    assert_eq!(get(&addr, "/healthz").0, 200);
    std::fs::remove_dir_all(ws.path(".webstir")).expect("rm -rf .webstir");
    let (status, body) = get(&addr, "/healthz");
    assert_eq!(status, 503);
    assert_eq!(body, "the run history is not reachable\n");
    running.wait_for("the notice", |l| {
        l.contains("run history: could not write to the store") && l.contains("deleted or replaced")
    });
    // The watcher keeps firing.
    running.wait_for("a run after", |l| l == "[tick] ok ran");
    running.wait_for("another", |l| l == "[tick] ok ran");
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    let notices = done
        .stderr
        .iter()
        .filter(|l| l.contains("could not write to the store"))
        .count();
    assert_eq!(notices, 1, "said once: {:#?}", done.stderr);
    assert!(
        done.stderr
            .iter()
            .any(|l| l.contains("could not be written before exiting")),
        "{:#?}",
        done.stderr
    );
    assert!(
        !ws.path(".webstir").exists(),
        "nothing recreated behind the user's back"
    );
}

#[test]
fn a_locked_store_is_said_once_and_the_runs_are_written_when_it_answers_again() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "* * * * * *" }]"#);
    ws.job("tick", OK);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("a run", |l| l == "[tick] ok ran");
    let conn = rusqlite::Connection::open(ws.path(".webstir/state.db")).expect("open");
    // Another program holds the write lock for longer than the watcher waits (5 s).
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO job_fires VALUES ('x', 'y');")
        .expect("lock");
    running.wait_for("the notice", |l| {
        l.contains("run history: could not write to the store") && l.contains("locked")
    });
    for _ in 0..2 {
        running.wait_for("runs go on", |l| l == "[tick] ok ran");
    }
    conn.execute_batch("ROLLBACK").expect("unlock");
    running.wait_for("the store answers again", |l| l.contains("answers again"));
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    let ran = done.stdout.iter().filter(|l| *l == "[tick] ok ran").count();
    let recorded = history_json(&ws, &["--limit", "1000"])
        .iter()
        .filter(|r| r["outcome"] == "succeeded")
        .count();
    assert!(recorded + 1 >= ran, "{recorded} recorded of {ran} runs");
}

#[test]
fn each_tenant_run_is_a_record_of_its_own() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    ws.scheduler(&["--job", "ok", "--tenants", "acme,globex"])
        .assert()
        .success();
    let runs = history_json(&ws, &[]);
    let mut tenants: Vec<&str> = runs
        .iter()
        .map(|r| r["tenant"].as_str().expect("a tenant"))
        .collect();
    tenants.sort_unstable();
    assert_eq!(tenants, ["acme", "globex"]);
    assert_eq!(runs[0]["due"], runs[1]["due"], "one fire");
    let text = stdout(&ws.scheduler(&["--history"]).assert().success());
    assert!(text.lines().any(|l| l.contains(" acme ")), "{text}");
}

/// The history's writer puts every run event queued at once in one transaction: a round of
/// jobs fired together must come back whole, and so must the runs SIGTERM stops, which are
/// queued while the watcher exits.
#[test]
fn runs_fired_together_are_all_recorded_and_survive_sigterm() {
    let names: Vec<String> = (0..12).map(|i| format!("tick{i:02}")).collect();
    let entries: Vec<String> = names
        .iter()
        .map(|n| format!(r#"{{ "name": "{n}", "schedule": "* * * * * *" }}"#))
        .collect();
    let ws = Ws::new(&format!("[{}]", entries.join(", ")));
    for name in &names {
        ws.job(name, OK);
    }
    let mut running = ws.spawn_scheduler(&["--watch"]);
    for _ in 0..2 * names.len() {
        running.wait_for("a completed run", |l| l.contains(" completed in "));
    }
    running.wait_for("a run of a later round", |l| {
        l.starts_with("[jobs] running ")
    });
    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0), "{:?}", done.stderr);

    // Warnings (skips) go to stderr, the rest to stdout.
    let count = |prefix: &str| {
        let lines = done.stdout.iter().chain(&done.stderr);
        lines.filter(|l| l.starts_with(prefix)).count()
    };
    let started = count("[jobs] running ");
    let skipped = count("[jobs] skipping ");
    let runs = history_json(&ws, &["--limit", "100000"]);
    let outcome = |r: &Value| r["outcome"].as_str().unwrap().to_owned();
    let recorded_skips = runs.iter().filter(|r| outcome(r) == "skipped").count();
    assert_eq!(
        runs.len() - recorded_skips,
        started,
        "one record per run started"
    );
    assert_eq!(
        recorded_skips, skipped,
        "one record per skip: {:?}",
        done.stderr
    );
    assert!(
        runs.iter().all(|r| outcome(r) != "running"),
        "every run's end is written before exit: {runs:?}"
    );
    for name in &names {
        let succeeded = runs
            .iter()
            .filter(|r| r["job"] == name.as_str() && outcome(r) == "succeeded")
            .count();
        assert!(succeeded >= 1, "{name}: {runs:?}");
    }
}
