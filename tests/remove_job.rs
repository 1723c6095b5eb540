//! `webstir remove-job`: byte-exact removal from hand-formatted manifests, name matching and
//! suggestions, what happens to the job's folders, and concurrent edits of one workspace.

mod manifest_support;

use std::fs;
use std::thread;

use manifest_support::*;

/// A package.json in one hand-written style: indentation `unit`, line ending `eol`, and one
/// block entry per name.
fn styled(unit: &str, eol: &str, names: &[&str]) -> String {
    let i = |n: usize| unit.repeat(n);
    let jobs = if names.is_empty() {
        "[]".to_owned()
    } else {
        let entries: Vec<String> = names
            .iter()
            .map(|name| {
                format!(
                    "{}{{{eol}{}\"name\": \"{name}\",{eol}{}\"schedule\": \"@daily\"{eol}{}}}",
                    i(4),
                    i(5),
                    i(5),
                    i(4)
                )
            })
            .collect();
        format!("[{eol}{}{eol}{}]", entries.join(&format!(",{eol}")), i(3))
    };
    format!(
        "{{{eol}{}\"name\": \"demo\",{eol}{}\"webstir\": {{{eol}{}\"mode\": \"api\",{eol}{}\"moduleManifest\": {{{eol}{}\"jobs\": {jobs}{eol}{}}}{eol}{}}}{eol}}}{eol}",
        i(1),
        i(1),
        i(2),
        i(2),
        i(3),
        i(2),
        i(1)
    )
}

#[test]
fn removal_is_byte_exact_in_every_indentation_and_line_ending() {
    let names = ["alpha", "beta", "gamma"];
    for (unit, eol) in [
        ("  ", "\n"),
        ("    ", "\n"),
        ("\t", "\n"),
        ("  ", "\r\n"),
        ("\t", "\r\n"),
    ] {
        for (index, removed) in names.iter().enumerate() {
            let fx = Fixture::with_package_json(&styled(unit, eol, &names));
            stdout_of(fx.cmd().args(["remove-job", removed]));
            let rest: Vec<&str> = names.iter().copied().filter(|n| n != removed).collect();
            assert_eq!(
                fx.package_json(),
                styled(unit, eol, &rest),
                "unit {unit:?}, eol {eol:?}, removing entry {index}"
            );
        }
        let fx = Fixture::with_package_json(&styled(unit, eol, &["only"]));
        stdout_of(fx.cmd().args(["remove-job", "only"]));
        assert_eq!(
            fx.package_json(),
            styled(unit, eol, &[]),
            "only entry, {unit:?} {eol:?}"
        );
    }
}

