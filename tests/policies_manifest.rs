//! The policy keys as the manifest, add-job, webstir.toml and the scheduler read them: one
//! reader, so that whatever backend-inspect accepts the scheduler accepts, and the reverse.

mod manifest_support;

use std::fs;

use manifest_support::{Fixture, inspect_json, rejected, stdout_of};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A workspace whose manifest lists `jobs`, each with a source folder so that
/// backend-inspect has nothing but the entries themselves to complain about.
fn workspace(jobs: &Value) -> Fixture {
    let fx = Fixture::with_package_json(
        &serde_json::to_string_pretty(&json!({
            "name": "demo",
            "type": "module",
            "webstir": { "mode": "api", "moduleManifest": { "jobs": jobs } }
        }))
        .expect("json"),
    );
    for job in jobs.as_array().into_iter().flatten() {
        if let Some(name) = job["name"].as_str() {
            let dir = fx.root.join("src/backend/jobs").join(name);
            fs::create_dir_all(&dir).expect("mkdir");
            fs::write(dir.join("index.ts"), "export async function run() {}\n").expect("write");
        }
    }
    fx
}

fn scheduler_list(fx: &Fixture) -> (i32, String, String) {
    let output = fx
        .cmd()
        .args(["scheduler", "--json"])
        .output()
        .expect("spawn webstir");
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn error_diagnostics(report: &Value) -> Vec<Value> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .filter(|d| d["level"] == "error")
        .cloned()
        .collect()
}

#[test]
fn every_bad_policy_value_is_a_diagnostic_naming_job_and_key_and_the_scheduler_refuses_it() {
    for (key, value, named) in [
        ("retry", json!({"attempts": -1}), "retry.attempts"),
        (
            "retry",
            json!({"attempts": 3, "backoff": "linear"}),
            "retry.backoff",
        ),
        ("jitter", json!("soon"), "jitter"),
        ("overlap", json!("sometimes"), "overlap"),
        ("catchUp", json!("forever"), "catchUp"),
        ("timeout", json!("0s"), "timeout"),
        ("tenantConcurrency", json!(0), "tenantConcurrency"),
        ("tenants", json!([""]), "tenants"),
        ("tenants", json!(["a", "a"]), "tenants"),
    ] {
        let mut entry = json!({"name": "nightly", "schedule": "@daily"});
        entry[key] = value.clone();
        let fx = workspace(&json!([entry]));
        let before = fx.snapshot();

        let (report, code) = inspect_json(&fx);
        assert_eq!(code, 1, "{key}: {value}");
        let errors = error_diagnostics(&report);
        assert_eq!(errors.len(), 1, "{key}: {value}: {errors:?}");
        assert_eq!(errors[0]["job"], "nightly");
        let message = errors[0]["message"].as_str().expect("message");
        assert!(
            message.contains(&format!("`{named}`")),
            "{key}: {value}: {message}"
        );

        let (code, stdout, stderr) = scheduler_list(&fx);
        assert_eq!(code, 1, "{key}: {value}: {stdout}");
        assert!(stderr.contains(message), "{stderr}");
        assert_eq!(fx.snapshot(), before);
    }
}

#[test]
fn a_bad_policy_stops_the_watcher_before_anything_runs() {
    let fx = workspace(&json!([
        {"name": "good", "schedule": "@reboot"},
        {"name": "bad", "schedule": "@reboot", "overlap": "sometimes"}
    ]));
    let marker = fx.root.join("ran");
    fs::create_dir_all(fx.root.join("build/backend/jobs/good")).expect("mkdir");
    fs::write(
        fx.root.join("build/backend/jobs/good/index.js"),
        format!(
            "import {{ writeFileSync }} from 'node:fs';\nexport async function run() {{ writeFileSync({:?}, 'x'); }}\n",
            marker.display().to_string()
        ),
    )
    .expect("write");
    let stderr = rejected(fx.cmd().args(["scheduler", "--watch"]), 1);
    assert!(
        stderr.contains("job `bad`: `overlap` \"sometimes\""),
        "{stderr}"
    );
    assert!(!marker.exists(), "no job may run from an invalid manifest");
}

