//! With `--json`, a failure is a JSON object on stdout (`{"error": {"code", "message", "file",
//! "line", "column"}}`) besides the exit status; without it, errors stay text on stderr.

mod manifest_support;

use manifest_support::*;
use serde_json::{Value, json};

/// Runs `cmd`, expects exit `code`, and returns the JSON on stdout.
fn json_error(cmd: &mut assert_cmd::Command, code: i32) -> Value {
    let output = cmd.output().expect("spawn webstir");
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object on stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("webstir: error: "),
        "the text form still goes to stderr: {stderr}"
    );
    report
}

#[test]
fn a_package_json_syntax_error_carries_file_line_and_column_in_every_json_command() {
    let fx = Fixture::with_package_json("{\n  \"webstir\": {\n    \"mode\": \"api\",\n  }\n}\n");
    // The message is the JSON reader's; what matters here is that every command carries the
    // same code and position.
    let expected = |message: &Value| {
        json!({"error": {
            "code": "manifest-syntax",
            "message": message,
            "file": "package.json",
            "line": 4,
            "column": 3,
        }})
    };
    for args in [
        &["backend-inspect", "--json"][..],
        &["add-job", "cleanup", "--json"],
        &["remove-job", "cleanup", "--json"],
        &["rename-job", "cleanup", "tidy", "--json"],
        &["scheduler", "--json"],
    ] {
        let report = json_error(fx.cmd().args(args), 1);
        let message = &report["error"]["message"];
        assert!(message.as_str().is_some_and(|m| !m.is_empty()), "{report}");
        assert_eq!(report, expected(message), "{args:?}");
    }
}

#[test]
fn each_failure_has_a_stable_code_and_no_position_when_it_has_none() {
    let fx = Fixture::init();
    stdout_of(fx.cmd().args(["add-job", "nightly"]));
    let report = json_error(fx.cmd().args(["add-job", "Nightly", "--json"]), 1);
    assert_eq!(
        report,
        json!({"error": {"code": "job-exists", "message": "Job 'nightly' already exists.",
            "file": null, "line": null, "column": null}})
    );
    let report = json_error(fx.cmd().args(["remove-job", "nightley", "--json"]), 2);
    assert_eq!(report["error"]["code"], "job-not-found");
    assert_eq!(
        report["error"]["message"],
        "no job `nightley` in webstir.moduleManifest.jobs; did you mean `nightly`?"
    );
    let report = json_error(
        fx.cmd()
            .args(["add-job", "x", "--schedule", "61 * * * *", "--json"]),
        2,
    );
    assert_eq!(report["error"]["code"], "usage");

    let empty = tempfile::tempdir().expect("temp dir");
    let report = json_error(
        webstir()
            .current_dir(empty.path())
            .args(["backend-inspect", "--json"]),
        1,
    );
    assert_eq!(report["error"]["code"], "workspace-not-found");
}

#[test]
fn without_json_errors_stay_text_on_stderr_only() {
    let fx = Fixture::init();
    let output = fx
        .cmd()
        .args(["remove-job", "nothing"])
        .output()
        .expect("spawn");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "webstir: error: no job `nothing` in webstir.moduleManifest.jobs\n"
    );
}
