//! The generated scheduler after `webstir build`: the commands of Webstir's guide
//! (`node build/backend/jobs/scheduler.js --list`, `--job <name>`) run the real scheduler.
//! These need the scheduler work (issue 5) merged; on the build branch alone they fail.

mod build_support;

use std::fs;

use build_support::{Ws, stderr, stdout};

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

#[test]
fn init_add_job_build_then_run_every_way_the_guide_shows() {
    let parent = tempfile::Builder::new()
        .prefix("build-e2e-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let webstir = |dir: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("webstir"))
            .current_dir(dir)
            .env_remove("WEBSTIR_WORKSPACE")
            .args(args)
            .output()
            .expect("run webstir");
        assert!(out.status.success(), "webstir {args:?}: {}", stderr(&out));
    };
    webstir(parent.path(), &["init", "api", "app"]);
    let root = parent.path().join("app");
    webstir(
        &root,
        &[
            "add-job",
            "nightly",
            "--schedule",
            "0 0 * * *",
            "--description",
            "Nightly maintenance window",
        ],
    );
    webstir(&root, &["add-job", "typed"]);
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        fs::write(path, text).expect("write");
    };
    write("src/backend/db/connection.ts", build_support::CONNECTION);
    write("src/backend/jobs/nightly/index.ts", build_support::NIGHTLY);
    write("src/backend/jobs/typed/types.ts", build_support::TYPES);
    write("src/backend/jobs/typed/index.ts", build_support::TYPED);
    webstir(&root, &["build", "--runtime", "backend"]);

    let node = |args: &[&str]| {
        std::process::Command::new("node")
            .current_dir(&root)
            .args(args)
            .output()
            .expect("run node")
    };
    let direct = node(&["build/backend/jobs/nightly/index.js"]);
    assert_eq!(
        stdout(&direct),
        "[nightly] cleaned 2 sessions\n",
        "{}",
        stderr(&direct)
    );
    let direct = node(&["build/backend/jobs/typed/index.js"]);
    assert_eq!(
        stdout(&direct),
        "[typed] typed: 2 items, sum 5ms\n",
        "{}",
        stderr(&direct)
    );

    let list = node(&["build/backend/jobs/scheduler.js", "--list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(stdout(&list).contains("- nightly (0 0 * * *) — Nightly maintenance window"));
    let once = node(&["build/backend/jobs/scheduler.js", "--job", "typed"]);
    assert!(once.status.success(), "{}", stderr(&once));
    assert!(stdout(&once).contains("[typed] typed: 2 items, sum 5ms"));
}
