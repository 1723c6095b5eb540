//! `--job` and `--all`: each selected job once, in order, with `WEBSTIR_SCHEDULE=manual`.
//! One failure does not stop the rest; SIGINT/SIGTERM stops the running job and the rest.

use tokio::sync::watch;

use super::Summary;
use super::engine::Engine;
use super::fire::Fire;
use super::plan::PlannedJob;
use super::signals::Signals;
use crate::runner::StopRequest;

/// What `WEBSTIR_SCHEDULE` says when a run was asked for rather than scheduled.
pub const MANUAL: &str = "manual";

pub async fn run_once(
    engine: &Engine,
    jobs: &[PlannedJob],
    args: &[String],
    signals: &mut Signals,
    stop: &watch::Sender<StopRequest>,
) -> Summary {
    let mut summary = Summary::default();
    for job in jobs {
        if summary.signal.is_some() {
            break;
        }
        // Manual runs are not jittered: someone is waiting for them.
        let fire = Fire::manual(chrono::Utc::now());
        let switch = engine.stop_switch();
        let run = engine.run_job(job, &fire, args, &switch);
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                signal = signals.recv() => {
                    if summary.signal.is_none() {
                        engine.log.stopping_runs(signal);
                        summary.signal = Some(signal);
                        let _ = stop.send(StopRequest::Graceful);
                    } else {
                        engine.log.killing_runs(signal);
                        let _ = stop.send(StopRequest::Immediate);
                    }
                }
            }
        };
        summary.runs += outcome.runs;
        summary.failed.extend(outcome.failed);
    }
    if !summary.failed.is_empty() && summary.runs > 1 {
        engine.log.summary(&summary.failed, summary.runs);
    }
    summary
}
