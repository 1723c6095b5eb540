//! What the scheduler and a worker say to each other: one JSON object per line, requests on the
//! worker's file descriptor 4, everything else (framed job output, run outcomes) on its file
//! descriptor 3. Job output never travels unframed beside the protocol.

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde::{Deserialize, Serialize};

use crate::runner::Failure;
use crate::runner::process::Stream;

/// File descriptor on which the worker reports (output frames, outcomes).
pub(super) const REPORT_FD: i32 = 3;
/// File descriptor on which the worker reads its requests.
pub(super) const REQUEST_FD: i32 = 4;

/// Asks the worker to run one job module.
#[derive(Debug, Serialize)]
pub(super) struct Request<'a> {
    pub t: &'static str,
    pub id: u64,
    /// The run's own secret: its `done` must carry it back.
    pub key: &'a str,
    pub module: &'a str,
    pub args: &'a [String],
    pub env: EnvChange,
}

/// Asks the worker to import a module ahead of its first run (at start, so that the first
/// fire does not wait for the import).
#[derive(Debug, Serialize)]
pub(super) struct Load<'a> {
    pub t: &'static str,
    pub module: &'a str,
}

/// How a run's environment differs from the one the worker was started with: the worker
/// builds the run's own `process.env` from its own and this, so a run never sees what another
/// run set.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub(super) struct EnvChange {
    pub set: BTreeMap<String, String>,
    pub unset: Vec<String>,
}

impl EnvChange {
    pub fn between(
        base: &BTreeMap<OsString, OsString>,
        run: &BTreeMap<OsString, OsString>,
    ) -> EnvChange {
        let text = |s: &OsString| s.to_string_lossy().into_owned();
        EnvChange {
            set: run
                .iter()
                .filter(|(key, value)| base.get(*key) != Some(*value))
                .map(|(key, value)| (text(key), text(value)))
                .collect(),
            unset: base
                .keys()
                .filter(|key| !run.contains_key(*key))
                .map(text)
                .collect(),
        }
    }
}

/// One line from the worker.
#[derive(Debug, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub(super) enum Message {
    /// Output of run `id` on stream `s`.
    Out { id: u64, s: StreamName, d: String },
    /// Run `id` ended; `rss` is the worker's resident memory then, in bytes. `key` is the
    /// request's: a `done` without it was not written by the worker script.
    Done {
        id: u64,
        key: String,
        ok: bool,
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        message: Option<String>,
        /// The status a run passed to `process.exit` (`kind` "exit").
        #[serde(default)]
        code: Option<i32>,
        #[serde(default)]
        rss: Option<u64>,
    },
    /// A run called `process.exit`: the worker takes no new run and exits once its other runs
    /// end.
    Drain,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum StreamName {
    Stdout,
    Stderr,
}

impl From<StreamName> for Stream {
    fn from(name: StreamName) -> Stream {
        match name {
            StreamName::Stdout => Stream::Stdout,
            StreamName::Stderr => Stream::Stderr,
        }
    }
}

/// The outcome a `done` message reports, named as the process runner names the same failures.
pub(super) fn outcome(
    ok: bool,
    kind: Option<String>,
    message: Option<String>,
    code: Option<i32>,
) -> Result<(), Failure> {
    if ok {
        return Ok(());
    }
    if let (Some("exit"), Some(code)) = (kind.as_deref(), code) {
        return Err(Failure::Exit(code));
    }
    let message = message.unwrap_or_else(|| "the job failed without a message".into());
    Err(match kind.as_deref() {
        Some("import") => Failure::Import(message),
        Some("no-run") => Failure::NoRunExport(message),
        _ => Failure::Threw(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_changes_only_what_differs_from_the_workers_environment() {
        let base: BTreeMap<OsString, OsString> =
            [("A", "1"), ("B", "2"), ("WEBSTIR_TENANT_ID", "x")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        let mut run = base.clone();
        run.insert("B".into(), "3".into());
        run.insert("WEBSTIR_ATTEMPT".into(), "2".into());
        run.remove(&OsString::from("WEBSTIR_TENANT_ID"));
        let change = EnvChange::between(&base, &run);
        assert_eq!(
            change.set.into_iter().collect::<Vec<_>>(),
            [
                ("B".to_owned(), "3".to_owned()),
                ("WEBSTIR_ATTEMPT".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(change.unset, ["WEBSTIR_TENANT_ID"]);
    }

    #[test]
    fn messages_read_as_the_worker_writes_them() {
        let out: Message =
            serde_json::from_str(r#"{"t":"out","id":3,"s":"stderr","d":"x\n"}"#).expect("out");
        assert!(matches!(
            out,
            Message::Out {
                id: 3,
                s: StreamName::Stderr,
                ..
            }
        ));
        let done: Message = serde_json::from_str(
            r#"{"t":"done","id":3,"key":"ab","ok":false,"kind":"threw","message":"boom","rss":1024}"#,
        )
        .expect("done");
        let Message::Done {
            ok,
            kind,
            message,
            code,
            rss,
            ..
        } = done
        else {
            panic!("not done")
        };
        assert_eq!(rss, Some(1024));
        assert_eq!(
            outcome(ok, kind, message, code),
            Err(Failure::Threw("boom".into()))
        );
        let exit: Message = serde_json::from_str(
            r#"{"t":"done","id":4,"key":"ab","ok":false,"kind":"exit","code":3}"#,
        )
        .expect("exit");
        let Message::Done {
            ok,
            kind,
            message,
            code,
            ..
        } = exit
        else {
            panic!("not done")
        };
        assert_eq!(outcome(ok, kind, message, code), Err(Failure::Exit(3)));
        let forged: Result<Message, _> = serde_json::from_str(r#"{"t":"done","id":3,"ok":true}"#);
        assert!(forged.is_err(), "a done without a key is not a message");
    }
}
