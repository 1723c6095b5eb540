//! `add-job` edits package.json in place: the inserted entry follows the file's own style and
//! every other byte stays as the user wrote it.

mod manifest_support;

use manifest_support::*;

/// Adds `job` (with a schedule and a priority) to a workspace whose package.json is `before`,
/// returns the new text, and checks that the only change is one inserted block.
fn add(before: &str) -> String {
    let fx = Fixture::with_package_json(before);
    fx.cmd()
        .args([
            "add-job",
            "nightly",
            "--schedule",
            "0 0 * * *",
            "--priority",
            "5",
        ])
        .assert()
        .success();
    let after = fx.package_json();
    assert_only_inserted(before, &after);
    manifest_of(&after);
    after
}

/// `after` is `before` with one contiguous block inserted: the text before and after the
/// block is identical to the original.
fn assert_only_inserted(before: &str, after: &str) {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .bytes()
        .rev()
        .zip(after[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "more than an insertion changed:\n--- before\n{before}\n--- after\n{after}"
    );
}

#[test]
fn two_spaces() {
    let before = "{\n  \"name\": \"demo\",\n  \"webstir\": {\n    \"mode\": \"api\",\n    \"moduleManifest\": {\n      \"jobs\": [\n        {\n          \"name\": \"cleanup\"\n        }\n      ]\n    }\n  },\n  \"license\": \"MIT\"\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"name\": \"demo\",\n  \"webstir\": {\n    \"mode\": \"api\",\n    \"moduleManifest\": {\n      \"jobs\": [\n        {\n          \"name\": \"cleanup\"\n        },\n        {\n          \"name\": \"nightly\",\n          \"schedule\": \"0 0 * * *\",\n          \"priority\": 5\n        }\n      ]\n    }\n  },\n  \"license\": \"MIT\"\n}\n"
    );
}

#[test]
fn four_spaces() {
    let before = "{\n    \"webstir\": {\n        \"moduleManifest\": {\n            \"jobs\": [\n                {\n                    \"name\": \"cleanup\"\n                }\n            ]\n        }\n    }\n}\n";
    assert_eq!(
        add(before),
        "{\n    \"webstir\": {\n        \"moduleManifest\": {\n            \"jobs\": [\n                {\n                    \"name\": \"cleanup\"\n                },\n                {\n                    \"name\": \"nightly\",\n                    \"schedule\": \"0 0 * * *\",\n                    \"priority\": 5\n                }\n            ]\n        }\n    }\n}\n"
    );
}

#[test]
fn tabs() {
    let before = "{\n\t\"webstir\": {\n\t\t\"moduleManifest\": {\n\t\t\t\"jobs\": [\n\t\t\t\t{\n\t\t\t\t\t\"name\": \"cleanup\"\n\t\t\t\t}\n\t\t\t]\n\t\t}\n\t}\n}\n";
    assert_eq!(
        add(before),
        "{\n\t\"webstir\": {\n\t\t\"moduleManifest\": {\n\t\t\t\"jobs\": [\n\t\t\t\t{\n\t\t\t\t\t\"name\": \"cleanup\"\n\t\t\t\t},\n\t\t\t\t{\n\t\t\t\t\t\"name\": \"nightly\",\n\t\t\t\t\t\"schedule\": \"0 0 * * *\",\n\t\t\t\t\t\"priority\": 5\n\t\t\t\t}\n\t\t\t]\n\t\t}\n\t}\n}\n"
    );
}

#[test]
fn crlf_line_endings() {
    let before = "{\r\n  \"name\": \"demo\",\r\n  \"webstir\": {\r\n    \"moduleManifest\": {\r\n      \"jobs\": [\r\n        {\r\n          \"name\": \"cleanup\"\r\n        }\r\n      ]\r\n    }\r\n  }\r\n}\r\n";
    let after = add(before);
    assert_eq!(
        after,
        "{\r\n  \"name\": \"demo\",\r\n  \"webstir\": {\r\n    \"moduleManifest\": {\r\n      \"jobs\": [\r\n        {\r\n          \"name\": \"cleanup\"\r\n        },\r\n        {\r\n          \"name\": \"nightly\",\r\n          \"schedule\": \"0 0 * * *\",\r\n          \"priority\": 5\r\n        }\r\n      ]\r\n    }\r\n  }\r\n}\r\n"
    );
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
}

#[test]
fn no_trailing_newline_stays_without_one() {
    let before =
        "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": []\n    }\n  }\n}";
    let after = add(before);
    assert!(after.ends_with("\n  }\n}"), "{after:?}");
}

