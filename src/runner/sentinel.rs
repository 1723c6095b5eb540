//! The last line of defence against orphaned jobs: a small process forked from the scheduler
//! that learns the process group of every run through a pipe and, when the pipe closes without
//! a run having been released (the scheduler died, even by SIGKILL), kills those groups.
//!
//! `PR_SET_PDEATHSIG` (see `process.rs`) kills a job's Node process with the scheduler, but not
//! what the job started; those stay in the job's process group, which only someone alive can
//! signal. The pipe closes when the scheduler's last copy of the write end goes, that is when
//! the scheduler process ends, however it ends.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Mutex, OnceLock};

/// Most process groups the sentinel remembers at once; runs beyond this still die with the
/// scheduler through `PR_SET_PDEATHSIG`, only their descendants are not covered.
const CAPACITY: usize = 4096;

static SENTINEL: OnceLock<Mutex<std::io::PipeWriter>> = OnceLock::new();

/// Forks the sentinel. Call it while the process has a single thread (before the runtime
/// starts): the child runs only async-signal-safe code, but a fork copies no other thread.
/// Returns the sentinel's pid, or `None` if it was already started or could not be.
pub fn start() -> Option<i32> {
    if SENTINEL.get().is_some() {
        return None;
    }
    let (reader, writer) = std::io::pipe().ok()?;
    // SAFETY: the child only calls async-signal-safe functions and ends with _exit.
    match unsafe { libc::fork() } {
        -1 => None,
        0 => {
            drop(writer);
            guard(OwnedFd::from(reader))
        }
        pid => {
            drop(reader);
            SENTINEL.set(Mutex::new(writer)).ok()?;
            Some(pid)
        }
    }
}

/// Tells the sentinel that `pgid` is a running job's process group.
pub(crate) fn watch(pgid: i32) {
    send(pgid);
}

/// Tells the sentinel that the group `pgid` has been dealt with.
pub(crate) fn release(pgid: i32) {
    send(-pgid);
}

fn send(record: i32) {
    if record == 0 {
        return;
    }
    if let Some(writer) = SENTINEL.get()
        && let Ok(mut writer) = writer.lock()
    {
        // Four bytes are written atomically to a pipe; a failed write leaves PDEATHSIG.
        let _ = writer.write_all(&record.to_ne_bytes());
    }
}

/// The sentinel's life: collect groups until the pipe closes, then kill what is left.
fn guard(reader: OwnedFd) -> ! {
    // SAFETY: signal, open, dup2, read, killpg and _exit are async-signal-safe; every buffer is
    // on this stack.
    unsafe {
        // Terminal signals are for the scheduler, which stops its runs itself; the sentinel
        // ends when the scheduler does.
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(signal, libc::SIG_IGN);
        }
        // Holding the scheduler's output open would keep its readers waiting for an end.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..=2 {
                libc::dup2(null, fd);
            }
        }
        let mut groups = [0i32; CAPACITY];
        let mut record = [0u8; 4];
        loop {
            let n = libc::read(reader.as_raw_fd(), record.as_mut_ptr().cast(), record.len());
            if n == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if n != record.len() as isize {
                break;
            }
            let value = i32::from_ne_bytes(record);
            if value > 0 {
                if let Some(slot) = groups.iter_mut().find(|g| **g == 0) {
                    *slot = value;
                }
            } else if let Some(slot) = groups.iter_mut().find(|g| **g == -value) {
                *slot = 0;
            }
        }
        for &group in groups.iter().filter(|g| **g > 0) {
            libc::killpg(group, libc::SIGKILL);
        }
        libc::_exit(0)
    }
}
