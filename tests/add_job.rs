//! `webstir add-job`: scaffolding, manifest entries, name rules and every rejection path, each
//! checked to leave the whole tree byte-identical.

mod manifest_support;

use std::fs;
use std::os::unix::fs::symlink;

use manifest_support::*;
use serde_json::json;

#[test]
fn adds_a_job_folder_and_a_manifest_entry() {
    let fx = Fixture::init();
    let out = stdout_of(fx.cmd().args(["add-job", "cleanup"]));
    assert_eq!(
        out,
        "Created src/backend/jobs/cleanup/index.ts\n\
         Added job `cleanup` to webstir.moduleManifest.jobs in package.json\n"
    );
    assert_eq!(fx.jobs(), vec![json!({ "name": "cleanup" })]);
    let source = fs::read_to_string(fx.root.join("src/backend/jobs/cleanup/index.ts"))
        .expect("scaffold written");
    assert!(source.contains("export async function run(...args: string[])"));
    assert!(source.contains("[job:cleanup] ran at ${at}"));
    assert!(source.contains("function startedDirectly(): boolean"));
}

#[test]
fn writes_only_the_given_keys_in_a_fixed_order() {
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "0 0 * * *"])
        .args(["--description", "Nightly maintenance window"])
        .args(["--priority", "5", "--timezone", "Europe/London"])
        .assert()
        .success();
    let jobs = fx.jobs();
    assert_eq!(
        jobs,
        vec![json!({
            "name": "nightly",
            "schedule": "0 0 * * *",
            "description": "Nightly maintenance window",
            "priority": 5,
            "timezone": "Europe/London"
        })]
    );
    let text = fx.package_json();
    let order: Vec<usize> = [
        "\"name\": \"nightly\"",
        "\"schedule\"",
        "\"description\"",
        "\"priority\"",
        "\"timezone\"",
    ]
    .iter()
    .map(|k| text.find(k).expect("key written"))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "key order: {text}");
}

#[test]
fn priority_is_a_number_only_when_it_is_a_canonical_integer() {
    let fx = Fixture::init();
    for (name, priority) in [
        ("a", "5"),
        ("b", "-3"),
        ("c", "high"),
        ("d", "05"),
        ("e", "+1"),
    ] {
        fx.cmd()
            .args(["add-job", name, "--priority", priority])
            .assert()
            .success();
    }
    let priorities: Vec<_> = fx.jobs().iter().map(|j| j["priority"].clone()).collect();
    assert_eq!(
        priorities,
        vec![json!(5), json!(-3), json!("high"), json!("05"), json!("+1")]
    );
}

#[test]
fn repeated_schedules_are_stored_as_an_array_exactly_as_typed() {
    let fx = Fixture::init();
    fx.cmd()
        .args(["add-job", "sync", "--schedule", "@daily"])
        .args([
            "--schedule",
            "rate(15 minutes)",
            "--schedule",
            "*/5  * * * *",
        ])
        .assert()
        .success();
    assert_eq!(
        fx.jobs()[0]["schedule"],
        json!(["@daily", "rate(15 minutes)", "*/5  * * * *"])
    );
}

#[test]
fn normalizes_names_to_snake_case_and_says_so() {
    let fx = Fixture::init();
    let out = stdout_of(fx.cmd().args(["add-job", "SendDailyReports"]));
    assert!(
        out.starts_with("Normalized job name `SendDailyReports` to `send_daily_reports`.\n"),
        "{out}"
    );
    let out = stdout_of(fx.cmd().args(["add-job", "Rotate log Files"]));
    assert!(out.contains("to `rotate_log_files`"), "{out}");
    assert!(
        fx.root
            .join("src/backend/jobs/send_daily_reports/index.ts")
            .is_file()
    );
    assert!(
        fx.root
            .join("src/backend/jobs/rotate_log_files/index.ts")
            .is_file()
    );
    let names: Vec<_> = fx.jobs().iter().map(|j| j["name"].clone()).collect();
    assert_eq!(
        names,
        vec![json!("send_daily_reports"), json!("rotate_log_files")]
    );
}