#[test]
fn add_job_writes_the_policy_flags_that_every_reader_then_accepts() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args([
        "add-job",
        "billing",
        "--schedule",
        "@hourly",
        "--timeout",
        "90",
        "--overlap",
        "queue",
        "--retry",
        "3",
        "--retry-delay",
        "30s",
        "--retry-backoff",
        "fixed",
        "--retry-max-delay",
        "10m",
        "--jitter",
        "5s",
        "--catch-up",
        "6h",
        "--tenants",
        "acme,globex",
        "--tenant-concurrency",
        "2",
    ]));
    // `fx.jobs()` also checks the written manifest against the JSON Schema.
    assert_eq!(
        fx.jobs(),
        [json!({
            "name": "billing",
            "schedule": "@hourly",
            "timeout": "90",
            "overlap": "queue",
            "retry": {"attempts": 3, "backoff": "fixed", "delay": "30s", "maxDelay": "10m"},
            "jitter": "5s",
            "catchUp": "6h",
            "tenants": ["acme", "globex"],
            "tenantConcurrency": 2
        })]
    );
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 0, "{report:#}");
    let listed: Value =
        serde_json::from_str(&stdout_of(fx.cmd().args(["scheduler", "--json"]))).expect("json");
    let job = &listed[0];
    assert_eq!(job["timeout"], "1m 30s");
    assert_eq!(job["overlap"], "queue");
    assert_eq!(
        job["retry"],
        json!({"attempts": 3, "backoff": "fixed", "delay": "30s", "maxDelay": "10m"})
    );
    assert_eq!(job["jitter"], "5s");
    assert_eq!(job["catchUp"], "6h");
    assert_eq!(job["tenants"], json!(["acme", "globex"]));
    assert_eq!(job["tenantConcurrency"], 2);

    let text = stdout_of(fx.cmd().args(["backend-inspect"]));
    assert!(
        text.contains("overlap: queue, retry: 3 attempts, fixed backoff from 30s up to 10m, jitter: 5s, catch-up: 6h, tenant concurrency: 2"),
        "{text}"
    );
}

#[test]
fn add_job_refuses_bad_policy_flags_and_changes_nothing() {
    let fx = Fixture::init();
    let before = fx.snapshot();
    for (args, expected) in [
        (&["--retry", "0"][..], "`retry.attempts` 0"),
        (&["--retry", "2", "--retry-delay", "soon"], "`retry.delay`"),
        (&["--retry-delay", "30s"], "need --retry"),
        (&["--jitter", "soon"], "`jitter` \"soon\""),
        (&["--catch-up", "forever"], "`catchUp` \"forever\""),
        (&["--timeout", "0s"], "`timeout` \"0s\""),
        (&["--tenants", "a,a"], "tenant `a` is listed twice"),
        (&["--tenant-concurrency", "0"], "`tenantConcurrency` 0"),
        (&["--overlap", "sometimes"], "invalid value 'sometimes'"),
    ] {
        let stderr = rejected(fx.cmd().args(["add-job", "nightly"]).args(args), 2);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(fx.snapshot(), before, "{args:?} changed a file");
    }
}

#[test]
fn add_job_writes_dynamic_tenants_as_the_word() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "fanout", "--tenants", "dynamic"]));
    assert_eq!(fx.jobs()[0]["tenants"], "dynamic");
}

#[test]
fn webstir_toml_policies_are_defaults_that_a_job_overrides() {
    let fx = workspace(&json!([
        {"name": "plain", "schedule": "@daily"},
        {"name": "own", "schedule": "@daily", "overlap": "allow", "retry": 2, "catchUp": "none"}
    ]));
    fs::write(
        fx.root.join("webstir.toml"),
        "overlap = \"replace\"\nretry = \"4\"\nretry-delay = \"1m\"\njitter = \"10s\"\ncatch-up = \"2h\"\n",
    )
    .expect("write");
    let listed: Value =
        serde_json::from_str(&stdout_of(fx.cmd().args(["scheduler", "--json"]))).expect("json");
    assert_eq!(listed[0]["overlap"], "replace");
    assert_eq!(
        listed[0]["retry"],
        json!({"attempts": 4, "backoff": "exponential", "delay": "1m"})
    );
    assert_eq!(listed[0]["jitter"], "10s");
    assert_eq!(listed[0]["catchUp"], "2h");
    assert_eq!(listed[1]["overlap"], "allow");
    assert_eq!(
        listed[1]["retry"],
        json!({"attempts": 2, "backoff": "exponential", "delay": "10s"})
    );
    assert_eq!(listed[1]["jitter"], "10s");
    assert_eq!(listed[1]["catchUp"], "none");

    let stderr = rejected(fx.cmd().args(["config", "set", "overlap", "sometimes"]), 2);
    assert!(
        stderr.contains("expected skip, allow, queue or replace"),
        "{stderr}"
    );
}

#[test]
fn bare_numbers_are_seconds_in_the_manifest_and_on_the_command_line() {
    let fx = workspace(&json!([{"name": "slow", "timeout": 90, "jitter": 1.5}]));
    let listed: Value =
        serde_json::from_str(&stdout_of(fx.cmd().args(["scheduler", "--json"]))).expect("json");
    assert_eq!(listed[0]["timeout"], "1m 30s");
    assert_eq!(listed[0]["jitter"], "1s 500ms");
    let listed: Value = serde_json::from_str(&stdout_of(fx.cmd().args([
        "scheduler",
        "--json",
        "--timeout",
        "45",
    ])))
    .expect("json");
    assert_eq!(listed[0]["timeout"], "45s");
}

