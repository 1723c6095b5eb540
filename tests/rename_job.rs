//! `webstir rename-job`: the entry's name and the job's folders move together, or nothing
//! changes; and `--dry-run` on add-job, remove-job and rename-job changes nothing.

mod manifest_support;

use std::fs;
use std::path::Path;
use std::process::Command as StdCommand;

use manifest_support::*;

fn workspace_with_built_job(name: &str) -> Fixture {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", name, "--schedule", "@daily"]));
    stdout_of(fx.cmd().args(["add-job", "other"]));
    let built = fx.root.join("build/backend/jobs").join(name);
    fs::create_dir_all(&built).expect("mkdir");
    fs::write(built.join("index.js"), "export async function run() {}\n").expect("write");
    fx
}

#[test]
fn renames_the_entry_and_moves_source_and_build_folders() {
    let fx = workspace_with_built_job("nightly");
    let before = fx.package_json();
    let out = stdout_of(fx.cmd().args(["rename-job", "Nightly", "Nightly Cleanup"]));
    assert_eq!(
        out,
        "Normalized job name `Nightly Cleanup` to `nightly_cleanup`.\n\
         Renamed job `nightly` to `nightly_cleanup` in package.json\n\
         Moved src/backend/jobs/nightly to src/backend/jobs/nightly_cleanup\n\
         Moved build/backend/jobs/nightly to build/backend/jobs/nightly_cleanup\n"
    );
    assert_eq!(
        fx.package_json(),
        before.replace("\"name\": \"nightly\"", "\"name\": \"nightly_cleanup\"")
    );
    assert!(
        fx.root
            .join("src/backend/jobs/nightly_cleanup/index.ts")
            .is_file()
    );
    assert!(
        fx.root
            .join("build/backend/jobs/nightly_cleanup/index.js")
            .is_file()
    );
    assert!(!fx.root.join("src/backend/jobs/nightly").exists());
    assert!(!fx.root.join("build/backend/jobs/nightly").exists());
}

#[test]
fn refuses_a_taken_name_an_invalid_name_an_existing_folder_and_an_unknown_job() {
    let fx = workspace_with_built_job("nightly");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["rename-job", "nightly", "Other"]), 1);
    assert_eq!(stderr, "webstir: error: Job 'other' already exists.\n");
    let stderr = rejected(fx.cmd().args(["rename-job", "nightly", "../up"]), 2);
    assert!(
        stderr.starts_with("webstir: error: invalid job name `../up`"),
        "{stderr}"
    );
    let stderr = rejected(fx.cmd().args(["rename-job", "nightyl", "x"]), 2);
    assert_eq!(
        stderr,
        "webstir: error: no job `nightyl` in webstir.moduleManifest.jobs; did you mean `nightly`?\n"
    );
    let stderr = rejected(fx.cmd().args(["rename-job", "nightly", "nightly"]), 1);
    assert_eq!(
        stderr,
        "webstir: error: job `nightly` already has that name\n"
    );
    assert_eq!(fx.snapshot(), before);

    fs::create_dir_all(fx.root.join("build/backend/jobs/fresh")).expect("mkdir");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["rename-job", "nightly", "fresh"]), 1);
    assert_eq!(
        stderr,
        "webstir: error: job folder `build/backend/jobs/fresh` already exists; pick another name or move the folder away\n"
    );
    assert_eq!(fx.snapshot(), before);
}

