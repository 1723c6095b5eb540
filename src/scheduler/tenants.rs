//! `"tenants": "dynamic"`: the tenant list of one fire, from the workspace's tenant provider
//! (`build/backend/tenants.js`) narrowed by the job's `tenantsFilter`, both run in a Node.js
//! child process the way jobs run (the configured `node`, the job's environment, its own
//! process group, a time limit, its output attributed to the job).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::engine::Engine;
use super::fire::Fire;
use super::log::RunLabel;
use super::plan::PlannedJob;
use crate::manifest::policy;
use crate::runner::{self, Failure, RunSpec, RunVars, StopRequest, Stream};

/// Starts each line on which the listing script prints an id (as a JSON string).
const MARKER: &str = "@@webstir-tenant@@ ";

/// Starts the line that ends the list, with the number of ids printed.
const END_MARKER: &str = "@@webstir-tenants-end@@ ";

/// Where the built provider lives, relative to the workspace root.
pub const PROVIDER_PATH: &str = "build/backend/tenants.js";

/// The time limit of a listing when the job has none: a provider that hangs (a database that
/// does not answer) must not hold the job's fire forever.
pub const DEFAULT_LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a fire could not get its tenant list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error(
        "the tenant provider {PROVIDER_PATH} does not exist; create src/backend/tenants.ts exporting `async function tenants()` and run `webstir build`"
    )]
    Missing,
    #[error(
        "refusing to run {PROVIDER_PATH}: it is a symbolic link that leads outside the workspace"
    )]
    OutsideWorkspace,
    #[error("{0}")]
    Module(String),
    #[error("the tenant provider failed: {0}")]
    Failed(Failure),
    #[error("the tenant provider ended without printing the tenant list")]
    NoList,
    #[error("the tenant list is not valid: {0}")]
    Invalid(String),
}

/// The tenant ids of this fire of `job`, checked by the rule every tenant id follows.
pub async fn list(
    engine: &Engine,
    job: &PlannedJob,
    fire: &Fire,
    stop: &watch::Receiver<StopRequest>,
) -> Result<Vec<String>, ProviderError> {
    let schedule = fire.schedule.as_str();
    let fire_time = fire.due_text();
    let provider = provider_module(&engine.root)?;
    let module = engine
        .modules
        .find(&job.spec.name)
        .map_err(|e| ProviderError::Module(engine.module_error_message(&job.spec.name, &e)))?;
    let spec = RunSpec {
        node: engine.node.clone(),
        runner: engine.tenants_script(),
        module: provider,
        args: vec![module.to_string_lossy().into_owned()],
        env: engine.env.for_run(RunVars {
            job: &job.spec.name,
            schedule,
            tenant: None,
            fire_time: &fire_time,
            attempt: 1,
        }),
        cwd: engine.root.clone(),
        timeout: Some(job.timeout.unwrap_or(DEFAULT_LIST_TIMEOUT)),
        grace: engine.grace,
    };
    let listed: Arc<Mutex<Listing>> = Arc::default();
    let log = engine.log;
    let label = RunLabel {
        job: job.spec.name.clone(),
        tenant: None,
    };
    let found = Arc::clone(&listed);
    let sink_label = label.clone();
    let sink: runner::LineSink = Arc::new(move |stream, line| {
        if stream == Stream::Stdout && (line.starts_with(MARKER) || line.starts_with(END_MARKER)) {
            if let Ok(mut listing) = found.lock() {
                listing.read(line);
            }
            return;
        }
        log.output(&sink_label, stream, line);
    });
    let result = runner::run(spec, sink, stop.clone()).await;
    for note in &result.notes {
        engine.log.output_note(&label, schedule, *note);
    }
    result.outcome.map_err(ProviderError::Failed)?;
    let listing = std::mem::take(&mut *listed.lock().map_err(|_| ProviderError::NoList)?);
    listing.finish()
}

