//! `webstir start` and `webstir dev`: a real Node server on PORT and the real job watcher,
//! supervised together.

mod scheduler_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use scheduler_support::*;

const TICK_JOB: &str = r#"[{"name": "tick", "schedule": "rate(1 second)"}]"#;

fn server_source(version: &str, extra: &str) -> String {
    format!(
        r#"import {{ createServer }} from 'node:http';

const port: number = Number(process.env.PORT);
const server = createServer((_request, response) => {{
  response.end('hello from {version}');
}});
server.listen(port, '127.0.0.1', () => {{
  console.log(`listening on ${{port}} ({version})`);
}});
{extra}
"#
    )
}

/// A workspace with a server and a job printing `tick`, built.
fn built_workspace(server_extra: &str) -> Ws {
    let ws = Ws::new(TICK_JOB);
    ws.file("src/backend/index.ts", &server_source("v1", server_extra));
    ws.file(
        "src/backend/jobs/tick/index.ts",
        "export async function run(): Promise<void> {\n  console.log('tick');\n}\n",
    );
    ws.webstir(&["build"]).assert().success();
    ws
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server answers");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

/// The pid in `webstir: started the <what>... (pid N)`.
fn pid_of(line: &str) -> i32 {
    line.rsplit_once("(pid ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

#[test]
fn start_serves_on_port_runs_jobs_and_sigterm_stops_both_with_exit_0() {
    let ws = built_workspace("");
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["start", "--grace", "5s"], &[("PORT", &port)]);
    let server = pid_of(&run.wait_for("the server", |l| {
        l.starts_with("webstir: started the server")
    }));
    let watcher = pid_of(&run.wait_until_seen("the watcher", |l| {
        l.starts_with("webstir: started the job watcher")
    }));
    run.wait_for("the server listening", |l| {
        l == format!("[server] listening on {port} (v1)")
    });
    let response = get(port.parse().expect("port"));
    assert!(response.ends_with("hello from v1"), "{response}");
    run.wait_for("a run of the rate(1 second) job", |l| {
        l == "[jobs] [tick] tick"
    });
    run.wait_for("a second run", |l| l == "[jobs] [tick] tick");

    run.signal(libc::SIGTERM);
    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr: {:?}", done.stderr);
    assert!(
        done.stderr
            .contains(&"webstir: SIGTERM: stopping".to_owned())
    );
    assert!(gone(server), "the server is stopped");
    assert!(gone(watcher), "the job watcher is stopped");
}

#[test]
fn sigint_stops_both_too() {
    let ws = built_workspace("");
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["start"], &[("PORT", &port)]);
    run.wait_for("the server listening", |l| {
        l.starts_with("[server] listening")
    });
    run.signal(libc::SIGINT);
    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr: {:?}", done.stderr);
}

#[test]
fn without_jobs_runs_the_server_alone() {
    let ws = built_workspace("");
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["start", "--without-jobs"], &[("PORT", &port)]);
    run.wait_for("the server listening", |l| {
        l.starts_with("[server] listening")
    });
    assert!(get(port.parse().expect("port")).ends_with("hello from v1"));
    // Three periods of the job: it would have run by now.
    std::thread::sleep(Duration::from_secs(3));
    run.signal(libc::SIGTERM);
    let done = run.finish();
    assert_eq!(done.code, Some(0));
    let all: Vec<&String> = done.stdout.iter().chain(&done.stderr).collect();
    assert!(
        !all.iter()
            .any(|l| l.contains("[jobs]") || l.contains("job watcher")),
        "no job watcher output expected: {all:?}"
    );
}

#[test]
fn a_crashing_server_stops_the_watcher_and_its_status_says_so() {
    let ws = built_workspace("setTimeout(() => process.exit(3), 2500);");
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["start"], &[("PORT", &port)]);
    let watcher = pid_of(&run.wait_for("the watcher", |l| {
        l.starts_with("webstir: started the job watcher")
    }));
    let done = run.finish();
    assert_eq!(done.code, Some(3), "the server's own exit status");
    assert!(
        done.stderr.contains(
            &"webstir: error: the server exited with status 3; stopped the job watcher".to_owned()
        ),
        "{:?}",
        done.stderr
    );
    assert!(gone(watcher), "the job watcher is stopped");
}

