//! `scheduler --watch --http`: the real watcher serving metrics, health, the status page and
//! the JSON API on 127.0.0.1, with real Node jobs. Metrics are parsed by the Prometheus
//! project's own Python parser; the page is loaded in headless Chromium.

mod scheduler_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use scheduler_support::{Running, Ws};

const TOKEN: &str = "t0ken-for-tests";

/// Waits for `[jobs] serving http://ADDR` and returns ADDR.
fn served_at(running: &mut Running) -> String {
    let line = running.wait_until_seen("the served address", |l| {
        l.starts_with("[jobs] serving http://")
    });
    line.trim_start_matches("[jobs] serving http://").to_owned()
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One HTTP/1.1 request over a plain socket: enough for a server we wrote ourselves.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the watcher");
    stream
        .set_read_timeout(Some(scheduler_support::PATIENCE))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete reply");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn get(addr: &str, path: &str) -> Reply {
    request(addr, "GET", path, &[])
}

/// The samples of a metrics text, parsed by `prometheus_client`'s OpenMetrics parser, as
/// `name{label="value"}` → value.
fn parse_metrics(text: &str) -> serde_json::Map<String, serde_json::Value> {
    const PARSER: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); run scripts/test"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the metrics");
    let output = child.wait_with_output().expect("python3 ran");
    assert!(
        output.status.success(),
        "the Prometheus parser rejected the metrics (install it with scripts/test):\n{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("parser output is JSON")
}

fn value(samples: &serde_json::Map<String, serde_json::Value>, key: &str) -> f64 {
    samples
        .get(key)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no sample {key} in {samples:?}"))
}

fn ticking_workspace() -> Ws {
    let ws = Ws::new(
        r#"[
      { "name": "tick", "schedule": "rate(1 second)", "description": "Quick and fine" },
      { "name": "broken", "schedule": "rate(1 second)" },
      { "name": "yearly", "schedule": "0 0 1 1 *" }
    ]"#,
    );
    ws.job("tick", "export function run() { console.log('tick'); }\n");
    ws.job(
        "broken",
        "export function run() { throw new Error('database <down>'); }\n",
    );
    ws.job(
        "yearly",
        "export function run() { console.log('yearly ran'); }\n",
    );
    ws
}