#[test]
fn no_retry_makes_one_attempt_whatever_the_policy() {
    let fx = workspace(&json!([{"name": "flaky", "retry": 3}]));
    let listed: Value = serde_json::from_str(&stdout_of(fx.cmd().args([
        "scheduler",
        "--json",
        "--no-retry",
    ])))
    .expect("json");
    assert_eq!(listed[0]["retry"], Value::Null);
    let listed: Value =
        serde_json::from_str(&stdout_of(fx.cmd().args(["scheduler", "--json"]))).expect("json");
    assert_eq!(listed[0]["retry"]["attempts"], 3);
}

#[test]
fn tenants_follow_one_rule_on_the_command_line_and_in_the_manifest() {
    let fx = workspace(&json!([{"name": "fanout"}]));
    let stderr = rejected(
        fx.cmd()
            .args(["scheduler", "--job", "fanout", "--tenants", "a,a"]),
        2,
    );
    assert!(stderr.contains("tenant `a` is listed twice"), "{stderr}");
    let stderr = rejected(
        fx.cmd()
            .args(["scheduler", "--job", "fanout", "--tenants", ""]),
        2,
    );
    assert!(stderr.contains("a tenant id must not be empty"), "{stderr}");
}

#[test]
fn a_job_name_with_a_path_separator_is_not_a_job_name() {
    let fx = workspace(&json!([{"name": "hello"}]));
    let stderr = rejected(fx.cmd().args(["scheduler", "--job", "../hello"]), 2);
    assert!(
        stderr.contains("`../hello` is not a job name: it contains a path separator"),
        "{stderr}"
    );
}

/// Pools of values for each key, valid and not, so that generated entries mix both.
fn value_for(key: &str) -> BoxedStrategy<Value> {
    let pool: Vec<Value> = match key {
        "schedule" => vec![
            json!("@daily"),
            json!("*/5 * * * *"),
            json!("rate(5 minutes)"),
            json!("0 0 30 2 *"),
            json!("61 * * * *"),
            json!(["@reboot", "@hourly"]),
            json!([]),
            json!(""),
        ],
        "timeout" | "jitter" => vec![
            json!("30s"),
            json!("0s"),
            json!(90),
            json!(0),
            json!(-1),
            json!("1h 30m"),
            json!("soon"),
            json!(true),
        ],
        "timezone" => vec![
            json!("Europe/London"),
            json!("Mars/Olympus"),
            json!("UTC"),
            json!(5),
        ],
        "overlap" => vec![
            json!("skip"),
            json!("queue"),
            json!("sometimes"),
            json!(null),
        ],
        "retry" => vec![
            json!(3),
            json!(0),
            json!({"attempts": 2}),
            json!({"attempts": -1}),
            json!({"attempts": 2, "backoff": "linear"}),
            json!({"attempts": 2, "delay": "1m", "maxDelay": "30s"}),
            json!({"backoff": "fixed"}),
            json!("3"),
        ],
        "catchUp" => vec![json!("none"), json!("6h"), json!("forever"), json!(3600)],
        "tenants" => vec![
            json!(["a", "b"]),
            json!([""]),
            json!(["a", "a"]),
            json!("dynamic"),
            json!("all"),
            json!([]),
        ],
        "tenantConcurrency" => vec![json!(1), json!(4), json!(0), json!(1000), json!("2")],
        "priority" => vec![json!(5), json!("high"), json!(""), json!(1.5)],
        _ => vec![json!("x")],
    };
    proptest::sample::select(pool).boxed()
}

const KEYS: [&str; 10] = [
    "schedule",
    "timeout",
    "jitter",
    "timezone",
    "overlap",
    "retry",
    "catchUp",
    "tenants",
    "tenantConcurrency",
    "priority",
];

fn entry() -> impl Strategy<Value = Value> {
    proptest::sample::subsequence(KEYS.to_vec(), 0..=4).prop_flat_map(|keys| {
        let values: Vec<BoxedStrategy<Value>> = keys.iter().map(|k| value_for(k)).collect();
        (Just(keys), values).prop_map(|(keys, values)| {
            let mut entry = json!({"name": "job"});
            for (key, value) in keys.into_iter().zip(values) {
                entry[key] = value;
            }
            entry
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Regression for issue 10 item 7: `"timeout": "0s"` passed backend-inspect and the
    /// scheduler then refused the manifest.
    #[test]
    fn backend_inspect_and_the_scheduler_accept_the_same_entries(entry in entry()) {
        let fx = workspace(&json!([entry]));
        let (report, inspect_code) = inspect_json(&fx);
        let (list_code, _, stderr) = scheduler_list(&fx);
        let inspect_accepts = error_diagnostics(&report).is_empty();
        prop_assert_eq!(inspect_accepts, inspect_code == 0);
        prop_assert_eq!(
            inspect_accepts,
            list_code == 0,
            "entry {} — inspect: {:?}, scheduler: {}",
            entry,
            report["diagnostics"],
            stderr
        );
    }
}
