//! The generated scheduler after `webstir build`: the commands of Webstir's guide
//! (`node build/backend/jobs/scheduler.js --list`, `--job <name>`) run the real scheduler.
//! These need the scheduler work (issue 5) merged; on the build branch alone they fail.

mod build_support;

use std::fs;

use build_support::{Ws, stderr, stdout, without_time};

#[test]
fn list_through_the_shim_prints_what_the_scheduler_prints() {
    let ws = Ws::with_jobs();
    ws.build();
    let shim = ws.node(&["build/backend/jobs/scheduler.js", "--list"]);
    assert!(shim.status.success(), "{}", stderr(&shim));
    let text = stdout(&shim);
    assert!(
        text.lines()
            .any(|l| l.starts_with("- nightly (0 0 * * *) — Nightly maintenance window")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("- typed (manual)")),
        "{text}"
    );

    let native = std::process::Command::new(ws.path("build/backend/jobs/scheduler"))
        .current_dir(ws.root())
        .arg("--list")
        .output()
        .expect("run the native scheduler");
    assert_eq!(stdout(&native), text);
    assert_eq!(native.status.code(), shim.status.code());

    let cli = ws
        .webstir(&["scheduler", "--list"])
        .output()
        .expect("webstir");
    assert_eq!(stdout(&cli), text);
}