#[test]
fn blank_lines_and_one_line_entries_around_the_removed_entry_stay() {
    let text = "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": [\n        {\"name\": \"a\"},\n\n        {\"name\": \"b\"},\n        {\"name\": \"c\"}, {\"name\": \"d\"}\n      ]\n    }\n  }\n}";
    let fx = Fixture::with_package_json(text);
    stdout_of(fx.cmd().args(["remove-job", "b"]));
    assert_eq!(
        fx.package_json(),
        text.replace("        {\"name\": \"b\"},\n", "")
    );
    // `d` shares its line with `c`: it goes with the separator before it.
    stdout_of(fx.cmd().args(["remove-job", "d"]));
    assert_eq!(
        fx.package_json(),
        text.replace("        {\"name\": \"b\"},\n", "")
            .replace(", {\"name\": \"d\"}", "")
    );
    // A last entry on its own lines takes the comma of the entry before it.
    stdout_of(fx.cmd().args(["remove-job", "c"]));
    assert_eq!(
        fx.package_json(),
        "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": [\n        {\"name\": \"a\"}\n\n      ]\n    }\n  }\n}"
    );
}

#[test]
fn a_minified_manifest_and_a_bom_stay_as_written() {
    let text = "\u{feff}{\"webstir\":{\"moduleManifest\":{\"jobs\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}}";
    let fx = Fixture::with_package_json(text);
    stdout_of(fx.cmd().args(["remove-job", "a"]));
    stdout_of(fx.cmd().args(["remove-job", "c"]));
    assert_eq!(
        fx.package_json(),
        "\u{feff}{\"webstir\":{\"moduleManifest\":{\"jobs\":[{\"name\":\"b\"}]}}}"
    );
}

#[test]
fn any_name_form_finds_the_job_and_the_folders_stay_by_default() {
    let fx = Fixture::init();
    stdout_of(
        fx.cmd()
            .args(["add-job", "send_daily_reports", "--schedule", "@daily"]),
    );
    fs::create_dir_all(fx.root.join("build/backend/jobs/send_daily_reports")).expect("mkdir");
    let out = stdout_of(fx.cmd().args(["remove-job", "SendDailyReports"]));
    assert_eq!(
        out,
        "Removed job `send_daily_reports` from webstir.moduleManifest.jobs in package.json\n\
         Left src/backend/jobs/send_daily_reports in place (pass --delete-source to delete it)\n\
         Left build/backend/jobs/send_daily_reports in place (pass --delete-source to delete it)\n"
    );
    assert!(fx.jobs().is_empty());
    assert!(
        fx.root
            .join("src/backend/jobs/send_daily_reports/index.ts")
            .is_file()
    );
    assert!(
        fx.root
            .join("build/backend/jobs/send_daily_reports")
            .is_dir()
    );
}

#[test]
fn delete_source_deletes_the_source_and_built_folders() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "cleanup"]));
    stdout_of(fx.cmd().args(["add-job", "keep"]));
    fs::create_dir_all(fx.root.join("build/backend/jobs/cleanup")).expect("mkdir");
    fs::write(fx.root.join("build/backend/jobs/cleanup/index.js"), "x").expect("write");
    let out = stdout_of(fx.cmd().args(["remove-job", "cleanup", "--delete-source"]));
    assert_eq!(
        out,
        "Removed job `cleanup` from webstir.moduleManifest.jobs in package.json\n\
         Deleted src/backend/jobs/cleanup\n\
         Deleted build/backend/jobs/cleanup\n"
    );
    assert!(!fx.root.join("src/backend/jobs/cleanup").exists());
    assert!(!fx.root.join("build/backend/jobs/cleanup").exists());
    assert!(fx.root.join("src/backend/jobs/keep/index.ts").is_file());
    let leftovers: Vec<_> = fs::read_dir(fx.root.join("src/backend/jobs"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["keep"]);
}

#[test]
fn an_unknown_name_is_a_usage_error_with_a_suggestion_and_changes_nothing() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "nightly"]));
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["remove-job", "nightley"]), 2);
    assert_eq!(
        stderr,
        "webstir: error: no job `nightley` in webstir.moduleManifest.jobs; did you mean `nightly`?\n"
    );
    let stderr = rejected(fx.cmd().args(["remove-job", "zzzzzz"]), 2);
    assert_eq!(
        stderr,
        "webstir: error: no job `zzzzzz` in webstir.moduleManifest.jobs\n"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn a_broken_manifest_or_a_symlinked_job_folder_is_refused_and_nothing_changes() {
    let fx = Fixture::with_package_json(
        "{\"webstir\": {\"moduleManifest\": {\"jobs\": [{\"name\": \"a\"},]}}}",
    );
    let before = fx.snapshot();
    let stderr = rejected(fx.cmd().args(["remove-job", "a"]), 1);
    assert!(
        stderr.starts_with("webstir: error: package.json:1:"),
        "{stderr}"
    );
    assert_eq!(fx.snapshot(), before);

    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "cleanup"]));
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(outside.path().join("precious"), "x").expect("write");
    fs::remove_dir_all(fx.root.join("src/backend/jobs/cleanup")).expect("rm");
    std::os::unix::fs::symlink(outside.path(), fx.root.join("src/backend/jobs/cleanup"))
        .expect("symlink");
    let before = fx.snapshot();
    let stderr = rejected(
        fx.cmd().args(["remove-job", "cleanup", "--delete-source"]),
        1,
    );
    assert_eq!(
        stderr,
        "webstir: error: refusing to use `src/backend/jobs/cleanup`: it is a symbolic link\n"
    );
    assert_eq!(fx.snapshot(), before);
    assert!(outside.path().join("precious").is_file());
}

