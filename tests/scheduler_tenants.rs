//! `"tenants": "dynamic"`: the tenant provider (build/backend/tenants.js) and a job's
//! `tenantsFilter`, run in real Node.js at each fire, and `tenantConcurrency`.

mod scheduler_support;

use scheduler_support::*;

/// A job that prints its tenant.
const PRINT_TENANT: &str =
    "export function run() { console.log(`tenant=${process.env.WEBSTIR_TENANT_ID}`); }\n";

fn stdout_of(out: &assert_cmd::assert::Assert) -> Vec<String> {
    lines(&out.get_output().stdout)
}

fn stderr_of(out: &assert_cmd::assert::Assert) -> Vec<String> {
    lines(&out.get_output().stderr)
}

#[test]
fn dynamic_tenants_come_from_the_provider_narrowed_by_the_job_filter() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic" }]"#);
    ws.file(".env", "EXTRA_TENANT=initech\n");
    // The provider runs with the job's environment (.env included) and may return objects.
    ws.file(
        "build/backend/tenants.js",
        r#"export async function tenants() {
  console.log('listing tenants');
  return [
    { id: 'acme', plan: 'pro' },
    { id: 'globex', plan: 'free' },
    { id: process.env.EXTRA_TENANT, plan: 'pro' },
    7,
  ];
}
"#,
    );
    ws.job(
        "nightly",
        &format!(
            "export function tenantsFilter(tenants) {{\n  return tenants.filter((t) => typeof t === 'number' || t.plan === 'pro');\n}}\n{PRINT_TENANT}"
        ),
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().success();
    let stdout = stdout_of(&out);
    assert_eq!(stdout[0], "[nightly] listing tenants");
    assert_eq!(
        stdout[1],
        "[jobs] nightly: running for 3 tenant(s): acme, initech, 7"
    );
    // tenantConcurrency defaults to 1: one tenant after the other, in the provider's order.
    assert_eq!(
        stdout[2],
        "[jobs] running nightly for tenant acme (schedule: manual)"
    );
    assert_eq!(stdout[3], "[nightly@acme] tenant=acme");
    assert_completed(&stdout[4], "nightly for tenant acme");
    assert_eq!(stdout[6], "[nightly@initech] tenant=initech");
    assert_eq!(stdout[9], "[nightly@7] tenant=7");
    assert_completed(&stdout[10], "nightly for tenant 7");
    assert_eq!(stdout.len(), 11, "{stdout:#?}");
    assert!(!stdout.iter().any(|l| l.contains("globex")), "{stdout:#?}");
}

#[test]
fn the_list_is_read_at_each_fire() {
    let ws = Ws::new(r#"[{ "name": "tick", "schedule": "rate(1 second)", "tenants": "dynamic" }]"#);
    // Each listing returns one more tenant than the last (the count lives in a file).
    ws.file(
        "build/backend/tenants.js",
        r#"import { existsSync, readFileSync, writeFileSync } from 'node:fs';
export function tenants() {
  const n = existsSync('count') ? Number(readFileSync('count', 'utf8')) + 1 : 1;
  writeFileSync('count', String(n));
  return Array.from({ length: n }, (_, i) => `t${i + 1}`);
}
"#,
    );
    ws.job("tick", PRINT_TENANT);
    let mut running = ws.spawn_scheduler(&["--watch"]);
    running.wait_for("the first listing", |l| {
        l == "[jobs] tick: running for 1 tenant(s): t1"
    });
    running.wait_for("the second listing", |l| {
        l == "[jobs] tick: running for 2 tenant(s): t1, t2"
    });
    running.signal(libc::SIGTERM);
    assert_eq!(running.finish().code, Some(0));
}

#[test]
fn a_throwing_provider_fails_the_fire_and_no_tenant_runs() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic" }]"#);
    ws.file(
        "build/backend/tenants.js",
        "export async function tenants() { throw new Error('database down'); }\n",
    );
    ws.job(
        "nightly",
        "import { writeFileSync } from 'node:fs';\nexport function run() { writeFileSync('ran', 'yes'); }\n",
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(
            &"[jobs] nightly failed: the tenant provider failed: tenants() threw Error: database down; no tenant ran"
                .to_owned()
        ),
        "{stderr:#?}"
    );
    // The stack trace is the job's output, attributed to it.
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("[nightly] Error: database down")),
        "{stderr:#?}"
    );
    assert_eq!(
        stderr.last().map(String::as_str),
        Some(
            "[jobs] nightly failed: the tenant provider failed: tenants() threw Error: database down; no tenant ran"
        ),
        "the failure is the last word"
    );
    assert!(stdout_of(&out).is_empty(), "no run started");
    assert!(!ws.path("ran").exists(), "no tenant ran");
}

#[test]
fn a_missing_provider_says_which_file_to_create() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic" }]"#);
    ws.job("nightly", PRINT_TENANT);
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    assert_eq!(
        stderr_of(&out)[0],
        "[jobs] nightly failed: the tenant provider build/backend/tenants.js does not exist; \
         create src/backend/tenants.ts exporting `async function tenants()` and run `webstir build`; \
         no tenant ran"
    );
}

