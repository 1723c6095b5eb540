//! The scaffolded `index.ts` is real, runnable code: once its types are stripped (as
//! `webstir build` does, with oxc) Node 20 runs it directly, and importing it does not.

mod manifest_support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use manifest_support::*;

#[path = "manifest_support/typescript.rs"]
mod typescript;

/// Adds `name`, lets `edit` change its source as a user would, and builds it to
/// `build/backend/jobs/<name>/index.js`.
fn build_job(fx: &Fixture, name: &str, edit: impl Fn(String) -> String) {
    fx.cmd().args(["add-job", name]).assert().success();
    let source_path = fx.root.join(format!("src/backend/jobs/{name}/index.ts"));
    let source = edit(fs::read_to_string(&source_path).expect("scaffold"));
    fs::write(&source_path, source).expect("edit the source");
    typescript::build_file(&fx.root, &format!("backend/jobs/{name}/index"));
}

fn node(dir: &Path, args: &[&str]) -> Output {
    Command::new("node")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("node (>= 20) is on PATH")
}

#[test]
fn the_built_job_runs_itself_when_executed_directly() {
    let fx = Fixture::init();
    build_job(&fx, "cleanup", |s| s);
    let out = node(&fx.root, &["build/backend/jobs/cleanup/index.js"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let line = stdout.strip_suffix('\n').expect("one line");
    let at = line
        .strip_prefix("[job:cleanup] ran at ")
        .unwrap_or_else(|| panic!("unexpected output {line:?}"));
    chrono::DateTime::parse_from_rfc3339(at).expect("an ISO time");
}

#[test]
fn the_built_job_runs_itself_through_a_symlinked_folder() {
    // Deploy folders are often links (`/srv/app/current`), and so is `/tmp` on macOS; Node
    // resolves the link in the module's URL but not in `process.argv[1]`.
    let fx = Fixture::init();
    build_job(&fx, "cleanup", |s| s);
    let link = fx.temp.path().join("current");
    std::os::unix::fs::symlink(&fx.root, &link).expect("symlink");
    let script = link.join("build/backend/jobs/cleanup/index.js");
    let out = node(fx.temp.path(), &[script.to_str().expect("utf-8 path"), "x"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("[job:cleanup] ran at ") && stdout.ends_with(" x\n"),
        "{stdout:?}"
    );
}

#[test]
fn importing_the_built_job_does_not_run_it() {
    let fx = Fixture::init();
    build_job(&fx, "cleanup", |s| s);
    let script = "import { run } from './build/backend/jobs/cleanup/index.js';\n\
                  console.log('imported', typeof run);\n";
    fs::write(fx.root.join("probe.mjs"), script).expect("write");
    let out = node(&fx.root, &["probe.mjs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "imported function\n");
}

#[test]
fn a_failing_run_exits_1_with_the_error() {
    let fx = Fixture::init();
    build_job(&fx, "broken", |s| {
        s.replace(
            "const at = new Date().toISOString();",
            "throw new Error('database unreachable');",
        )
    });
    let out = node(&fx.root, &["build/backend/jobs/broken/index.js"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[job:broken] failed:"), "{stderr}");
    assert!(stderr.contains("database unreachable"), "{stderr}");
}
