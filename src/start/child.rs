//! One supervised child of `start`/`dev`: spawned in its own process group so that a signal
//! to the group reaches everything it started, with each output line prefixed by its role.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Which child: the names used in output prefixes and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Jobs,
    Build,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Jobs => "jobs",
            Role::Build => "build",
        }
    }
}

/// A running child and its process group.
#[derive(Debug)]
pub struct Supervised {
    pub role: Role,
    child: Child,
    pgid: i32,
}

impl Supervised {
    /// Starts `program args...` in `cwd`, in a new process group, its output forwarded line
    /// by line with a `[role] ` prefix (stdout to stdout, stderr to stderr).
    pub fn spawn(
        role: Role,
        program: &OsString,
        args: &[OsString],
        cwd: &Path,
    ) -> io::Result<Supervised> {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent. If webstir
        // itself is killed outright, the child gets SIGTERM instead of living on unsupervised.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| io::Error::other("the child exited before it could be supervised"))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out, role, false));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err, role, true));
        }
        Ok(Supervised { role, child, pgid })
    }

    pub fn pid(&self) -> Option<u32> {
        u32::try_from(self.pgid).ok()
    }

    /// Waits for the child to exit by itself.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Asks the whole group to stop (SIGTERM).
    pub fn terminate(&mut self) {
        signal_group(self.pgid, libc::SIGTERM);
    }

    /// After [`Supervised::terminate`]: waits for the child until `deadline`, then kills the
    /// group. Anything the leader left behind in its group is killed either way.
    pub async fn finish_by(&mut self, deadline: tokio::time::Instant) -> io::Result<ExitStatus> {
        let status = match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                signal_group(self.pgid, libc::SIGKILL);
                self.child.wait().await?
            }
        };
        signal_group(self.pgid, libc::SIGKILL);
        Ok(status)
    }

    /// SIGTERM to the whole group, then SIGKILL if it has not exited after `grace`.
    pub async fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        self.terminate();
        self.finish_by(tokio::time::Instant::now() + grace).await
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: killpg has no memory-safety preconditions; a group that is gone is ESRCH.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

async fn forward(stream: impl AsyncRead + Unpin, role: Role, to_stderr: bool) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let prefix = format!("[{}] ", role.label());
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        // A closed terminal or pipe must not stop the supervision: write errors are dropped.
        let _ = if to_stderr {
            write_line(&mut io::stderr().lock(), &prefix, &line)
        } else {
            write_line(&mut io::stdout().lock(), &prefix, &line)
        };
    }
}

fn write_line(out: &mut impl Write, prefix: &str, line: &[u8]) -> io::Result<()> {
    // The watcher already labels its own events `[jobs] `: one label is enough.
    if !line.starts_with(prefix.as_bytes()) {
        out.write_all(prefix.as_bytes())?;
    }
    out.write_all(line)?;
    out.flush()
}

/// `status` as a process exit code: its own code, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

/// "exited with status 3", "was killed by signal 9".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "exited".into(),
    }
}
