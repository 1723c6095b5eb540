//! `webstir build` on source trees that hostile testing found (issue 10): sources whose output
//! the build generates itself, and symbolic links inside `src/backend`.

mod build_support;

use std::fs;
use std::os::unix::fs::symlink;

use build_support::*;
use predicates::prelude::*;

/// `src/backend/jobs/scheduler.ts` and `jobs/webstir-runner.mjs` were silently replaced by the
/// generated files; a job folder `jobs/scheduler/` made every build fail with `Is a directory`.
#[test]
fn sources_that_would_replace_generated_files_are_errors() {
    let ws = Ws::with_jobs();
    ws.write("src/backend/jobs/scheduler.ts", "export const mine = 1;\n");
    ws.write(
        "src/backend/jobs/webstir-runner.mjs",
        "export const mine = 2;\n",
    );
    ws.write(
        "src/backend/jobs/Scheduler/index.ts",
        "export const mine = 3;\n",
    );
    let out = ws.webstir(&["build"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for (source, output, what) in [
        (
            "jobs/scheduler.ts",
            "jobs/scheduler.js",
            "the scheduler shim for Node",
        ),
        (
            "jobs/webstir-runner.mjs",
            "jobs/webstir-runner.mjs",
            "the job runner script",
        ),
        (
            "jobs/Scheduler/index.ts",
            "jobs/Scheduler/index.js",
            "the scheduler binary",
        ),
    ] {
        assert!(
            err.contains(&format!(
                "src/backend/{source}:1:1: error: this file would be built to `build/backend/{output}`, a name the build reserves: "
            )),
            "{source}: {err}"
        );
        assert!(err.contains(what), "{what}: {err}");
    }
    assert!(err.contains("build failed: 3 errors in 3 files"), "{err}");
    // The generated files are the build's own, and the other jobs are built and run.
    assert_ne!(
        ws.read("build/backend/jobs/scheduler.js"),
        "export const mine = 1;\n"
    );
    assert!(!ws.path("build/backend/jobs/Scheduler").exists());
    let list = ws.node(&["build/backend/jobs/scheduler.js", "--list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let run = ws.node(&["build/backend/jobs/scheduler.js", "--job", "nightly"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("[nightly] cleaned 2 sessions"),
        "{}",
        stdout(&run)
    );
}
