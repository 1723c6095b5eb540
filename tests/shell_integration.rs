//! `webstir completions` loaded into a real bash, and `webstir man`.

mod manifest_support;

use std::fs;
use std::process::Command as StdCommand;

use manifest_support::*;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("webstir")
}

/// Runs `script` in a clean bash in `dir` after sourcing webstir's bash completions, with the
/// completion state of a Tab press after `words` (the last word is the one being completed).
fn complete_in_bash(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.last().expect("a word to complete");
    let previous = words[words.len() - 2];
    let script = format!(
        r#"set -e
source <('{bin}' completions bash)
spec=$(complete -p webstir)
fn=$(sed -E 's/.* -F ([^ ]+) .*/\1/' <<<"$spec")
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
"$fn" webstir '{current}' '{previous}'
compgen -W "${{COMPREPLY[*]}}" -- '{current}' || true
"#,
        bin = bin().display(),
        words = quoted.join(" "),
        cword = words.len() - 1,
    );
    let output = StdCommand::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .current_dir(dir)
        .env_remove("WEBSTIR_WORKSPACE")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_loads_the_completions_and_completes_commands_and_job_names() {
    let fx = Fixture::init();
    stdout_of(
        fx.cmd()
            .args(["add-job", "nightly", "--schedule", "@daily"]),
    );
    stdout_of(fx.cmd().args(["add-job", "cleanup"]));
    stdout_of(fx.cmd().args(["add-job", "notify_users"]));

    let script = format!(
        "source <('{}' completions bash) && complete -p webstir",
        bin().display()
    );
    let output = StdCommand::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .expect("bash runs");
    let spec = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        spec.contains(" -F _clap_complete_webstir webstir"),
        "{spec}"
    );

    assert_eq!(
        complete_in_bash(&fx.root, &["webstir", "remove-j"]),
        ["remove-job"]
    );
    assert_eq!(
        complete_in_bash(&fx.root, &["webstir", "remove-job", "n"]),
        ["nightly", "notify_users"]
    );
    assert_eq!(
        complete_in_bash(&fx.root, &["webstir", "rename-job", "c"]),
        ["cleanup"]
    );
    assert_eq!(
        complete_in_bash(&fx.root, &["webstir", "scheduler", "--job", "no"]),
        ["notify_users"]
    );
    // --workspace on the line wins over the current folder.
    let root = fx.root.display().to_string();
    assert_eq!(
        complete_in_bash(
            fx.temp.path(),
            &["webstir", "--workspace", &root, "remove-job", "c"]
        ),
        ["cleanup"]
    );
    // Outside any workspace there are no job names, and no error either.
    assert!(complete_in_bash(fx.temp.path(), &["webstir", "remove-job", "n"]).is_empty());
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_a_usage_error() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = stdout_of(webstir().args(["completions", shell]));
        assert!(out.contains("WEBSTIR_COMPLETE"), "{shell}: {out}");
    }
    let out = stdout_of(webstir().args(["completions", "bash"]));
    let syntax = StdCommand::new("bash")
        .args(["-n", "-c", &out])
        .status()
        .expect("bash runs");
    assert!(syntax.success());
    let stderr = rejected(webstir().args(["completions", "tcsh"]), 2);
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
}

#[test]
fn man_prints_webstir_1_and_writes_a_page_per_command() {
    let out = stdout_of(webstir().arg("man"));
    assert!(out.contains(".TH webstir 1"), "{out}");
    assert!(out.contains("remove\\-job"), "{out}");

    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("man1");
    let out = stdout_of(webstir().arg("man").arg("--out").arg(&dir));
    let mut pages: Vec<String> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "webstir.1",
        "webstir-add-job.1",
        "webstir-remove-job.1",
        "webstir-rename-job.1",
        "webstir-start.1",
        "webstir-dev.1",
        "webstir-completions.1",
        "webstir-man.1",
        "webstir-scheduler.1",
        "webstir-build.1",
    ] {
        assert!(
            pages.contains(&page.to_owned()),
            "{page} missing from {pages:?}"
        );
        assert!(
            out.contains(&format!("{}\n", dir.join(page).display())),
            "{out}"
        );
    }
    let page = fs::read_to_string(dir.join("webstir-remove-job.1")).expect("read");
    assert!(page.contains(".TH webstir-remove-job 1"), "{page}");
    assert!(page.contains("\\-\\-delete\\-source"), "{page}");
}
