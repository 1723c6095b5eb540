//! The retry policy around one run (one tenant's run of one fire): attempt, and after a
//! failure that a new attempt might fix, wait `delay_after(n)` and attempt again, up to
//! `attempts` in all. The wait ends early when the run is asked to stop (the scheduler is
//! stopping, or the run is being replaced), and then no attempt follows.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use super::fire::Attempt;
use crate::manifest::policy::Retry;
use crate::runner::StopRequest;

/// How one attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tried {
    Succeeded,
    /// A failure of the run itself (it threw, exited non-zero, was killed, timed out).
    Failed,
    /// A failure that another attempt would repeat (no module, no Node, a broken import) or
    /// a run the scheduler stopped.
    FailedForGood,
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    Failed,
    /// Attempt `0` failed and the stop request came while waiting to retry.
    Cancelled(Attempt),
}

/// Runs `attempt` until it succeeds, fails for good, or the attempts are used up.
/// `on_retry(next, delay)` is told about each wait before it starts.
pub async fn with_retries<F, Fut>(
    retry: Option<&Retry>,
    stop: &watch::Receiver<StopRequest>,
    mut attempt: F,
    mut on_retry: impl FnMut(Attempt, Duration),
) -> Ended
where
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Tried>,
{
    let of = retry.map_or(1, |r| r.attempts.max(1));
    let mut number = 1;
    loop {
        let this = Attempt { number, of };
        match attempt(this).await {
            Tried::Succeeded => return Ended::Succeeded,
            Tried::FailedForGood => return Ended::Failed,
            Tried::Failed if this.is_last() => return Ended::Failed,
            Tried::Failed => {}
        }
        if *stop.borrow() != StopRequest::None {
            return Ended::Cancelled(this);
        }
        let delay = retry.map_or(Duration::ZERO, |r| r.delay_after(number));
        number += 1;
        on_retry(Attempt { number, of }, delay);
        let mut stop = stop.clone();
        let stopped = async {
            if stop.wait_for(|r| *r != StopRequest::None).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped => return Ended::Cancelled(this),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::policy::Backoff;
    use std::cell::RefCell;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime")
    }

    fn retry(attempts: u32) -> Retry {
        Retry {
            attempts,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(10),
            max_delay: Some(Duration::from_secs(15)),
        }
    }

    #[test]
    fn retries_until_the_attempts_are_used_up_with_growing_waits() {
        runtime().block_on(async {
            let (_tx, stop) = watch::channel(StopRequest::None);
            let tried = RefCell::new(Vec::new());
            let waits = RefCell::new(Vec::new());
            let ended = with_retries(
                Some(&retry(3)),
                &stop,
                |a| {
                    tried
                        .borrow_mut()
                        .push((a.number, tokio::time::Instant::now()));
                    async { Tried::Failed }
                },
                |next, delay| waits.borrow_mut().push((next.number, delay.as_secs())),
            )
            .await;
            assert_eq!(ended, Ended::Failed);
            assert_eq!(*waits.borrow(), [(2, 10), (3, 15)]);
            let tried = tried.borrow();
            assert_eq!(tried.len(), 3);
            assert!(tried[1].1 - tried[0].1 >= Duration::from_secs(10));
            assert!(tried[2].1 - tried[1].1 >= Duration::from_secs(15));
        });
    }

    #[test]
    fn a_success_or_a_failure_for_good_ends_the_run() {
        runtime().block_on(async {
            let (_tx, stop) = watch::channel(StopRequest::None);
            let count = RefCell::new(0);
            let ended = with_retries(
                Some(&retry(5)),
                &stop,
                |a| {
                    *count.borrow_mut() += 1;
                    async move {
                        if a.number == 2 {
                            Tried::Succeeded
                        } else {
                            Tried::Failed
                        }
                    }
                },
                |_, _| {},
            )
            .await;
            assert_eq!((ended, *count.borrow()), (Ended::Succeeded, 2));
            let ended = with_retries(
                Some(&retry(5)),
                &stop,
                |_| async { Tried::FailedForGood },
                |_, _| {},
            )
            .await;
            assert_eq!(ended, Ended::Failed);
        });
    }

    #[test]
    fn a_stop_request_cuts_the_wait_short() {
        runtime().block_on(async {
            let (tx, stop) = watch::channel(StopRequest::None);
            let started = tokio::time::Instant::now();
            let ended = with_retries(
                Some(&retry(3)),
                &stop,
                |_| async { Tried::Failed },
                |_, _| {
                    let _ = tx.send(StopRequest::Graceful);
                },
            )
            .await;
            assert_eq!(ended, Ended::Cancelled(Attempt { number: 1, of: 3 }));
            assert!(started.elapsed() < Duration::from_secs(10));
        });
    }
}