#[test]
fn job_through_the_shim_runs_the_built_job() {
    let ws = Ws::with_jobs();
    ws.build();
    let out = ws.node(&["build/backend/jobs/scheduler.js", "--job", "nightly"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("[jobs] running nightly (schedule: 0 0 * * *)"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[nightly] cleaned 2 sessions")),
        "{text}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("[jobs] nightly completed in ")),
        "{text}"
    );
}

#[test]
fn a_built_workspace_runs_jobs_without_its_source_tree() {
    let ws = Ws::with_jobs();
    ws.build();
    fs::remove_dir_all(ws.path("src")).expect("remove sources");
    let out = ws.node(&["build/backend/jobs/scheduler.js", "--job", "typed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("[typed] typed: 2 items, sum 5ms"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unknown_job_fails_through_the_shim_with_the_schedulers_status() {
    let ws = Ws::with_jobs();
    ws.build();
    let out = ws.node(&["build/backend/jobs/scheduler.js", "--job", "nigthly"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("[jobs] job 'nigthly' not found"),
        "{}",
        stderr(&out)
    );
}

/// Issue 6's check from start to end, as a user would go: init, two jobs by `add-job` (one
/// importing a helper from `src/backend/`, one type-heavy), build, run with real Node every way
/// Webstir's guide shows, break a file, and rebuild without a change.
#[test]
fn init_add_job_build_then_run_every_way_the_guide_shows() {
    let ws = Ws::init_api();
    let webstir = |args: &[&str]| {
        let out = ws.webstir(args).output().expect("run webstir");
        assert!(out.status.success(), "webstir {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    webstir(&[
        "add-job",
        "nightly",
        "--schedule",
        "0 0 * * *",
        "--description",
        "Nightly maintenance window",
    ]);
    webstir(&["add-job", "typed"]);
    ws.write("src/backend/db/connection.ts", build_support::CONNECTION);
    ws.write("src/backend/jobs/nightly/index.ts", build_support::NIGHTLY);
    ws.write("src/backend/jobs/typed/types.ts", build_support::TYPES);
    ws.write("src/backend/jobs/typed/index.ts", build_support::TYPED);
    // The two jobs, their two helpers, and init's `index.ts`, `env.ts` and `tenants.ts`.
    assert_eq!(
        without_time(&webstir(&["build", "--runtime", "backend"])),
        "built 7 files (0 unchanged) in Nms\n"
    );

    let direct = ws.node(&["build/backend/jobs/nightly/index.js"]);
    assert_eq!(
        stdout(&direct),
        "[nightly] cleaned 2 sessions\n",
        "{}",
        stderr(&direct)
    );
    let direct = ws.node(&["build/backend/jobs/typed/index.js"]);
    assert_eq!(
        stdout(&direct),
        "[typed] typed: 2 items, sum 5ms\n",
        "{}",
        stderr(&direct)
    );

    // The shim prints exactly what the native scheduler prints, timings aside.
    let native = |args: &[&str]| {
        std::process::Command::new(ws.path("build/backend/jobs/scheduler"))
            .current_dir(ws.root())
            .args(args)
            .output()
            .expect("run the native scheduler")
    };
    let untimed = |text: String| -> Vec<String> { text.lines().map(without_time).collect() };
    for args in [&["--list"][..], &["--job", "nightly"], &["--job", "typed"]] {
        let mut shim_args = vec!["build/backend/jobs/scheduler.js"];
        shim_args.extend_from_slice(args);
        let shim = ws.node(&shim_args);
        let native = native(args);
        assert!(shim.status.success(), "{args:?}: {}", stderr(&shim));
        assert_eq!(shim.status.code(), native.status.code(), "{args:?}");
        assert_eq!(untimed(stdout(&shim)), untimed(stdout(&native)), "{args:?}");
        assert_eq!(stderr(&shim), stderr(&native), "{args:?}");
    }
    let list = stdout(&ws.node(&["build/backend/jobs/scheduler.js", "--list"]));
    assert!(
        list.starts_with("- nightly (0 0 * * *) — Nightly maintenance window (next run: "),
        "{list}"
    );
    assert!(list.contains("\n- typed (manual)\n"), "{list}");
    assert_eq!(
        untimed(stdout(&ws.node(&[
            "build/backend/jobs/scheduler.js",
            "--job",
            "typed"
        ]))),
        [
            "[jobs] running typed (schedule: manual)",
            "[typed] [typed] typed: 2 items, sum 5ms",
            "[jobs] typed completed in Nms",
        ]
    );

    // A rebuild with no change rewrites no file.
    ws.age("build");
    let before = ws.snapshot("build");
    assert_eq!(
        without_time(&webstir(&["build"])),
        "built 7 files (7 unchanged) in Nms\n"
    );
    assert_eq!(ws.snapshot("build"), before);

    // A syntax error names the file, line and column, and the good output stays.
    ws.write(
        "src/backend/jobs/typed/types.ts",
        "export type Totals = { count: number;\n",
    );
    let out = ws.webstir(&["build"]).output().expect("run webstir");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("src/backend/jobs/typed/types.ts:2:1: error: "),
        "{}",
        stderr(&out)
    );
    let still = ws.node(&["build/backend/jobs/typed/index.js"]);
    assert_eq!(stdout(&still), "[typed] typed: 2 items, sum 5ms\n");
}

#[test]
fn the_scaffolded_tenant_provider_drives_a_dynamic_job_after_a_build() {
    let ws = Ws::init_api();
    let webstir = |args: &[&str]| {
        let out = ws.webstir(args).output().expect("run webstir");
        assert!(out.status.success(), "webstir {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    webstir(&["add-job", "per-tenant"]);
    // A hand edit: the job runs for the provider's tenants.
    let package = ws.read("package.json");
    let edited = package.replacen(
        "\"name\": \"per-tenant\"",
        "\"name\": \"per-tenant\", \"tenants\": \"dynamic\"",
        1,
    );
    assert_ne!(edited, package, "the job entry is in package.json");
    ws.write("package.json", &edited);
    ws.write(
        "src/backend/jobs/per-tenant/index.ts",
        "export async function run(): Promise<void> {\n  console.log(`for ${process.env.WEBSTIR_TENANT_ID}`);\n}\n",
    );
    webstir(&["build"]);
    assert!(ws.path("build/backend/tenants.js").is_file());
    assert!(ws.path("build/backend/jobs/webstir-tenants.mjs").is_file());
    let out = ws.node(&["build/backend/jobs/scheduler.js", "--job", "per-tenant"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(without_time).collect();
    assert_eq!(
        lines,
        [
            "[jobs] per-tenant: running for 1 tenant(s): demo",
            "[jobs] running per-tenant for tenant demo (schedule: manual)",
            "[per-tenant@demo] for demo",
            "[jobs] per-tenant for tenant demo completed in Nms",
        ]
    );
}
