//! A wake-up at a wall-clock time: a Linux `timerfd` on `CLOCK_REALTIME` with
//! `TFD_TIMER_CANCEL_ON_SET`. Cron and macro schedules are wall-clock times, and a sleep on the
//! monotonic clock misses them when the clock is set (an NTP step, a manual change) or the
//! machine was suspended, since the monotonic clock stops during suspend. This alarm fires at
//! the wall-clock time itself, right after a resume that passed it, and at once when the clock
//! is set, so the watcher can re-aim without waking up periodically to check.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use chrono::{DateTime, Utc};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

#[derive(Debug)]
pub struct WallAlarm {
    fd: AsyncFd<OwnedFd>,
}

impl WallAlarm {
    /// A disarmed alarm. Needs a Tokio runtime with I/O enabled.
    pub fn new() -> io::Result<WallAlarm> {
        // SAFETY: timerfd_create has no memory-safety preconditions; the descriptor it returns
        // is owned by nothing else.
        let fd = unsafe {
            libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is not owned elsewhere.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the OwnedFd is open and moves into the AsyncFd, which alone closes it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(WallAlarm { fd })
    }

    /// Arms the alarm for `at` (a time already past fires at once), or disarms it.
    pub fn set(&self, at: Option<DateTime<Utc>>) -> io::Result<()> {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let value = match at {
            // A zero it_value disarms, so the earliest time that arms is one nanosecond.
            Some(at) if at.timestamp() <= 0 => libc::timespec {
                tv_sec: 0,
                tv_nsec: 1,
            },
            Some(at) => libc::timespec {
                tv_sec: at.timestamp() as libc::time_t,
                tv_nsec: at.timestamp_subsec_nanos() as libc::c_long,
            },
            None => zero,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: value,
        };
        let flags = libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET;
        // SAFETY: `spec` is a valid itimerspec and the old value may be null.
        let done = unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), flags, &spec, std::ptr::null_mut())
        };
        if done == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Resolves when the armed time is reached or the system clock was set; never while
    /// disarmed.
    pub async fn wait(&self) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            let read = guard.try_io(|fd| {
                let mut expirations = 0u64;
                // SAFETY: reads 8 bytes into a u64 we own.
                let n = unsafe {
                    libc::read(
                        fd.as_raw_fd(),
                        (&raw mut expirations).cast(),
                        std::mem::size_of::<u64>(),
                    )
                };
                if n == -1 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                // Either the time was reached, or ECANCELED: the clock was set.
                Ok(_) => return,
                // Spurious readiness; wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn fires_at_the_wall_clock_time_and_not_before() {
        runtime().block_on(async {
            let alarm = WallAlarm::new().expect("timerfd");
            let at = Utc::now() + chrono::Duration::milliseconds(200);
            alarm.set(Some(at)).expect("arm");
            tokio::time::timeout(Duration::from_secs(30), alarm.wait())
                .await
                .expect("the alarm fired");
            assert!(Utc::now() >= at);
        });
    }

    #[test]
    fn a_past_time_fires_at_once_and_a_disarmed_alarm_never() {
        runtime().block_on(async {
            let alarm = WallAlarm::new().expect("timerfd");
            alarm
                .set(Some(Utc::now() - chrono::Duration::seconds(5)))
                .expect("arm");
            tokio::time::timeout(Duration::from_secs(30), alarm.wait())
                .await
                .expect("a past time fires");
            alarm.set(None).expect("disarm");
            assert!(
                tokio::time::timeout(Duration::from_millis(300), alarm.wait())
                    .await
                    .is_err()
            );
        });
    }
}