#[test]
fn metrics_scraped_twice_parse_as_prometheus_text_with_counters_increasing() {
    let ws = ticking_workspace();
    let mut running = ws.spawn_scheduler(&["--watch", "--http", "127.0.0.1:0"]);
    let addr = served_at(&mut running);
    running.wait_until_seen("a first failure", |l| l.starts_with("[jobs] broken failed"));
    running.wait_until_seen("a first success", |l| {
        l.starts_with("[jobs] tick completed")
    });

    let first = get(&addr, "/metrics");
    assert_eq!(first.status, 200);
    assert!(
        first
            .headers
            .contains("content-type: application/openmetrics-text"),
        "{}",
        first.headers
    );
    let first = parse_metrics(&first.body);
    // Wait for more runs of both jobs, then scrape again.
    for _ in 0..2 {
        running.wait_for("another failure", |l| l.starts_with("[jobs] broken failed"));
        running.wait_for("another success", |l| {
            l.starts_with("[jobs] tick completed")
        });
    }
    let before = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let second = get(&addr, "/metrics").body;
    let after = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let second = parse_metrics(&second);

    for key in [
        r#"webstir_runs_total{job="tick"}"#,
        r#"webstir_runs_total{job="broken"}"#,
        r#"webstir_run_failures_total{job="broken"}"#,
        r#"webstir_run_duration_seconds_count{job="tick"}"#,
    ] {
        assert!(value(&first, key) >= 1.0, "{key} in {first:?}");
        assert!(
            value(&second, key) > value(&first, key),
            "{key} did not increase"
        );
    }
    assert_eq!(
        value(&second, r#"webstir_run_failures_total{job="tick"}"#),
        0.0
    );
    // Every watched job has its series before its first run.
    assert_eq!(value(&second, r#"webstir_runs_total{job="yearly"}"#), 0.0);
    assert_eq!(
        value(&second, r#"webstir_run_skips_total{job="yearly"}"#),
        0.0
    );
    assert_eq!(value(&second, r#"webstir_runs_running{job="yearly"}"#), 0.0);
    for key in [
        r#"webstir_run_retries_total{job="tick"}"#,
        r#"webstir_catch_ups_total{job="tick"}"#,
    ] {
        assert_eq!(value(&second, key), 0.0, "{key}");
    }
    let yearly_next = value(
        &second,
        r#"webstir_next_fire_timestamp_seconds{job="yearly"}"#,
    );
    assert!(yearly_next > before && yearly_next <= after + 366.0 * 86_400.0);
    // A rate fires on its rhythm: the slot after its last fire, which (under load, where the
    // loop can be a little late) may have just passed.
    let tick_next = value(
        &second,
        r#"webstir_next_fire_timestamp_seconds{job="tick"}"#,
    );
    assert!(
        tick_next > before - 3.0 && tick_next <= after + 1.0,
        "{tick_next} not in ({before} - 3s, {after} + 1s]"
    );
    let last_success = value(
        &second,
        r#"webstir_last_success_timestamp_seconds{job="tick"}"#,
    );
    assert!(last_success <= after && last_success > before - 300.0);
    assert!(!second.contains_key(r#"webstir_last_success_timestamp_seconds{job="broken"}"#));

    // The JSON API tells the same story.
    let jobs: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/jobs").body).expect("jobs JSON");
    let names: Vec<&str> = jobs
        .as_array()
        .expect("an array")
        .iter()
        .map(|j| j["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["tick", "broken", "yearly"]);
    // On a busy machine a one-second job can still be running when it is due again, and its
    // fire is skipped; the last run is the last that ran.
    assert_eq!(jobs[1]["lastRun"]["outcome"], "failed");
    assert_eq!(
        jobs[2]["schedules"][0]["description"],
        "At 00:00 on day 1 of the month in January"
    );
    assert!(jobs[2]["lastRun"].is_null());
    let runs: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/runs?job=broken").body).expect("runs");
    let runs = runs.as_array().expect("an array");
    assert!(
        runs.iter()
            .all(|r| r["job"] == "broken" && r["outcome"] != "succeeded")
    );
    let failed: Vec<&serde_json::Value> =
        runs.iter().filter(|r| r["outcome"] == "failed").collect();
    assert!(failed.len() >= 3, "{runs:?}");
    assert!(failed.iter().all(|r| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("database <down>"))
            && r["exitStatus"] == 1
    }));
    let two: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/runs?limit=2").body).expect("runs");
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    assert_eq!(get(&addr, "/api/runs?job=nope").status, 404);
    assert_eq!(get(&addr, "/healthz").status, 200);
}

#[test]
fn manual_runs_need_the_bearer_token() {
    let ws = ticking_workspace();
    let mut running = ws.spawn_scheduler_with_env(
        &["--watch", "--job", "yearly", "--http", "127.0.0.1:0"],
        &[("WEBSTIR_HTTP_TOKEN", TOKEN)],
    );
    let addr = served_at(&mut running);
    let run = |headers: &[(&str, &str)]| request(&addr, "POST", "/jobs/yearly/run", headers);

    let refused = run(&[]);
    assert_eq!(refused.status, 401);
    assert!(refused.headers.contains("www-authenticate: bearer"));
    assert_eq!(run(&[("Authorization", "Bearer wrong")]).status, 401);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        request(
            &addr,
            "POST",
            "/jobs/nope/run",
            &[("Authorization", &bearer)]
        )
        .status,
        404
    );
    assert!(
        !running.stdout.iter().any(|l| l.contains("yearly ran")),
        "a refused request ran the job"
    );

    let accepted = run(&[("Authorization", &bearer)]);
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert!(accepted.body.contains(r#""job":"yearly""#));
    running.wait_until_seen("the manual run", |l| l == "[yearly] yearly ran");
    running.wait_until_seen("its end", |l| l.starts_with("[jobs] yearly completed in "));
    let runs: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/runs").body).expect("runs JSON");
    assert_eq!(runs[0]["schedule"], "manual");
    assert_eq!(runs[0]["outcome"], "succeeded");

    running.signal(libc::SIGTERM);
    let done = running.finish();
    assert_eq!(done.code, Some(0));
    let all = done.stdout.iter().chain(&done.stderr);
    assert!(
        all.clone().all(|l| !l.contains(TOKEN)),
        "the token was logged"
    );
}

/// A manual run of a watched job counts for its overlap policy: a fire that comes due while it
/// runs is skipped (the default `skip`), never started beside it. The job holds a lock folder
/// for its whole run, so a second run at the same time would fail on it.
#[test]
fn a_fire_due_during_a_manual_run_follows_the_overlap_policy() {
    let ws = Ws::new(r#"[{ "name": "slow", "schedule": "* * * * * *" }]"#);
    ws.job(
        "slow",
        "import { mkdirSync, rmdirSync } from 'node:fs';\n\
         export async function run() {\n\
           mkdirSync('slow.lock');\n\
           console.log('start ' + process.env.WEBSTIR_SCHEDULE);\n\
           await new Promise((resolve) => setTimeout(resolve, 1500));\n\
           console.log('end ' + process.env.WEBSTIR_SCHEDULE);\n\
           rmdirSync('slow.lock');\n\
         }\n",
    );
    let mut running = ws.spawn_scheduler_with_env(
        &["--watch", "--http", "127.0.0.1:0"],
        &[("WEBSTIR_HTTP_TOKEN", TOKEN)],
    );
    let addr = served_at(&mut running);
    let bearer = format!("Bearer {TOKEN}");
    // Scheduled runs (1.5 s, every second, overlap skip) leave the job idle about a third of
    // the time: ask until the manual run gets in.
    let deadline = std::time::Instant::now() + scheduler_support::PATIENCE;
    loop {
        let reply = request(
            &addr,
            "POST",
            "/jobs/slow/run",
            &[("Authorization", &bearer)],
        );
        if reply.status == 202 {
            break;
        }
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert!(reply.body.contains("slow is running now"), "{}", reply.body);
        assert!(
            std::time::Instant::now() < deadline,
            "the job never went idle"
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    running.wait_until_seen("the manual run", |l| l == "[slow] start manual");
    let skipped_before = running
        .stdout
        .iter()
        .chain(&running.stderr)
        .filter(|l| l.contains("skipping slow; previous run is still active"))
        .count();
    running.wait_for("the manual run's end", |l| l == "[slow] end manual");
    // A fire came due every second of the manual run's 1.5 s; each was skipped.
    let skipped_during = running
        .stdout
        .iter()
        .chain(&running.stderr)
        .filter(|l| l.contains("skipping slow; previous run is still active"))
        .count()
        - skipped_before;
    assert!(
        skipped_during >= 1,
        "no fire was skipped during the manual run\n{}",
        running.stdout.join("\n")
    );
    running.signal(libc::SIGTERM);
    let done = running.finish();
    let all: Vec<&String> = done.stdout.iter().chain(&done.stderr).collect();
    assert!(
        all.iter().all(|l| !l.contains("EEXIST")),
        "two runs of slow overlapped:\n{all:#?}"
    );
    // Job output is on stdout, in the order it was printed.
    let printed = &done.stdout;
    let manual_start = printed
        .iter()
        .position(|l| l == "[slow] start manual")
        .expect("the manual run started");
    let manual_end = printed
        .iter()
        .position(|l| l == "[slow] end manual")
        .expect("the manual run ended");
    assert!(
        printed[manual_start + 1..manual_end]
            .iter()
            .all(|l| !l.starts_with("[slow] start ")),
        "a scheduled run started during the manual run:\n{printed:#?}"
    );
}

#[test]
fn without_a_token_manual_runs_are_disabled() {
    let ws = ticking_workspace();
    let mut running = ws.spawn_scheduler(&["--watch", "--job", "yearly", "--http", "127.0.0.1:0"]);
    let addr = served_at(&mut running);
    let reply = request(
        &addr,
        "POST",
        "/jobs/yearly/run",
        &[("Authorization", "Bearer anything")],
    );
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("--http-token"), "{}", reply.body);
}

#[test]
fn healthz_turns_503_while_the_watcher_shuts_down() {
    let ws = Ws::new(
        r#"[{ "name": "stubborn", "schedule": "@reboot" }, { "name": "later", "schedule": "0 0 1 1 *" }]"#,
    );
    ws.job(
        "stubborn",
        "export async function run() { process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('started'); await new Promise(() => setInterval(() => {}, 1000)); }\n",
    );
    ws.job("later", "export function run() {}\n");
    let mut running = ws.spawn_scheduler(&["--watch", "--grace", "20s", "--http", "127.0.0.1:0"]);
    let addr = served_at(&mut running);
    running.wait_until_seen("the job to start", |l| l == "[stubborn] started");
    assert_eq!(get(&addr, "/healthz").status, 200);
    assert_eq!(
        value(
            &parse_metrics(&get(&addr, "/metrics").body),
            r#"webstir_runs_running{job="stubborn"}"#
        ),
        1.0
    );
    running.signal(libc::SIGTERM);
    running.wait_for("the job to hear SIGTERM", |l| {
        l == "[stubborn] ignoring SIGTERM"
    });
    let health = get(&addr, "/healthz");
    assert_eq!(health.status, 503);
    assert_eq!(health.body, "the scheduler is shutting down\n");
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn a_non_loopback_bind_without_a_token_is_refused() {
    let ws = ticking_workspace();
    let before = ws.read("package.json");
    ws.scheduler(&["--watch", "--http", "0.0.0.0:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "refusing to serve on 0.0.0.0:0 without a token",
        ));
    ws.scheduler(&["--watch", "--http", "example.com:80"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not an address to serve on"));
    ws.scheduler(&["--all", "--http", "127.0.0.1:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--watch"));
    assert_eq!(ws.read("package.json"), before);
}

#[test]
fn the_token_is_not_shown_in_help() {
    let ws = ticking_workspace();
    let help = ws
        .scheduler(&["--help"])
        .env("WEBSTIR_HTTP_TOKEN", TOKEN)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    assert!(out.contains("--http-token"));
    assert!(!out.contains(TOKEN));
}

#[test]
fn the_status_page_in_headless_chromium_lists_every_job_and_its_next_run() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        println!(
            "skipped: no chromium on PATH (scripts/test installs Debian's `chromium` where it can)"
        );
        return;
    };
    let ws = ticking_workspace();
    let mut running = ws.spawn_scheduler(&["--watch", "--http", "127.0.0.1:0"]);
    let addr = served_at(&mut running);
    running.wait_until_seen("a failure to show", |l| {
        l.starts_with("[jobs] broken failed")
    });
    running.wait_until_seen("a success to show", |l| {
        l.starts_with("[jobs] tick completed")
    });
    let url = format!("http://{addr}/");
    let profile = tempfile::tempdir().expect("a profile folder");
    let browse = |extra: &[&str]| {
        let output = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&url)
            .stdin(Stdio::null())
            .output()
            .expect("chromium ran");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let dom = browse(&["--dump-dom"]);
    for job in ["tick", "broken", "yearly"] {
        let row = dom
            .split(&format!(r#"data-job="{job}""#))
            .nth(1)
            .unwrap_or_else(|| panic!("no row for {job} in\n{dom}"));
        let row = row.split("</tr>").next().expect("a row");
        let next = row
            .split(r#"class="next-run""#)
            .nth(1)
            .expect("a next-run cell");
        assert!(
            next.contains(&chrono::Utc::now().format("%Y-").to_string())
                || next.contains("2027-")
                || next.contains("-01-01 00:00:00"),
            "{job}'s next run is not shown: {next}"
        );
    }
    assert!(dom.contains("At 00:00 on day 1 of the month in January"));
    assert!(
        dom.contains("database &lt;down&gt;"),
        "the error is shown as text"
    );
    assert!(dom.contains(r#"http-equiv="refresh""#));
    assert!(!dom.contains("<script"), "the page needs no JavaScript");

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifact folder");
    let shot = artifacts.join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    browse(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,900",
    ]);
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    println!("screenshot: {}", shot.display());
}