#[test]
fn inline_empty_jobs_array_becomes_a_block() {
    let before = "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"name\": \"demo\",\n      \"jobs\": []\n    }\n  }\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"name\": \"demo\",\n      \"jobs\": [\n        {\n          \"name\": \"nightly\",\n          \"schedule\": \"0 0 * * *\",\n          \"priority\": 5\n        }\n      ]\n    }\n  }\n}\n"
    );
}

#[test]
fn missing_module_manifest_is_created() {
    let before = "{\n  \"name\": \"demo\",\n  \"webstir\": {\n    \"mode\": \"api\"\n  },\n  \"scripts\": {}\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"name\": \"demo\",\n  \"webstir\": {\n    \"mode\": \"api\",\n    \"moduleManifest\": {\n      \"jobs\": [\n        {\n          \"name\": \"nightly\",\n          \"schedule\": \"0 0 * * *\",\n          \"priority\": 5\n        }\n      ]\n    }\n  },\n  \"scripts\": {}\n}\n"
    );
}

#[test]
fn missing_jobs_array_is_created_after_the_other_keys() {
    let before = "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"name\": \"demo\",\n      \"capabilities\": []\n    }\n  }\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"name\": \"demo\",\n      \"capabilities\": [],\n      \"jobs\": [\n        {\n          \"name\": \"nightly\",\n          \"schedule\": \"0 0 * * *\",\n          \"priority\": 5\n        }\n      ]\n    }\n  }\n}\n"
    );
}

