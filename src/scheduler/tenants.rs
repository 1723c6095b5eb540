//! `"tenants": "dynamic"`: the tenant list of one fire, from the workspace's tenant provider
//! (`build/backend/tenants.js`) narrowed by the job's `tenantsFilter`, both run in a Node.js
//! child process the way jobs run (the configured `node`, the job's environment, its own
//! process group, a time limit, its output attributed to the job).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::engine::Engine;
use super::log::RunLabel;
use super::plan::PlannedJob;
use crate::manifest::policy;
use crate::runner::{self, Failure, RunSpec, RunVars, Stream};

/// Starts the line on which the listing script prints the ids (one JSON array).
const MARKER: &str = "@@webstir-tenants@@ ";

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
    schedule: &str,
) -> Result<Vec<String>, ProviderError> {
    let provider = provider_module(&engine.root)?;
    let module = runner::find_module(&engine.root, &engine.jobs_dir, &job.spec.name)
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
        }),
        cwd: engine.root.clone(),
        timeout: Some(job.timeout.unwrap_or(DEFAULT_LIST_TIMEOUT)),
        grace: engine.grace,
    };
    let listed: Arc<Mutex<Option<String>>> = Arc::default();
    let log = engine.log;
    let label = RunLabel {
        job: job.spec.name.clone(),
        tenant: None,
    };
    let found = Arc::clone(&listed);
    let sink: runner::LineSink = Arc::new(move |stream, line| {
        if stream == Stream::Stdout
            && let Some(list) = line.strip_prefix(MARKER)
        {
            if let Ok(mut slot) = found.lock() {
                *slot = Some(list.to_owned());
            }
            return;
        }
        log.output(&label, stream, line);
    });
    let result = runner::run(spec, sink, engine.stop_receiver()).await;
    result.outcome.map_err(ProviderError::Failed)?;
    let text = listed
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .ok_or(ProviderError::NoList)?;
    parse_list(&text)
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

/// The listing script's JSON array, each id checked, none twice.
fn parse_list(text: &str) -> Result<Vec<String>, ProviderError> {
    let ids: Vec<String> = serde_json::from_str(text)
        .map_err(|e| ProviderError::Invalid(format!("not a JSON array of ids ({e})")))?;
    policy::check_tenant_list(&ids).map_err(ProviderError::Invalid)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_ids_is_read_in_order() {
        assert_eq!(
            parse_list(r#"["acme","globex","42"]"#),
            Ok(vec!["acme".into(), "globex".into(), "42".into()])
        );
        assert_eq!(parse_list("[]"), Ok(vec![]));
    }

    #[test]
    fn a_duplicate_or_a_bad_id_fails_the_listing() {
        assert_eq!(
            parse_list(r#"["acme","acme"]"#),
            Err(ProviderError::Invalid(
                "tenant `acme` is listed twice".into()
            ))
        );
        let Err(ProviderError::Invalid(message)) = parse_list(r#"[" acme"]"#) else {
            panic!("a padded id must be refused");
        };
        assert!(message.contains("white space"), "{message}");
        assert!(matches!(parse_list("{}"), Err(ProviderError::Invalid(_))));
    }
}
