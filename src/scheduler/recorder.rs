//! The run history's writer: an observer that hands each run event to a task of its own,
//! which writes it to the [`RunStore`]. Every event queued when the writer wakes goes to the
//! store in one batch (one SQLite transaction: a job that fires every second costs a commit
//! per batch, not two per run). The scheduler never waits on the database: a store
//! that fails (locked, disk full, connection lost) is said once in the log, the events wait in
//! a bounded backlog and are written when the store answers again, and the runs go on.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::log::Log;
use super::observer::{RunEvent, RunEventKind, RunObserver};
use crate::store::{
    BatchError, Owner, RunEnd, RunId, RunRecord, RunRef, RunStart, RunStore, StoreError,
};

/// Most events kept while the store fails; the oldest go first beyond it.
pub const BACKLOG: usize = 10_000;

/// Most events written in one batch (one transaction of the SQLite store).
const MAX_BATCH: usize = 1_000;

/// How long the writer waits after an event for the ones that follow it before writing.
const LINGER: Duration = Duration::from_millis(50);

/// The first wait before writing again after a failure; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// How long the scheduler waits at its end for the last events to be written.
pub const FLUSH_PATIENCE: Duration = Duration::from_secs(10);

enum Message {
    Event(Box<RunEvent>),
    /// Write what came before, then end.
    Close,
}

/// The observer half: sends each event to the writer.
struct Sender(mpsc::UnboundedSender<Message>);

impl RunObserver for Sender {
    fn observe(&self, event: &RunEvent) {
        // The writer outlives the engine's runs; after `close` nothing is sent.
        let _ = self.0.send(Message::Event(Box::new(event.clone())));
    }
}

/// A running writer.
pub struct Recorder {
    tx: mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
    pending: Arc<AtomicUsize>,
    log: Log,
}

impl Recorder {
    /// Starts writing run events to `store`, on the current tokio runtime; returns the writer
    /// and the observer to hand to the engine. Runs this host's dead watchers left `running`
    /// are marked lost first.
    pub fn start(store: Arc<dyn RunStore>, log: Log) -> (Recorder, Arc<dyn RunObserver>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let writer = Writer {
            store,
            owner: Owner::this_process(),
            log,
            ids: HashMap::new(),
            backlog: VecDeque::new(),
            dropped: 0,
            failing: None,
            pending: Arc::clone(&pending),
        };
        let task = tokio::spawn(writer.run(rx));
        let observer = Arc::new(Sender(tx.clone()));
        (
            Recorder {
                tx,
                task,
                pending,
                log,
            },
            observer,
        )
    }

    /// Writes the events sent so far and stops, waiting at most `patience` for a store that
    /// does not answer; what is left unwritten then is said in the log.
    pub async fn close(self, patience: Duration) {
        let _ = self.tx.send(Message::Close);
        let mut task = self.task;
        if tokio::time::timeout(patience, &mut task).await.is_err() {
            task.abort();
            let left = self.pending.load(Ordering::SeqCst);
            self.log.notice(
                "history",
                None,
                &format!("run history: {left} record(s) of the last runs could not be written before exiting"),
            );
        }
    }
}

/// Why the writer is waiting: the store failed, and when to try again.
struct Failing {
    retry_at: Instant,
    wait: Duration,
}