/// The marked lines of the listing script, as they arrive.
#[derive(Debug, Default)]
struct Listing {
    ids: Vec<String>,
    /// The count on the end line, once it arrived.
    end: Option<String>,
    /// The first marked line that was not what the script writes.
    garbled: Option<String>,
}

impl Listing {
    fn read(&mut self, line: &str) {
        if let Some(count) = line.strip_prefix(END_MARKER) {
            self.end = Some(count.to_owned());
        } else if let Some(id) = line.strip_prefix(MARKER) {
            match serde_json::from_str::<String>(id) {
                Ok(id) => self.ids.push(id),
                Err(_) => {
                    self.garbled.get_or_insert_with(|| line.to_owned());
                }
            }
        }
    }

    /// The ids, when the whole list arrived, each checked, none twice.
    fn finish(self) -> Result<Vec<String>, ProviderError> {
        let Some(count) = self.end else {
            return Err(ProviderError::NoList);
        };
        if let Some(line) = self.garbled {
            return Err(ProviderError::Invalid(format!(
                "an id line is not a JSON string: `{}`",
                line.chars().take(120).collect::<String>().escape_debug()
            )));
        }
        if count.parse::<usize>().ok() != Some(self.ids.len()) {
            return Err(ProviderError::Invalid(format!(
                "{} id(s) arrived of the {count} listed",
                self.ids.len()
            )));
        }
        policy::check_tenant_list(&self.ids).map_err(ProviderError::Invalid)?;
        Ok(self.ids)
    }
}

/// The built provider, which must resolve to a file inside the workspace.
fn provider_module(root: &Path) -> Result<PathBuf, ProviderError> {
    let path = root.join(PROVIDER_PATH);
    if !path.is_file() {
        return Err(ProviderError::Missing);
    }
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(root)) if real.starts_with(&root) => Ok(path),
        _ => Err(ProviderError::OutsideWorkspace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(lines: &[&str]) -> Result<Vec<String>, ProviderError> {
        let mut listing = Listing::default();
        for line in lines {
            listing.read(line);
        }
        listing.finish()
    }

    #[test]
    fn a_list_of_ids_is_read_in_order() {
        assert_eq!(
            listing(&[
                "@@webstir-tenant@@ \"acme\"",
                "@@webstir-tenant@@ \"globex\"",
                "@@webstir-tenant@@ \"42\"",
                "@@webstir-tenants-end@@ 3",
            ]),
            Ok(vec!["acme".into(), "globex".into(), "42".into()])
        );
        assert_eq!(listing(&["@@webstir-tenants-end@@ 0"]), Ok(vec![]));
    }

    #[test]
    fn a_duplicate_or_a_bad_id_fails_the_listing() {
        let end = "@@webstir-tenants-end@@ 2";
        assert_eq!(
            listing(&[
                "@@webstir-tenant@@ \"acme\"",
                "@@webstir-tenant@@ \"acme\"",
                end
            ]),
            Err(ProviderError::Invalid(
                "tenant `acme` is listed twice".into()
            ))
        );
        let Err(ProviderError::Invalid(message)) =
            listing(&["@@webstir-tenant@@ \" acme\"", "@@webstir-tenants-end@@ 1"])
        else {
            panic!("a padded id must be refused");
        };
        assert!(message.contains("white space"), "{message}");
    }

    #[test]
    fn a_truncated_or_garbled_list_fails_the_listing() {
        assert_eq!(
            listing(&["@@webstir-tenant@@ \"acme\""]),
            Err(ProviderError::NoList)
        );
        assert_eq!(
            listing(&["@@webstir-tenant@@ \"acme\"", "@@webstir-tenants-end@@ 2"]),
            Err(ProviderError::Invalid(
                "1 id(s) arrived of the 2 listed".into()
            ))
        );
        assert!(matches!(
            listing(&["@@webstir-tenant@@ acme", "@@webstir-tenants-end@@ 1"]),
            Err(ProviderError::Invalid(m)) if m.starts_with("an id line is not a JSON string")
        ));
    }
}
