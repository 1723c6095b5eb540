//! Manual runs asked for while watching (`POST /jobs/<name>/run`): the HTTP server hands each
//! request to the watch loop, which starts the run itself, so that the run counts for the
//! job's overlap policy like a scheduled one (a fire due while it runs is skipped, queued or
//! replaces it) and is stopped with the others.

use tokio::sync::{mpsc, oneshot};

/// What the watch loop did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualReply {
    /// The run started.
    Started,
    /// The job is running; nothing was started.
    Running,
    /// The loop does not watch this job (a job without a schedule, or one left out by
    /// `--job`): the caller runs it on its own.
    NotWatched,
}

/// One request: the job's name and where the answer goes.
#[derive(Debug)]
pub struct ManualRun {
    pub job: String,
    pub reply: oneshot::Sender<ManualReply>,
}

/// How many requests may wait for the loop; more are refused as busy by the server.
pub const BACKLOG: usize = 64;

pub fn channel() -> (mpsc::Sender<ManualRun>, mpsc::Receiver<ManualRun>) {
    mpsc::channel(BACKLOG)
}

/// The next request, or never once there is no server (or it has gone).
pub async fn next(requests: &mut Option<mpsc::Receiver<ManualRun>>) -> ManualRun {
    if let Some(receiver) = requests
        && let Some(request) = receiver.recv().await
    {
        return request;
    }
    *requests = None;
    std::future::pending().await
}