#[test]
fn start_without_a_build_says_how_to_build() {
    let ws = Ws::new(TICK_JOB);
    let output = ws.webstir(&["start"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "webstir: error: `build/backend/index.js` does not exist; build the backend first (`webstir build`) or use `webstir dev`, which builds and watches\n"
    );
}

#[test]
fn dev_builds_serves_and_restarts_the_server_when_its_build_changes() {
    let ws = Ws::new(TICK_JOB);
    ws.file("src/backend/index.ts", &server_source("v1", ""));
    ws.file(
        "src/backend/jobs/tick/index.ts",
        "export async function run(): Promise<void> {\n  console.log('tick');\n}\n",
    );
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["dev", "--grace", "5s"], &[("PORT", &port)]);
    run.wait_for("the first server", |l| {
        l == format!("[server] listening on {port} (v1)")
    });
    run.wait_until_seen("a job run", |l| l == "[jobs] [tick] tick");
    ws.file("src/backend/index.ts", &server_source("v2", ""));
    run.wait_for("the restart", |l| {
        l == "webstir: the build output changed; restarting the server"
    });
    run.wait_for("the new server", |l| {
        l == format!("[server] listening on {port} (v2)")
    });
    assert!(get(port.parse().expect("port")).ends_with("hello from v2"));
    assert!(run.stdout.iter().any(|l| l.starts_with("[build] ")));

    run.signal(libc::SIGTERM);
    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr: {:?}", done.stderr);
}

#[test]
fn a_failing_job_watcher_stops_the_server_and_its_status_says_so() {
    let ws = built_workspace("");
    // The watcher refuses a manifest with an invalid schedule and exits 1.
    ws.file(
        "package.json",
        "{\n  \"name\": \"demo\",\n  \"type\": \"module\",\n  \"webstir\": {\n    \"mode\": \"api\",\n    \"moduleManifest\": { \"jobs\": [{\"name\": \"tick\", \"schedule\": \"bogus\"}] }\n  }\n}\n",
    );
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["start"], &[("PORT", &port)]);
    let server = pid_of(&run.wait_for("the server", |l| {
        l.starts_with("webstir: started the server")
    }));
    let done = run.finish();
    assert_eq!(done.code, Some(1), "the watcher's own exit status");
    assert!(
        done.stderr.contains(
            &"webstir: error: the job watcher exited with status 1; stopped the server".to_owned()
        ),
        "{:?}",
        done.stderr
    );
    assert!(
        done.stderr
            .iter()
            .any(|l| l.starts_with("[jobs] webstir: error: ")),
        "{:?}",
        done.stderr
    );
    assert!(gone(server), "the server is stopped");
}

#[test]
fn a_server_that_cannot_start_is_an_error_and_starts_no_watcher() {
    let ws = built_workspace("");
    let output = ws
        .webstir(&["start", "--node", "/nonexistent/node"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "webstir: error: could not start the server (`/nonexistent/node`): No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_server_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let ws = built_workspace("process.on('SIGTERM', () => console.log('ignoring SIGTERM'));");
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(
        &["start", "--without-jobs", "--grace", "1s"],
        &[("PORT", &port)],
    );
    let server = pid_of(&run.wait_for("the server", |l| {
        l.starts_with("webstir: started the server")
    }));
    run.wait_for("the server listening", |l| {
        l.starts_with("[server] listening")
    });
    let asked = std::time::Instant::now();
    run.signal(libc::SIGTERM);
    run.wait_for("the server's handler", |l| l == "[server] ignoring SIGTERM");
    let done = run.finish();
    assert_eq!(done.code, Some(0));
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "waited out the grace period"
    );
    assert!(gone(server), "killed after the grace period");
}

#[test]
fn dev_starts_a_crashed_server_again_after_the_next_build() {
    let ws = Ws::new("[]");
    ws.file(
        "src/backend/index.ts",
        "console.log('crashing');\nprocess.exit(4);\n",
    );
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["dev", "--without-jobs"], &[("PORT", &port)]);
    run.wait_for("the crash report", |l| {
        l == "webstir: the server exited with status 4; it starts again after the next build"
    });
    ws.file("src/backend/index.ts", &server_source("fixed", ""));
    run.wait_for("the fixed server", |l| {
        l == format!("[server] listening on {port} (fixed)")
    });
    run.signal(libc::SIGINT);
    assert_eq!(run.finish().code, Some(0));
}

#[test]
fn dev_without_a_server_runs_the_jobs_and_starts_the_server_once_one_is_built() {
    let ws = Ws::new(TICK_JOB);
    ws.file(
        "src/backend/jobs/tick/index.ts",
        "export async function run(): Promise<void> {\n  console.log('tick');\n}\n",
    );
    let port = free_port().to_string();
    let mut run = ws.spawn_webstir(&["dev"], &[("PORT", &port)]);
    run.wait_for("the notice", |l| {
        l == "webstir: build/backend/index.js does not exist; the server starts once a build writes it"
    });
    run.wait_for("a job run", |l| l == "[jobs] [tick] tick");
    ws.file("src/backend/index.ts", &server_source("late", ""));
    run.wait_for("the server", |l| {
        l == format!("[server] listening on {port} (late)")
    });
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish().code, Some(0));
}
