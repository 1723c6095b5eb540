//! Keeping the process tree clean: the scheduler becomes a child subreaper, so that processes a
//! job leaves behind are re-parented to it rather than to init, and it reaps those orphans
//! itself. Without this, killed grandchildren would linger as zombies in containers whose PID 1
//! does not reap.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Pids of the job processes tokio is waiting for: the orphan reaper must leave them alone or
/// tokio would lose their exit status.
static TRACKED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Makes this process the reaper of its descendants' orphans. Returns false where the kernel
/// does not support it (the scheduler still works; orphans then go to init).
pub fn become_subreaper() -> bool {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on the calling process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

pub(crate) fn track(pid: i32) {
    if let Ok(mut set) = TRACKED.lock() {
        set.insert(pid);
    }
}

pub(crate) fn untrack(pid: i32) {
    if let Ok(mut set) = TRACKED.lock() {
        set.remove(&pid);
    }
}

/// Reaps orphans that have exited, waiting up to `patience` for orphans that are still
/// dying (they were just sent SIGKILL). Returns how many were reaped.
pub fn reap_orphans(patience: Duration) -> usize {
    let deadline = Instant::now() + patience;
    let mut reaped = 0;
    loop {
        let orphans = untracked_children();
        for &pid in &orphans {
            let mut status = 0;
            // SAFETY: waitpid on a specific pid that is our child and not owned by tokio.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                reaped += 1;
            }
        }
        if untracked_children().is_empty() || Instant::now() >= deadline {
            return reaped;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Children of this process that are not job processes tokio waits for.
fn untracked_children() -> Vec<i32> {
    let tracked = TRACKED.lock().map(|s| s.clone()).unwrap_or_default();
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        pids.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .filter(|p| !tracked.contains(p)),
        );
    }
    pids
}