#[test]
fn unrelated_keys_values_and_order_are_untouched() {
    // Unusual but valid JSON: escapes, unsorted keys, odd spacing, numbers in exotic forms.
    let before = "{\n  \"z\": 1e3,\n  \"a\" :  [1,2,  3],\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": [\n        { \"name\": \"cleanup\" }\n      ]\n    },\n    \"mode\": \"api\"\n  },\n  \"m\": \"\\u00e9\\n\",\n  \"b\": {\"nested\":true}\n}\n";
    let after = add(before);
    assert!(after.starts_with("{\n  \"z\": 1e3,\n  \"a\" :  [1,2,  3],\n"));
    assert!(after.ends_with(
        "    \"mode\": \"api\"\n  },\n  \"m\": \"\\u00e9\\n\",\n  \"b\": {\"nested\":true}\n}\n"
    ));
}

#[test]
fn every_manifest_init_and_add_job_write_matches_the_schema() {
    let fx = Fixture::init();
    manifest_of(&fx.package_json());
    fx.cmd()
        .args([
            "add-job",
            "a",
            "--schedule",
            "@hourly",
            "--schedule",
            "@daily",
        ])
        .args([
            "--description",
            "d",
            "--priority",
            "high",
            "--timezone",
            "UTC",
        ])
        .assert()
        .success();
    fx.cmd()
        .args(["add-job", "b", "--priority", "-7"])
        .assert()
        .success();
    let manifest = fx.manifest();
    assert_eq!(manifest["jobs"].as_array().map(Vec::len), Some(2));
}

#[test]
fn the_schema_and_the_manifest_reader_reject_the_same_jobs() {
    use serde_json::json;
    let bad = [
        json!({ "jobs": [{}] }),
        json!({ "jobs": [{ "name": "x", "extra": 1 }] }),
        json!({ "jobs": [{ "name": "x", "schedule": 5 }] }),
        json!({ "jobs": [{ "name": "x", "schedule": [] }] }),
        json!({ "jobs": [{ "name": "x", "priority": 1.5 }] }),
        json!({ "jobs": [{ "name": "x", "tenants": "a" }] }),
        json!({ "jobs": [{ "name": "x", "description": "" }] }),
        json!({ "jobs": [{ "name": "x", "description": "  " }] }),
        json!({ "jobs": [{ "name": "x", "priority": "" }] }),
        json!({ "jobs": [{ "name": "x".repeat(65) }] }),
    ];
    let unsafe_names = [
        "", "  ", ".", "..", "../etc", "a/b", "a\\b", "a\u{1}b", "a\u{7f}", "a?b", "a<b", "a|b",
    ];
    // Names `add-job` refuses: device names, generated files, skipped folders (issue 10).
    let reserved_names = [
        "con",
        "CON",
        "Com1",
        "lpt9",
        "-nul",
        "scheduler",
        "Scheduler",
        "SCHEDULER",
        "_scheduler_",
        "scheduler.js",
        "Scheduler.JS",
        "scheduler_js",
        "schedulerJs",
        "webstir-runner.mjs",
        "webstir",
        "Webstir",
        "webstir_x",
        "webstirNext",
        "WEBSTIR-X",
        "WEBSTIRNext",
        "node_modules",
        "NodeModules",
        "node-modules",
        "NODE_MODULES",
        // Letters and digits outside ASCII survive snake_casing, so add-job refuses them.
        "café",
        "Jobs²",
        "日报",
    ];
    let bad = bad
        .into_iter()
        .chain(unsafe_names.map(|name| json!({ "jobs": [{ "name": name }] })))
        .chain(reserved_names.map(|name| json!({ "jobs": [{ "name": name }] })));
    for manifest in bad {
        assert!(
            !schema_errors(&manifest).is_empty(),
            "schema accepted {manifest}"
        );
        let package = json!({ "webstir": { "moduleManifest": manifest } }).to_string();
        let read = webstir::manifest::Manifest::from_package_json(&package).expect("JSON");
        assert!(read.has_errors(), "reader accepted {manifest}");
    }
    let good = [
        json!({
            "jobs": [{ "name": "x", "schedule": ["@daily"], "priority": "low", "timeout": "30s", "tenants": ["a"] }]
        }),
        // Names the reader takes as they are (the scheduler matches them in snake_case).
        json!({ "jobs": [{ "name": "Send Daily" }, { "name": "a.b" }] }),
        // Near misses of the reserved names.
        json!({ "jobs": [
            { "name": "schedulers" }, { "name": "scheduler2" }, { "name": "my_scheduler" },
            { "name": "SCHEDULERJS" }, { "name": "webstirs" }, { "name": "webstir2" },
            { "name": "WEBSTIRSX" }, { "name": "modules" }, { "name": "console" }, { "name": "com10" },
            { "name": "tenants" }, { "name": "a–b" }
        ] }),
    ];
    for manifest in good {
        assert_valid_manifest(&manifest);
        let package = json!({ "webstir": { "moduleManifest": manifest } }).to_string();
        let read = webstir::manifest::Manifest::from_package_json(&package).expect("JSON");
        assert!(
            !read.has_errors(),
            "reader refused {manifest}: {:?}",
            read.diagnostics
        );
    }
}

#[test]
fn a_minified_file_stays_on_one_line() {
    let before = r#"{"name":"x","webstir":{"mode":"api"}}"#;
    assert_eq!(
        add(before),
        r#"{"name":"x","webstir":{"mode":"api","moduleManifest":{"jobs":[{"name":"nightly","schedule":"0 0 * * *","priority":5}]}}}"#
    );
    let before = r#"{"webstir":{"moduleManifest":{"jobs":[{"name":"a"}]}}}"#;
    assert_eq!(
        add(before),
        r#"{"webstir":{"moduleManifest":{"jobs":[{"name":"a"},{"name":"nightly","schedule":"0 0 * * *","priority":5}]}}}"#
    );
}

#[test]
fn one_line_objects_in_a_formatted_file_keep_their_line() {
    let before = "{\n  \"webstir\": { \"mode\": \"api\" },\n  \"z\": 1\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"webstir\": { \"mode\": \"api\", \"moduleManifest\": {\"jobs\": [{\"name\": \"nightly\", \"schedule\": \"0 0 * * *\", \"priority\": 5}]} },\n  \"z\": 1\n}\n"
    );
    let before = "{\n  \"webstir\": { \"moduleManifest\": { \"jobs\": [] } }\n}\n";
    assert_eq!(
        add(before),
        "{\n  \"webstir\": { \"moduleManifest\": { \"jobs\": [{\"name\": \"nightly\", \"schedule\": \"0 0 * * *\", \"priority\": 5}] } }\n}\n"
    );
}

#[test]
fn strings_are_escaped_in_both_layouts() {
    for before in [
        "{\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": []\n    }\n  }\n}\n",
        r#"{"webstir":{}}"#,
    ] {
        let fx = Fixture::with_package_json(before);
        let description = "say \"hi\" \\ to\u{1}everyone";
        fx.cmd()
            .args(["add-job", "quoted", "--description", description])
            .assert()
            .success();
        assert_only_inserted(before, &fx.package_json());
        assert_eq!(fx.jobs()[0]["description"], description);
    }
}

#[test]
fn a_byte_order_mark_is_read_past_and_kept() {
    let before = "\u{feff}{\n  \"name\": \"bom\",\n  \"webstir\": {\n    \"moduleManifest\": {\n      \"jobs\": []\n    }\n  }\n}\n";
    let fx = Fixture::with_package_json(before);
    fx.cmd().args(["add-job", "cleanup"]).assert().success();
    let after = fx.package_json();
    assert!(after.starts_with('\u{feff}'), "{after:?}");
    assert_only_inserted(before, &after);
    assert_eq!(
        manifest_of(after.trim_start_matches('\u{feff}'))["jobs"],
        serde_json::json!([{ "name": "cleanup" }])
    );
    let out = stdout_of(fx.cmd().arg("backend-inspect"));
    assert!(out.starts_with("workspace: bom\n"), "{out}");
    assert!(out.contains("jobs: 1\n  - cleanup\n"), "{out}");
}