struct Writer {
    store: Arc<dyn RunStore>,
    owner: Owner,
    log: Log,
    /// The store's row of each run this process started, by the process's run id.
    ids: HashMap<u64, RunId>,
    backlog: VecDeque<RunEvent>,
    /// Events dropped from a full backlog since the store last answered.
    dropped: usize,
    failing: Option<Failing>,
    pending: Arc<AtomicUsize>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Message>) {
        if let Err(error) = self.store.heartbeat(&self.owner, Duration::ZERO).await {
            self.failed(&error);
        }
        let mut closing = false;
        loop {
            // `None`: time to try the store again. A channel whose senders are all gone
            // closes the writer like `Close`.
            let message = match &self.failing {
                _ if closing => None,
                Some(failing) => {
                    tokio::select! {
                        message = rx.recv() => Some(message.unwrap_or(Message::Close)),
                        () = tokio::time::sleep_until(failing.retry_at) => None,
                    }
                }
                None => Some(rx.recv().await.unwrap_or(Message::Close)),
            };
            match message {
                Some(Message::Event(event)) => {
                    self.push(*event);
                    if self.failing.is_none() {
                        // The events of one round of fires (their starts, then their ends a
                        // few milliseconds apart) are written together.
                        tokio::time::sleep(LINGER).await;
                    }
                }
                Some(Message::Close) => closing = true,
                None => {}
            }
            // Everything already sent goes in the backlog before writing, so that a burst is
            // written in one go.
            while let Ok(message) = rx.try_recv() {
                match message {
                    Message::Event(event) => self.push(*event),
                    Message::Close => closing = true,
                }
            }
            if self
                .failing
                .as_ref()
                .is_none_or(|f| Instant::now() >= f.retry_at)
            {
                self.drain().await;
            }
            if closing && self.backlog.is_empty() {
                return;
            }
            if closing && let Some(failing) = &self.failing {
                // Closing with a store that fails: keep trying until the scheduler gives up.
                tokio::time::sleep_until(failing.retry_at).await;
            }
        }
    }

    fn push(&mut self, event: RunEvent) {
        if matches!(event.kind, RunEventKind::Retried | RunEventKind::CatchUp) {
            // Nothing of these goes in the store.
            return;
        }
        if self.backlog.len() >= BACKLOG {
            self.backlog.pop_front();
            self.dropped += 1;
        }
        self.backlog.push_back(event);
        self.pending.store(self.backlog.len(), Ordering::SeqCst);
    }

    /// Writes the backlog in order, in batches of everything queued, until it is empty or the
    /// store fails.
    async fn drain(&mut self) {
        while !self.backlog.is_empty() {
            let count = self.backlog.len().min(MAX_BATCH);
            let records = self.records(count);
            let (written, error) = match self.store.record(&records).await {
                Ok(written) => (written, None),
                Err(BatchError { written, error }) => (written, Some(error)),
            };
            for id in written {
                let Some(event) = self.backlog.pop_front() else {
                    break;
                };
                match (&event.kind, id) {
                    (RunEventKind::Started, Some(id)) => {
                        self.ids.insert(event.run, id);
                    }
                    (RunEventKind::Finished { .. }, _) => {
                        self.ids.remove(&event.run);
                    }
                    _ => {}
                }
            }
            self.pending.store(self.backlog.len(), Ordering::SeqCst);
            if let Some(error) = error {
                self.failed(&error);
                return;
            }
        }
        if self.failing.take().is_some() {
            let dropped = std::mem::take(&mut self.dropped);
            let lost = if dropped > 0 {
                format!("; {dropped} older record(s) were dropped meanwhile")
            } else {
                String::new()
            };
            self.log.notice(
                "history",
                None,
                &format!(
                    "run history: {} answers again; the runs of the meantime are recorded{lost}",
                    self.store.location()
                ),
            );
        }
    }

    fn failed(&mut self, error: &StoreError) {
        match &mut self.failing {
            Some(failing) => {
                failing.wait = (failing.wait * 2).min(MAX_RETRY);
                failing.retry_at = Instant::now() + failing.wait;
            }
            None => {
                // Said once: a store that stays down must not flood the log.
                self.log.notice(
                    "history",
                    None,
                    &format!(
                        "run history: could not write to the store ({error}); jobs keep running, and their runs are kept in memory (up to {BACKLOG} records) and written when it answers"
                    ),
                );
                self.failing = Some(Failing {
                    retry_at: Instant::now() + FIRST_RETRY,
                    wait: FIRST_RETRY,
                });
            }
        }
    }

    /// The store's records of the first `count` events of the backlog.
    fn records(&self, count: usize) -> Vec<RunRecord> {
        // The starts of this batch, by run id, for the ends that follow them in it.
        let mut started: HashMap<u64, usize> = HashMap::new();
        let mut records = Vec::with_capacity(count);
        for event in self.backlog.iter().take(count) {
            let record = match &event.kind {
                RunEventKind::Started => {
                    started.insert(event.run, records.len());
                    RunRecord::Started(self.start_of(event, event.at))
                }
                RunEventKind::Finished {
                    duration,
                    outcome,
                    error,
                    exit_status,
                } => {
                    let run = if let Some(id) = self.ids.get(&event.run) {
                        RunRef::Stored(*id)
                    } else if let Some(index) = started.get(&event.run) {
                        RunRef::InBatch(*index)
                    } else {
                        // Its start was dropped from a full backlog: record the run whole.
                        let at =
                            event.at - chrono::Duration::from_std(*duration).unwrap_or_default();
                        RunRef::Unrecorded(self.start_of(event, at))
                    };
                    RunRecord::Finished {
                        run,
                        end: RunEnd {
                            finished_at: event.at,
                            outcome: *outcome,
                            error: error.clone(),
                            exit_status: *exit_status,
                        },
                    }
                }
                RunEventKind::Skipped => RunRecord::Skipped {
                    run: self.start_of(event, event.at),
                    at: event.at,
                },
                RunEventKind::Retried | RunEventKind::CatchUp => {
                    unreachable!("only recorded events enter the backlog")
                }
            };
            records.push(record);
        }
        records
    }

    fn start_of(&self, event: &RunEvent, started_at: chrono::DateTime<chrono::Utc>) -> RunStart {
        RunStart {
            job: event.job.clone(),
            tenant: event.tenant.clone(),
            schedule: event.schedule.clone(),
            due: event.due,
            started_at,
            attempt: event.attempt,
            owner: self.owner.clone(),
        }
    }
}