#[test]
fn keeps_valid_names_exactly_as_given() {
    let fx = Fixture::init();
    for name in ["send-daily-reports", "backup_2", "9lives", &"x".repeat(64)] {
        let out = stdout_of(fx.cmd().args(["add-job", name]));
        assert!(!out.contains("Normalized"), "{out}");
        assert!(fx.root.join("src/backend/jobs").join(name).is_dir());
    }
}

#[test]
fn json_output_describes_the_added_job() {
    let fx = Fixture::init();
    let out = stdout_of(
        fx.cmd()
            .args(["add-job", "Nightly Sync", "--priority", "2", "--json"]),
    );
    let report: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(
        report,
        json!({
            "name": "nightly_sync",
            "normalizedFrom": "Nightly Sync",
            "source": "src/backend/jobs/nightly_sync/index.ts",
            "entry": { "name": "nightly_sync", "priority": 2 }
        })
    );
}

/// Runs `add-job` with `args` on a workspace that already has `cleanup`, and checks the
/// command is rejected with `code`, says `expected`, and changes nothing.
fn assert_rejected(args: &[&str], code: i32, expected: &str) {
    let fx = Fixture::init();
    fx.cmd().args(["add-job", "cleanup"]).assert().success();
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().arg("add-job").args(args), code);
    assert!(stderr.starts_with("webstir: error: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{args:?}: expected {expected:?} in {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert_eq!(fx.snapshot(), before, "{args:?} changed files");
}

#[test]
fn rejects_names_that_break_a_rule_naming_the_rule() {
    let long = "a".repeat(65);
    let cases: &[(&str, &str)] = &[
        ("", "it is empty"),
        ("   ", "it is empty"),
        (".", "`.` and `..` are not names"),
        ("..", "`.` and `..` are not names"),
        ("a/b", "path separator"),
        ("../escape", "path separator"),
        ("a\\b", "path separator"),
        ("bell\u{7}", "control character"),
        ("tab\tname", "control character"),
        ("a<b", "one of `<>:\"|?*`"),
        ("a>b", "one of `<>:\"|?*`"),
        ("a:b", "one of `<>:\"|?*`"),
        ("a\"b", "one of `<>:\"|?*`"),
        ("a|b", "one of `<>:\"|?*`"),
        ("a?b", "one of `<>:\"|?*`"),
        ("a*b", "one of `<>:\"|?*`"),
        ("con", "reserved device name"),
        ("NUL", "reserved device name"),
        ("com1", "reserved device name"),
        ("Lpt9", "reserved device name"),
        (&long, "more than the 64"),
        ("!!!", "no letters or digits"),
        ("café", "still has characters"),
    ];
    for (name, rule) in cases {
        assert_rejected(&[name], 2, rule);
    }
    // Every rejection also says what is accepted.
    assert_rejected(&["a/b"], 2, "1-64 characters of `a-z`, `0-9`, `_` and `-`");
}

/// Issue 10: `add-job scheduler` succeeded and then every build failed, because the job's
/// folder sat where the generated scheduler goes; `add-job node_modules` made a job the build
/// never builds.
#[test]
fn refuses_names_of_generated_files_and_of_folders_the_build_skips() {
    let cases: &[(&str, &str)] = &[
        (
            "scheduler",
            "`build/backend/jobs/scheduler` is the scheduler binary",
        ),
        (
            "Scheduler",
            "`build/backend/jobs/scheduler` is the scheduler binary",
        ),
        (
            "scheduler.js",
            "`build/backend/jobs/scheduler.js` is the scheduler shim",
        ),
        (
            "webstir-runner.mjs",
            "`build/backend/jobs/webstir-runner.mjs` is the job runner",
        ),
        (
            "webstir-tenants.mjs",
            "`build/backend/jobs/webstir-tenants.mjs` is the tenant listing script",
        ),
        (
            "webstir-next",
            "names that begin with `webstir` are reserved",
        ),
        ("node_modules", "skips `node_modules` folders"),
        ("NodeModules", "skips `node_modules` folders"),
    ];
    for (name, rule) in cases {
        assert_rejected(&[name], 2, rule);
    }
}

#[test]
fn rejects_invalid_values_of_the_other_flags() {
    assert_rejected(&["x", "--description", ""], 2, "description is empty");
    assert_rejected(&["x", "--description", "  "], 2, "description is empty");
    assert_rejected(&["x", "--priority", ""], 2, "priority is empty");
    assert_rejected(
        &["x", "--timezone", "Mars/Olympus"],
        2,
        "unknown time zone `Mars/Olympus`",
    );
    assert_rejected(
        &["x", "--schedule", ""],
        2,
        "invalid schedule ``: it is empty",
    );
}

#[test]
fn rejects_a_job_that_already_exists_under_any_spelling() {
    assert_rejected(&["cleanup"], 1, "Job 'cleanup' already exists.");
    assert_rejected(&["Cleanup"], 1, "Job 'cleanup' already exists.");
    let fx = Fixture::init();
    fx.cmd().args(["add-job", "send-daily"]).assert().success();
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "send_daily"]), 1);
    assert!(
        stderr.contains("Job 'send-daily' already exists."),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn rejects_an_existing_job_folder() {
    let fx = Fixture::init();
    fs::create_dir_all(fx.root.join("src/backend/jobs/report")).expect("mkdir");
    fs::write(
        fx.root.join("src/backend/jobs/report/index.ts"),
        "// mine\n",
    )
    .expect("write");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "report"]), 1);
    assert!(
        stderr.contains("job folder `src/backend/jobs/report` already exists"),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn rejects_a_malformed_package_json_with_its_position() {
    let fx = Fixture::with_package_json("{\n  \"webstir\": {\n    \"mode\": \"api\",\n  }\n}\n");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "cleanup"]), 1);
    assert!(
        stderr.starts_with("webstir: error: package.json:4:3: "),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn rejects_a_manifest_whose_jobs_is_not_an_array() {
    let fx = Fixture::with_package_json(r#"{"webstir": {"moduleManifest": {"jobs": {}}}}"#);
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "cleanup"]), 1);
    assert!(
        stderr.contains("`webstir.moduleManifest.jobs` must be an array"),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn refuses_a_symlinked_package_json() {
    let fx = Fixture::init();
    let elsewhere = fx.temp.path().join("elsewhere.json");
    fs::rename(fx.root.join("package.json"), &elsewhere).expect("move");
    symlink(&elsewhere, fx.root.join("package.json")).expect("symlink");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "cleanup"]), 1);
    assert!(stderr.contains("it is a symbolic link"), "{stderr}");
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn refuses_a_symlinked_jobs_folder() {
    let fx = Fixture::init();
    let outside = fx.temp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    symlink(&outside, fx.root.join("src/backend/jobs")).expect("symlink");
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["add-job", "cleanup"]), 1);
    assert!(
        stderr.contains("refusing to use `")
            && stderr.contains("src/backend/jobs`: it is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(fs::read_dir(&outside).expect("read").count(), 0);
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn without_a_workspace_it_says_how_to_create_one() {
    let temp = tempfile::tempdir().expect("temp dir");
    let before = snapshot(temp.path());
    let stderr = rejected(
        webstir()
            .current_dir(temp.path())
            .args(["add-job", "cleanup"]),
        1,
    );
    assert!(stderr.contains("no webstir workspace found"), "{stderr}");
    assert!(stderr.contains("webstir init api <dir>"), "{stderr}");
    assert_eq!(snapshot(temp.path()), before);

    fs::write(temp.path().join("package.json"), "{\"name\": \"plain\"}\n").expect("write");
    let before = snapshot(temp.path());
    let stderr = rejected(webstir_in(temp.path()).args(["add-job", "cleanup"]), 1);
    assert!(stderr.contains("has no `webstir` object"), "{stderr}");
    assert_eq!(snapshot(temp.path()), before);

    let missing = temp.path().join("missing");
    let stderr = rejected(webstir_in(&missing).args(["add-job", "cleanup"]), 1);
    assert!(
        stderr.contains(&format!(
            "`{}` is not a webstir workspace: there is no such folder",
            missing.display()
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(temp.path()), before);
}

#[test]
fn finds_the_workspace_from_a_subfolder_and_from_the_environment() {
    let fx = Fixture::init();
    webstir()
        .current_dir(fx.root.join("src/backend"))
        .args(["add-job", "from_cwd"])
        .assert()
        .success();
    webstir()
        .current_dir(fx.temp.path())
        .env("WEBSTIR_WORKSPACE", &fx.root)
        .args(["add-job", "from_env"])
        .assert()
        .success();
    // Set but empty means unset: the search starts from the current folder again.
    webstir()
        .current_dir(fx.root.join("src"))
        .env("WEBSTIR_WORKSPACE", "")
        .args(["add-job", "from_empty_env"])
        .assert()
        .success();
    let names: Vec<_> = fx.jobs().iter().map(|j| j["name"].clone()).collect();
    assert_eq!(
        names,
        vec![
            json!("from_cwd"),
            json!("from_env"),
            json!("from_empty_env")
        ]
    );
}

#[test]
fn ten_concurrent_add_jobs_are_all_recorded() {
    let fx = Fixture::init();
    let children: Vec<_> = (0..10)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("webstir"))
                .env_remove("WEBSTIR_WORKSPACE")
                .arg("--workspace")
                .arg(&fx.root)
                .args(["add-job", &format!("job{i}"), "--priority", &i.to_string()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn webstir")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    let mut names: Vec<String> = fx
        .jobs()
        .iter()
        .map(|j| j["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..10).map(|i| format!("job{i}")).collect();
    assert_eq!(names, expected);
    for name in &expected {
        assert!(
            fx.root
                .join("src/backend/jobs")
                .join(name)
                .join("index.ts")
                .is_file()
        );
    }
}

#[test]
fn of_five_concurrent_add_jobs_with_one_name_exactly_one_wins() {
    let fx = Fixture::init();
    let children: Vec<_> = (0..5)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("webstir"))
                .env_remove("WEBSTIR_WORKSPACE")
                .arg("--workspace")
                .arg(&fx.root)
                .args(["add-job", "same"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn webstir")
        })
        .collect();
    let mut won = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            won += 1;
        } else {
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                "webstir: error: Job 'same' already exists.\n"
            );
        }
    }
    assert_eq!(won, 1);
    assert_eq!(fx.jobs(), vec![json!({ "name": "same" })]);
}

#[test]
fn help_shows_examples_and_usage_errors_exit_2() {
    let out = stdout_of(webstir().args(["add-job", "--help"]));
    assert!(out.contains("Examples:"), "{out}");
    assert!(out.contains("webstir add-job nightly --schedule"), "{out}");
    let stderr = rejected(webstir().arg("add-job"), 2);
    assert!(stderr.contains("<NAME>"), "{stderr}");
}

#[test]
fn a_failed_manifest_write_removes_the_new_job_folder() {
    // A package.json larger than the file-size limit of the process cannot be rewritten, while
    // the small index.ts can: the write fails after the scaffold exists.
    assert_write_fails_cleanly(2, "package.json");
}

#[test]
fn a_failed_scaffold_write_removes_the_half_written_file() {
    // With no room at all, index.ts is created but cannot be filled.
    assert_write_fails_cleanly(0, "index.ts");
}

/// Runs `add-job` under a file-size limit of `blocks` (512-byte units) and checks that it
/// fails naming `failed_file` and leaves the tree as it was.
fn assert_write_fails_cleanly(blocks: u32, failed_file: &str) {
    let padding = "x".repeat(4096);
    let fx = Fixture::with_package_json(&format!(
        "{{\n  \"description\": \"{padding}\",\n  \"webstir\": {{}}\n}}\n"
    ));
    let before = fx.snapshot();
    let bin = assert_cmd::cargo::cargo_bin("webstir");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""
        ))
        .arg(&bin)
        .arg("--workspace")
        .arg(&fx.root)
        .args(["add-job", "cleanup"])
        .env_remove("WEBSTIR_WORKSPACE")
        .output()
        .expect("spawn bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("webstir: error: "), "{stderr}");
    assert!(stderr.contains(failed_file), "{stderr}");
    assert_eq!(fx.snapshot(), before);
}
