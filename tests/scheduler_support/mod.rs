//! A real temporary workspace for scheduler tests: `package.json` with the manifest's jobs and
//! plain JavaScript job modules under `build/backend/jobs/<name>/index.js`, run by the real
//! `webstir` binary and a real Node.js.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

/// Upper bound for anything a test waits for; generous so a busy machine does not fail tests.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Ws {
    dir: TempDir,
}

impl Ws {
    /// A workspace whose manifest lists `jobs` (a JSON array).
    pub fn new(jobs: &str) -> Ws {
        let dir = tempfile::tempdir().expect("temp dir");
        let ws = Ws { dir };
        ws.file(
            "package.json",
            &format!(
                "{{\n  \"name\": \"demo\",\n  \"type\": \"module\",\n  \"webstir\": {{\n    \"mode\": \"api\",\n    \"moduleManifest\": {{ \"jobs\": {jobs} }}\n  }}\n}}\n"
            ),
        );
        ws
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Writes `build/backend/jobs/<name>/index.js`.
    pub fn job(&self, name: &str, js: &str) -> &Ws {
        self.file(&format!("build/backend/jobs/{name}/index.js"), js)
    }

    pub fn file(&self, rel: &str, contents: &str) -> &Ws {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    /// `webstir --workspace <root> scheduler <args>` with a clean, deterministic environment.
    pub fn scheduler(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("webstir").expect("binary");
        cmd.arg("--workspace")
            .arg(self.root())
            .arg("scheduler")
            .args(args);
        clean_env(&mut cmd);
        cmd
    }

    /// `webstir --workspace <root> <args>`.
    pub fn webstir(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("webstir").expect("binary");
        cmd.arg("--workspace").arg(self.root()).args(args);
        clean_env(&mut cmd);
        cmd
    }

    /// Starts `webstir scheduler <args>` in the background, its output read line by line.
    pub fn spawn_scheduler(&self, args: &[&str]) -> Running {
        Running::start(self.scheduler_command(args))
    }

    /// [`Ws::spawn_scheduler`] with extra environment variables.
    pub fn spawn_scheduler_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = self.scheduler_command(args);
        cmd.envs(env.iter().copied());
        Running::start(cmd)
    }

    /// `webstir scheduler <args>` as a plain command (clean environment, stdin empty, stdout
    /// and stderr piped), for tests that read its output their own way.
    pub fn scheduler_command(&self, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("webstir"));
        cmd.arg("--workspace")
            .arg(self.root())
            .arg("scheduler")
            .args(args);
        for var in ENV_TO_CLEAR {
            cmd.env_remove(var);
        }
        cmd.env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts `webstir --workspace <root> <args>` in the background, its output read line by
    /// line, with `envs` added to the clean environment.
    pub fn spawn_webstir(&self, args: &[&str], envs: &[(&str, &str)]) -> Running {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("webstir"));
        cmd.arg("--workspace").arg(self.root()).args(args);
        for var in ENV_TO_CLEAR {
            cmd.env_remove(var);
        }
        cmd.env("TZ", "UTC")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Running::start(cmd)
    }
}

const ENV_TO_CLEAR: &[&str] = &[
    "WEBSTIR_WORKSPACE",
    "WEBSTIR_NODE",
    "WEBSTIR_JOB",
    "WEBSTIR_SCHEDULE",
    "WEBSTIR_TENANT_ID",
    "WEBSTIR_FIRE_TIME",
    "WEBSTIR_ATTEMPT",
];

fn clean_env(cmd: &mut Command) {
    for var in ENV_TO_CLEAR {
        cmd.env_remove(var);
    }
    cmd.env("TZ", "UTC");
}

/// A scheduler running in the background.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<(char, String)>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Running {
    fn start(mut cmd: StdCommand) -> Running {
        let mut child = cmd.spawn().expect("spawn scheduler");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for (tag, stream) in [
            ('o', Box::new(out) as Box<dyn std::io::Read + Send>),
            ('e', Box::new(err)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send((tag, line)).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines: rx,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until a line (on either stream) satisfies `pred` and returns it.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((tag, line)) => {
                    let hit = pred(&line);
                    if tag == 'o' {
                        self.stdout.push(line.clone());
                    } else {
                        self.stderr.push(line.clone());
                    }
                    if hit {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.join("\n"),
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Like [`Running::wait_for`], but also satisfied by a line already read.
    pub fn wait_until_seen(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let seen = self.stdout.iter().chain(&self.stderr).find(|l| pred(l));
        match seen {
            Some(line) => line.clone(),
            None => self.wait_for(what, pred),
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0, "kill");
    }

    /// Waits for the scheduler to exit and collects the rest of its output.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "scheduler did not exit\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.join("\n"),
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader threads end at EOF, which follows the exit.
        while let Ok((tag, line)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            if tag == 'o' {
                self.stdout.push(line);
            } else {
                self.stderr.push(line);
            }
        }
        Finished {
            code: status.code(),
            stdout: std::mem::take(&mut self.stdout),
            stderr: std::mem::take(&mut self.stderr),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a scheduler behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

/// True while `pid` is a live process (a zombie counts as gone: it runs nothing).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// Waits up to [`PATIENCE`] for `pid` to be gone.
pub fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Lines of `text` without the trailing empty one.
pub fn lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts `line` is `[jobs] <label> completed in <N>ms`.
pub fn assert_completed(line: &str, label: &str) {
    let rest = line
        .strip_prefix(&format!("[jobs] {label} completed in "))
        .unwrap_or_else(|| panic!("not a completion line for {label}: {line:?}"));
    let ms = rest
        .strip_suffix("ms")
        .unwrap_or_else(|| panic!("no ms suffix: {line:?}"));
    assert!(ms.parse::<u64>().is_ok(), "not a number of ms: {line:?}");
}
