//! What every child the scheduler starts (a run of the process runner, a warm worker) needs
//! between fork and exec: to die with the scheduler, and its pipe ends at the descriptors its
//! script expects.

use std::os::fd::RawFd;

/// Most descriptors [`die_with_scheduler_and_place`] moves.
const MAX_PLACED: usize = 4;

/// Makes `command`'s child die with the scheduler and see each `(fd, target)` pair's `fd` as
/// `target` (without close-on-exec), whatever the numbers are.
pub(super) fn die_with_scheduler_and_place(
    command: &mut tokio::process::Command,
    placements: &[(RawFd, RawFd)],
) {
    assert!(
        placements.len() <= MAX_PLACED,
        "too many descriptors to place"
    );
    let mut places = [(0, 0); MAX_PLACED];
    places[..placements.len()].copy_from_slice(placements);
    let count = placements.len();
    let scheduler_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec; it allocates nothing and only calls
    // async-signal-safe functions (prctl, getppid, fcntl, dup2, _exit) on descriptors that
    // exist in the child.
    unsafe {
        command.pre_exec(move || {
            // A scheduler killed with SIGKILL cannot stop its children; the kernel then kills
            // them for it. The signal follows the thread that spawned the child: the
            // scheduler's runtime runs on its main thread, which lives as long as the process.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The scheduler died before the request above took effect.
            if libc::getppid() != scheduler_pid {
                libc::_exit(1);
            }
            // Out of the way first, so that placing one descriptor cannot overwrite another
            // still to be placed; dup2 then leaves each target open across exec.
            let mut moved = [0; MAX_PLACED];
            for (slot, (fd, _)) in moved.iter_mut().zip(&places[..count]) {
                *slot = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 10);
                if *slot == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (fd, (_, target)) in moved.iter().zip(&places[..count]) {
                if libc::dup2(*fd, *target) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