#[test]
fn concurrent_add_job_and_remove_job_on_one_workspace_lose_no_edit() {
    let fx = Fixture::init();
    let seeded: Vec<String> = (0..8).map(|i| format!("old{i}")).collect();
    for name in &seeded {
        stdout_of(fx.cmd().args(["add-job", name, "--schedule", "@daily"]));
    }
    let root = fx.root.clone();
    let handles: Vec<_> = (0..8)
        .flat_map(|i| {
            let add_root = root.clone();
            let remove_root = root.clone();
            [
                thread::spawn(move || {
                    stdout_of(webstir_in(&add_root).args(["add-job", &format!("new{i}")]))
                }),
                thread::spawn(move || {
                    stdout_of(webstir_in(&remove_root).args(["remove-job", &format!("old{i}")]))
                }),
            ]
        })
        .collect();
    for handle in handles {
        handle.join().expect("command thread");
    }
    let mut names: Vec<String> = fx
        .jobs()
        .iter()
        .map(|j| j["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("new{i}")).collect();
    assert_eq!(names, expected);
    assert_valid_manifest(&fx.manifest());
}

#[test]
fn json_reports_what_was_removed_and_kept() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "cleanup"]));
    let out = stdout_of(fx.cmd().args(["remove-job", "cleanup", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["name"], "cleanup");
    assert_eq!(report["dryRun"], false);
    assert_eq!(
        report["kept"],
        serde_json::json!(["src/backend/jobs/cleanup"])
    );
    assert_eq!(report["deleted"], serde_json::json!([]));
    assert!(
        report["diff"]
            .as_str()
            .expect("diff")
            .contains("-          \"name\": \"cleanup\"")
    );
}

#[test]
fn two_removals_of_one_job_at_once_remove_it_once() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "a"]));
    stdout_of(fx.cmd().args(["add-job", "b"]));
    let root = fx.root.clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            thread::spawn(move || {
                webstir_in(&root)
                    .args(["remove-job", "a"])
                    .output()
                    .expect("spawn")
                    .status
                    .code()
            })
        })
        .collect();
    let mut codes: Vec<Option<i32>> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    codes.sort();
    assert_eq!(codes, [Some(0), Some(2), Some(2), Some(2)]);
    assert_eq!(fx.jobs(), [serde_json::json!({"name": "b"})]);
}

#[test]
fn an_entry_with_nested_policies_leaves_whole() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "first"]));
    let before = fx.package_json();
    stdout_of(fx.cmd().args([
        "add-job",
        "billing",
        "--schedule",
        "@hourly",
        "--retry",
        "3",
        "--retry-delay",
        "30s",
    ]));
    stdout_of(fx.cmd().args(["add-job", "last"]));
    let with_last = fx.package_json();
    stdout_of(fx.cmd().args(["remove-job", "last"]));
    stdout_of(fx.cmd().args(["remove-job", "billing"]));
    assert_eq!(fx.package_json(), before, "after:\n{with_last}");
}

#[test]
fn a_hand_edited_name_with_a_path_in_it_never_reaches_outside_the_jobs_folders() {
    let fx = Fixture::with_package_json(
        "{\"webstir\": {\"moduleManifest\": {\"jobs\": [{\"name\": \"../victim\"}]}}}",
    );
    fs::create_dir_all(fx.root.join("src/backend/victim")).expect("mkdir");
    fs::write(fx.root.join("src/backend/victim/keep.ts"), "x").expect("write");
    let out = stdout_of(fx.cmd().args(["remove-job", "victim", "--delete-source"]));
    assert_eq!(
        out,
        "Removed job `../victim` from webstir.moduleManifest.jobs in package.json\n"
    );
    assert_eq!(
        fx.package_json(),
        "{\"webstir\": {\"moduleManifest\": {\"jobs\": []}}}"
    );
    assert!(fx.root.join("src/backend/victim/keep.ts").is_file());
}
