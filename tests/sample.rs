//! The README's first command builds `sample/` and runs its jobs through the generated
//! scheduler; this test does the same on a copy, so the README stays true.

use std::fs;
use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create folder");
    for entry in fs::read_dir(from).expect("read sample") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_name() == "build" || entry.file_name() == "node_modules" {
            continue;
        }
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[test]
fn sample_workspace_builds_and_its_jobs_run_through_the_node_shim() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = dir.path().join("sample");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sample"), &ws);

    Command::cargo_bin("webstir")
        .expect("binary")
        .arg("--workspace")
        .arg(&ws)
        .arg("backend-inspect")
        .assert()
        .success();
    Command::cargo_bin("webstir")
        .expect("binary")
        .arg("--workspace")
        .arg(&ws)
        .arg("build")
        .assert()
        .success();

    let out = StdCommand::new("node")
        .arg(ws.join("build/backend/jobs/scheduler.js"))
        .arg("--all")
        .current_dir(&ws)
        .env_remove("WEBSTIR_WORKSPACE")
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "[jobs] running cleanup-sessions (schedule: */15 * * * *)"
    );
    assert_eq!(
        lines[1],
        "[cleanup-sessions] [job:cleanup-sessions] removed 1 expired session(s) in local"
    );
    assert!(
        lines[2].starts_with("[jobs] cleanup-sessions completed in "),
        "{stdout}"
    );
    assert_eq!(
        lines[3],
        "[jobs] running send_digest (schedule: 0 8 * * MON-FRI, @reboot)"
    );
    assert!(
        lines[4].starts_with("[send_digest] [job:send_digest] ran at "),
        "{stdout}"
    );
    assert!(
        lines[5].starts_with("[jobs] send_digest completed in "),
        "{stdout}"
    );
}
