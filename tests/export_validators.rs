//! `webstir export`'s output checked by each target's own validator, installed by scripts/test:
//! a missing validator fails the test rather than skipping it.

mod export_support;
mod scheduler_support;

use std::fs;

use export_support::*;

// ---------------------------------------------------------------------------------------------
// The targets' own validators

#[test]
fn kubernetes_validate_accepts_the_cronjobs() {
    let ws = workspace(JOBS);
    let out = ws.path("k8s");
    ok(&export(
        &ws,
        &[
            "--target",
            "kubernetes",
            "--image",
            "registry.example.com/demo:1.4",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let file = out.join("cronjobs.yaml");
    let result = validator(
        "kubernetes-validate",
        &["--strict", "-k", "1.30.0", file.to_str().expect("utf-8")],
        None,
    );
    assert_valid("kubernetes-validate", &result);
    // One CronJob per job and schedule that Kubernetes can express.
    assert_eq!(
        text(&result.stdout).matches("passed").count()
            + text(&result.stderr).matches("passed").count(),
        5
    );
}

#[test]
fn systemd_analyze_verifies_every_unit_against_the_built_scheduler() {
    let ws = workspace(JOBS);
    ws.file("src/backend/index.ts", "export const ready = true;\n");
    let build = ws.webstir(&["build"]).output().expect("run webstir build");
    ok(&build);
    assert!(ws.path("build/backend/jobs/scheduler").exists());
    let out = ws.path("units");
    ok(&export(
        &ws,
        &["--target", "systemd", "--out", out.to_str().expect("utf-8")],
    ));
    let units: Vec<String> = fs::read_dir(&out)
        .expect("read units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        units.len(),
        14,
        "a service and a timer per scheduled job: {units:?}"
    );
    let mut args = vec!["verify", "--man=no"];
    args.extend(units.iter().map(String::as_str));
    let result = validator("systemd-analyze", &args, Some(&out));
    assert_valid("systemd-analyze verify", &result);
    // systemd reports an unparsable setting on stderr and goes on: that is a failure here.
    assert_eq!(text(&result.stderr), "", "systemd-analyze complained");
}

#[test]
fn cfn_lint_accepts_the_template() {
    let ws = workspace(JOBS);
    let out = ws.path("aws");
    ok(&export(
        &ws,
        &[
            "--target",
            "eventbridge",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let result = validator("cfn-lint", &["schedules.yaml"], Some(&out));
    assert_valid("cfn-lint", &result);
}

#[test]
fn check_jsonschema_accepts_the_workflow() {
    let ws = workspace(JOBS);
    let out = ws.path("wf");
    ok(&export(
        &ws,
        &[
            "--target",
            "github-actions",
            "--skip-unsupported",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    let result = validator(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            "webstir-jobs.yml",
        ],
        Some(&out),
    );
    assert_valid("check-jsonschema", &result);
}

#[test]
fn the_policies_export_passes_the_validators() {
    let ws = workspace(POLICY_JOBS);
    let dir = ws.path("deploy");
    let d = dir.to_str().expect("utf-8");
    ok(&export(
        &ws,
        &["--target", "kubernetes", "--image", "img:1", "--out", d],
    ));
    ok(&export(&ws, &["--target", "eventbridge", "--out", d]));
    ok(&export(&ws, &["--target", "github-actions", "--out", d]));
    assert_valid(
        "kubernetes-validate",
        &validator(
            "kubernetes-validate",
            &["--strict", "-k", "1.30.0", "cronjobs.yaml"],
            Some(&dir),
        ),
    );
    assert_valid(
        "cfn-lint",
        &validator("cfn-lint", &["schedules.yaml"], Some(&dir)),
    );
    assert_valid(
        "check-jsonschema",
        &validator(
            "check-jsonschema",
            &[
                "--builtin-schema",
                "vendor.github-workflows",
                "webstir-jobs.yml",
            ],
            Some(&dir),
        ),
    );
    // The systemd units, against a built workspace so that ExecStart= exists.
    ws.file("src/backend/index.ts", "export const ready = true;\n");
    ok(&ws.webstir(&["build"]).output().expect("build"));
    let units = ws.path("units");
    ok(&export(
        &ws,
        &[
            "--target",
            "systemd",
            "--out",
            units.to_str().expect("utf-8"),
        ],
    ));
    let names: Vec<String> = fs::read_dir(&units)
        .expect("units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["verify", "--man=no"];
    args.extend(names.iter().map(String::as_str));
    let result = validator("systemd-analyze", &args, Some(&units));
    assert_valid("systemd-analyze verify", &result);
    assert_eq!(text(&result.stderr), "");
}