/// Makes `dir` refuse new entries, also for root (which ignores permission bits): the
/// immutable attribute where `chattr` works, else mode 0555. Returns false when neither holds.
fn freeze(dir: &Path) -> bool {
    let chattr = StdCommand::new("chattr").arg("+i").arg(dir).status();
    if chattr.is_ok_and(|s| s.success()) {
        return true;
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores the mode: check that a write really fails.
    fs::write(dir.join(".probe"), "").is_err()
}

fn thaw(dir: &Path) {
    let _ = StdCommand::new("chattr").arg("-i").arg(dir).status();
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
}

#[test]
fn a_rename_that_fails_halfway_is_undone() {
    let fx = workspace_with_built_job("nightly");
    let before = fx.snapshot();
    // The source folder moves first; the build folder cannot move, so the first move must be
    // undone and package.json left alone.
    let frozen = fx.root.join("build/backend/jobs");
    if !freeze(&frozen) {
        eprintln!("skipped: cannot make a folder read-only here");
        thaw(&frozen);
        return;
    }
    let output = fx
        .cmd()
        .args(["rename-job", "nightly", "renamed"])
        .output()
        .expect("spawn");
    thaw(&frozen);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("webstir: error: build/backend/jobs/nightly: "),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn dry_run_prints_the_diff_and_the_file_operations_and_changes_nothing() {
    let fx = workspace_with_built_job("nightly");
    let before = fx.snapshot();

    let out =
        stdout_of(
            fx.cmd()
                .args(["add-job", "cleanup", "--schedule", "@hourly", "--dry-run"]),
        );
    assert!(
        out.starts_with("--- a/package.json\n+++ b/package.json\n@@ "),
        "{out}"
    );
    assert!(
        out.contains("\n+          \"name\": \"cleanup\",\n+          \"schedule\": \"@hourly\"\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "Would create src/backend/jobs/cleanup/index.ts\n\
         Would add job `cleanup` to webstir.moduleManifest.jobs in package.json\n\
         Dry run: nothing was changed.\n"
        ),
        "{out}"
    );

    let out = stdout_of(
        fx.cmd()
            .args(["remove-job", "nightly", "--delete-source", "--dry-run"]),
    );
    assert!(
        out.contains("\n-          \"name\": \"nightly\",\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "Would delete src/backend/jobs/nightly\n\
         Would delete build/backend/jobs/nightly\n\
         Would remove job `nightly` from webstir.moduleManifest.jobs in package.json\n\
         Dry run: nothing was changed.\n"
        ),
        "{out}"
    );

    let out = stdout_of(
        fx.cmd()
            .args(["rename-job", "nightly", "renamed", "--dry-run"]),
    );
    assert!(
        out.contains("\n-          \"name\": \"nightly\",\n+          \"name\": \"renamed\",\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "Would move src/backend/jobs/nightly to src/backend/jobs/renamed\n\
         Would move build/backend/jobs/nightly to build/backend/jobs/renamed\n\
         Would rename job `nightly` to `renamed` in package.json\n\
         Dry run: nothing was changed.\n"
        ),
        "{out}"
    );

    let out = stdout_of(
        fx.cmd()
            .args(["rename-job", "nightly", "renamed", "--dry-run", "--json"]),
    );
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["dryRun"], true);
    assert_eq!(
        report["moved"][0],
        serde_json::json!({"from": "src/backend/jobs/nightly", "to": "src/backend/jobs/renamed"})
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn the_dry_run_diff_applies_with_patch_to_give_the_real_result() {
    let fx = workspace_with_built_job("nightly");
    let diff = stdout_of(
        fx.cmd()
            .args(["remove-job", "nightly", "--dry-run", "--json"]),
    );
    let diff = serde_json::from_str::<serde_json::Value>(&diff).expect("JSON")["diff"]
        .as_str()
        .expect("diff")
        .to_owned();
    let copy = fx.temp.path().join("copy.json");
    fs::copy(fx.root.join("package.json"), &copy).expect("copy");
    let patch = fx.temp.path().join("change.patch");
    fs::write(&patch, diff).expect("write patch");
    stdout_of(fx.cmd().args(["remove-job", "nightly"]));
    let applied = StdCommand::new("patch")
        .arg(&copy)
        .arg(&patch)
        .output()
        .expect("patch is installed");
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    assert_eq!(fs::read_to_string(&copy).expect("read"), fx.package_json());
}
