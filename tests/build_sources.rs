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

/// With `lib/` imported by `feat.ts` and a link `alib -> lib`, the build used to walk `lib`
/// once, under whichever name came first, drop `build/backend/lib/*` as stale, and Node then
/// failed with `ERR_MODULE_NOT_FOUND`.
#[test]
fn a_link_to_a_source_folder_keeps_the_real_folders_output() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/lib/index.ts",
        "export const answer: number = 42;\n",
    );
    ws.write(
        "src/backend/feat.ts",
        "import { answer } from './lib';\nconsole.log(`feat ${answer}`);\n",
    );
    ws.build();
    // Two links, so that one sorts before `lib` whatever order the folder lists them in.
    symlink("lib", ws.path("src/backend/alib")).expect("symlink");
    symlink("lib", ws.path("src/backend/zlib")).expect("symlink");
    ws.write(
        "src/backend/other.ts",
        "import { answer } from './alib';\nconsole.log(`other ${answer}`);\n",
    );
    for _ in 0..2 {
        ws.build();
        assert!(ws.path("build/backend/lib/index.js").is_file());
        assert!(ws.path("build/backend/alib/index.js").is_file());
        assert!(ws.path("build/backend/zlib/index.js").is_file());
        for (module, expected) in [("feat", "feat 42\n"), ("other", "other 42\n")] {
            let run = ws.node(&[&format!("build/backend/{module}.js")]);
            assert!(run.status.success(), "{}", stderr(&run));
            assert_eq!(stdout(&run), expected);
        }
    }
    // Removing the link removes only what was built under its name.
    fs::remove_file(ws.path("src/backend/alib")).expect("unlink");
    fs::remove_file(ws.path("src/backend/zlib")).expect("unlink");
    fs::remove_file(ws.path("src/backend/other.ts")).expect("remove");
    ws.build();
    assert!(!ws.path("build/backend/alib").exists());
    assert!(!ws.path("build/backend/zlib").exists());
    assert_eq!(stdout(&ws.node(&["build/backend/feat.js"])), "feat 42\n");
}

/// A dangling link aborted the build with a bare `No such file or directory (os error 2)`.
#[test]
fn a_dangling_link_is_an_error_that_names_it_and_its_target() {
    let ws = Ws::with_jobs();
    ws.build();
    symlink("gone.ts", ws.path("src/backend/db/helper.ts")).expect("symlink");
    let before = ws.snapshot("build");
    let out = ws.webstir(&["build"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("src/backend/db/helper.ts` is a symbolic link to `gone.ts`, which does not exist; remove the link or restore its target"),
        "{err}"
    );
    assert_eq!(ws.snapshot("build"), before, "nothing is written");
}

#[test]
fn a_link_to_a_folder_that_contains_it_is_an_error() {
    for target in ["..", "../../.."] {
        let ws = Ws::with_jobs();
        let link = ws.path("src/backend/db/up");
        symlink(target, &link).expect("symlink");
        ws.webstir(&["build"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "`{}` is a symbolic link to `",
                link.display()
            )))
            .stderr(predicate::str::contains(
                "a folder that contains it, so the build would walk it forever; remove the link",
            ));
    }
}
