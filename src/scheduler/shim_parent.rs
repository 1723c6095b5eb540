//! A scheduler started by `scheduler.js` (the Node shim of a built workspace) dies with it.
//!
//! Supervisors stop or restart `node build/backend/jobs/scheduler.js --watch` by killing that
//! process, at worst with SIGKILL (an OOM kill, a forced restart). The shim cannot pass that on,
//! so the scheduler asks the kernel for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`) and
//! then checks that its parent is still the shim, which may have died before the request took
//! effect. Its jobs then go the way they go when the scheduler itself is killed (their own
//! parent-death signal, and the sentinel for what they started).

/// Set by the shim to its own pid for the scheduler it starts; jobs never see it.
pub const SHIM_PID_VAR: &str = "WEBSTIR_SHIM_PID";

/// The shim that started this scheduler is already gone.
#[derive(Debug, thiserror::Error)]
#[error(
    "scheduler.js (pid {shim}) that started this scheduler has exited; not starting without it"
)]
pub struct ShimGone {
    pub shim: i32,
}

/// When started by the shim, arranges to die with it; does nothing otherwise. Call it while
/// the process has a single thread: it removes the shim's variable from the environment, so
/// that jobs do not inherit it.
pub fn die_with_shim() -> Result<(), ShimGone> {
    let Some(value) = std::env::var_os(SHIM_PID_VAR) else {
        return Ok(());
    };
    // SAFETY: called before any other thread exists (see above), so nothing reads the
    // environment concurrently.
    unsafe { std::env::remove_var(SHIM_PID_VAR) };
    let Some(shim) = value.to_str().and_then(|pid| pid.parse::<i32>().ok()) else {
        return Ok(());
    };
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid only read and set flags of this process.
    unsafe {
        // The signal follows the thread of the parent that started us: Node spawns children
        // from its main thread, which lives as long as the shim.
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
            return Ok(());
        }
        if libc::getppid() != shim {
            return Err(ShimGone { shim });
        }
    }
    Ok(())
}