#[test]
fn duplicate_or_malformed_ids_fail_the_fire() {
    let cases = [
        (
            "export const tenants = () => ['acme', { id: 'acme' }];\n",
            "the tenant list is not valid: tenant `acme` is listed twice",
        ),
        (
            "export const tenants = () => [' acme'];\n",
            "the tenant list is not valid: tenant id ` acme` has white space around it",
        ),
        (
            "export const tenants = () => [{ name: 'acme' }];\n",
            "the tenant provider failed: tenants() returned an entry that is neither an id nor an object with an `id` (entry 0: {\"name\":\"acme\"})",
        ),
        (
            "export const tenants = () => 'acme';\n",
            "the tenant provider failed: tenants() must return an array of tenant ids or objects with an `id`, not string",
        ),
        (
            "export const list = () => [];\n",
            "exports no `tenants` function (exports: list)",
        ),
    ];
    for (provider, expected) in cases {
        let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic" }]"#);
        ws.file("build/backend/tenants.js", provider);
        ws.job(
            "nightly",
            "import { writeFileSync } from 'node:fs';\nexport function run() { writeFileSync('ran', 'yes'); }\n",
        );
        let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
        let stderr = stderr_of(&out);
        assert!(
            stderr
                .iter()
                .any(|l| l.starts_with("[jobs] nightly failed: ") && l.contains(expected)),
            "{provider}: {stderr:#?}"
        );
        assert!(!ws.path("ran").exists(), "{provider}: no tenant ran");
    }
}

#[test]
fn a_filter_that_throws_fails_the_fire() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic" }]"#);
    ws.file(
        "build/backend/tenants.js",
        "export const tenants = () => ['a'];\n",
    );
    ws.job(
        "nightly",
        &format!("export function tenantsFilter() {{ throw new TypeError('bad filter'); }}\n{PRINT_TENANT}"),
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    assert!(
        stderr_of(&out).contains(
            &"[jobs] nightly failed: the tenant provider failed: tenantsFilter() threw TypeError: bad filter; no tenant ran"
                .to_owned()
        ),
        "{:#?}",
        stderr_of(&out)
    );
}

#[test]
fn one_failing_tenant_does_not_stop_the_others() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic", "tenantConcurrency": 2 }]"#);
    ws.file(
        "build/backend/tenants.js",
        "export const tenants = () => ['a', 'bad', 'c'];\n",
    );
    ws.job(
        "nightly",
        "export function run() { if (process.env.WEBSTIR_TENANT_ID === 'bad') throw new Error('broke'); }\n",
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().code(1);
    let stdout = stdout_of(&out);
    for tenant in ["a", "c"] {
        assert!(
            stdout.iter().any(
                |l| l.starts_with(&format!("[jobs] nightly for tenant {tenant} completed in "))
            ),
            "{stdout:#?}"
        );
    }
    assert_eq!(
        stderr_of(&out).last().map(String::as_str),
        Some("[jobs] 1 of 3 job run(s) failed: nightly for tenant bad")
    );
}

/// A run that records when it starts and ends, and stays a moment so that runs allowed to
/// overlap do.
const RECORD_SPAN: &str = r#"import { appendFileSync } from 'node:fs';
export async function run() {
  const id = process.env.WEBSTIR_TENANT_ID;
  appendFileSync('spans', `start ${id}\n`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  appendFileSync('spans', `end ${id}\n`);
}
"#;

#[test]
fn tenant_concurrency_one_runs_tenants_one_after_the_other() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic", "tenantConcurrency": 1 }]"#);
    ws.file(
        "build/backend/tenants.js",
        "export const tenants = () => ['a', 'b', 'c'];\n",
    );
    ws.job("nightly", RECORD_SPAN);
    ws.scheduler(&["--job", "nightly"]).assert().success();
    assert_eq!(
        ws.read("spans"),
        "start a\nend a\nstart b\nend b\nstart c\nend c\n"
    );
}

#[test]
fn tenant_concurrency_above_one_runs_tenants_in_parallel() {
    let ws = Ws::new(r#"[{ "name": "nightly", "tenants": "dynamic", "tenantConcurrency": 3 }]"#);
    ws.file(
        "build/backend/tenants.js",
        "export const tenants = () => ['a', 'b', 'c', 'd'];\n",
    );
    // A barrier: a, b and c each wait until all three have started, which only happens when
    // three runs are alive at once; d starts only when one of them has ended.
    ws.job(
        "nightly",
        r#"import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
export async function run() {
  const id = process.env.WEBSTIR_TENANT_ID;
  writeFileSync(`started-${id}`, '');
  if (id === 'd') {
    appendFileSync('order', `d saw ${['a', 'b', 'c'].filter((t) => existsSync(`ended-${t}`)).length} ended\n`);
    return;
  }
  const deadline = Date.now() + 20000;
  while (!['a', 'b', 'c'].every((t) => existsSync(`started-${t}`))) {
    if (Date.now() > deadline) throw new Error(`${id} waited alone`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  writeFileSync(`ended-${id}`, '');
}
"#,
    );
    let out = ws.scheduler(&["--job", "nightly"]).assert().success();
    let stdout = stdout_of(&out);
    assert_eq!(
        stdout
            .iter()
            .filter(|l| l.contains(" completed in "))
            .count(),
        4,
        "{stdout:#?}"
    );
    assert_ne!(
        ws.read("order"),
        "d saw 0 ended\n",
        "d waited for a free slot"
    );
}
