//! The fast paths for large manifests (issue 14) print and write what the general ones do:
//! `scheduler --list` writes its lines straight from the planned jobs, `backend-inspect` checks
//! job folders against one listing of `src/backend/jobs`, and `add-job` reads package.json once
//! for the taken name and the insertion point. Each is checked on a file with the shapes those
//! paths must get right: a byte-order mark, CRLF, tabs, repeated keys, escapes in keys and names.

mod manifest_support;

use std::fs;
use std::os::unix::fs::symlink;

use chrono::{Datelike, Utc};
use manifest_support::*;
use serde_json::Value;

/// A package.json as a hand-edited file might be: a byte-order mark, CRLF line ends, tabs, an
/// earlier `webstir` and `jobs` of other types (the last of a repeated key wins), escapes in
/// keys, names and descriptions, a repeated key in an entry, space before colons.
const ODD: &str = concat!(
    "\u{feff}{\r\n\t\"name\": \"odd\",\r\n\t\"webstir\": 1,\r\n\t\"webstir\": {\r\n",
    "\t\t\"mode\": \"api\",\r\n",
    "\t\t\"moduleManifest\": {\"jobs\": \"not yet\", \"version\": 1E2,\r\n\t\t\t\"jobs\": [\r\n",
    "\t\t\t\t{\"name\": \"job_\\u0061\", \"schedule\": \"0 0 1 1 *\", ",
    "\"description\": \"caf\\u00e9 \\\"quoted\\\" \\ud83d\\ude00\"},\r\n",
    "\t\t\t\t{\"n\\u0061me\": \"second\", \"schedule\": [\"rate(5 minutes)\", \"@yearly\"], ",
    "\"description\": \"x\", \"description\": \"last wins\"},\r\n",
    "\t\t\t\t{\"name\": \"SendDaily\", \"priority\": 3},\r\n",
    "\t\t\t\t{\r\n\t\t\t\t\t\"name\" : \"spaced\" ,\r\n\t\t\t\t\t\"schedule\" : \"rate(1 hour)\"\r\n\t\t\t\t}\r\n",
    "\t\t\t]\r\n\t\t}\r\n\t}\r\n}\r\n"
);

/// The first instant of next year in UTC, as the list prints it.
fn next_new_year() -> String {
    format!("{}-01-01T00:00:00+00:00", Utc::now().year() + 1)
}

#[test]
fn list_of_an_oddly_written_manifest() {
    let fx = Fixture::with_package_json(ODD);
    let before = next_new_year();
    let out = stdout_of(fx.cmd().args(["scheduler", "--list"]));
    let after = next_new_year();
    let expected = |year: &str| {
        format!(
            "- job_a (0 0 1 1 *) — café \"quoted\" 😀 (next run: {year})\n\
             - second (rate(5 minutes), @yearly) — last wins (next run: {year})\n\
             - SendDaily (manual)\n\
             - spaced (rate(1 hour))\n"
        )
    };
    assert!(out == expected(&before) || out == expected(&after), "{out}");
}

/// `--list` prints the line of each entry `--json` shows, for a manifest of the shape bench/run
/// generates (eight schedules, two zones, thousands of jobs in the benchmark; 400 here).
#[test]
fn list_lines_are_the_json_entries_written_out() {
    const SCHEDULES: [&str; 8] = [
        "0 0 * * *",
        "*/5 * * * *",
        "rate(1 minute)",
        "@hourly",
        "30 9 * * 1-5",
        "0 0 13 * 5",
        "15,45 */2 * * *",
        "@daily",
    ];
    let jobs: Vec<Value> = (0..400)
        .map(|i| {
            let mut job = serde_json::json!({ "name": format!("job_{i:05}") });
            if i % 7 != 3 {
                job["schedule"] = SCHEDULES[i % SCHEDULES.len()].into();
            }
            if i % 5 != 0 {
                job["description"] = format!("Job {i}: syncs records").into();
            }
            job["timezone"] = if i % 2 == 1 {
                "Europe/London"
            } else {
                "America/New_York"
            }
            .into();
            job
        })
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "name": "bench",
        "webstir": { "mode": "api", "moduleManifest": { "jobs": jobs } },
    }))
    .expect("JSON");
    let fx = Fixture::with_package_json(&text);
    let json = || stdout_of(fx.cmd().args(["scheduler", "--json"]));
    // Next runs move with the clock: the list is compared with the JSON taken on both sides of
    // it, and taken again in the rare case that a fire time passed in between.
    for _ in 0..5 {
        let first = json();
        let list = stdout_of(fx.cmd().args(["scheduler", "--list"]));
        if json() != first {
            continue;
        }
        let entries: Vec<Value> = serde_json::from_str(&first).expect("JSON entries");
        let expected: String = entries.iter().map(|e| format!("{}\n", line(e))).collect();
        assert_eq!(list, expected);
        assert_eq!(list.lines().count(), 400);
        return;
    }
    panic!("the next runs kept moving between runs");
}

/// An entry of `--json` as its `--list` line: `- <name> (<schedules>|manual) — <description>
/// (next run: <time>)`.
fn line(entry: &Value) -> String {
    let schedules = match &entry["schedule"] {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "manual".to_owned(),
    };
    let mut line = format!("- {} ({schedules})", entry["name"].as_str().expect("name"));
    if let Some(description) = entry["description"].as_str() {
        line.push_str(&format!(" — {description}"));
    }
    if let Some(next) = entry["nextRun"].as_str() {
        line.push_str(&format!(" (next run: {next})"));
    }
    line
}

/// Every kind of thing that can stand where a job's source folder belongs, found in one listing
/// of `src/backend/jobs`: a folder with an entry file (or a link to one), a folder without one
/// (or with a folder named like one), a link to a folder, a plain file, nothing.
/// A workspace whose manifest lists jobs of these names (no folders yet), its jobs folder, and a
/// folder outside the workspace holding an `index.ts`, for links to point at.
fn jobs_named(
    package: &str,
    names: impl Iterator<Item = String>,
) -> (Fixture, std::path::PathBuf, std::path::PathBuf) {
    let jobs: Vec<Value> = names
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "name": package,
        "webstir": { "moduleManifest": { "jobs": jobs } },
    }))
    .expect("JSON");
    let fx = Fixture::with_package_json(&text);
    let jobs_dir = fx.root.join("src/backend/jobs");
    let outside = fx.temp.path().join("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    fs::write(outside.join("index.ts"), "export function run() {}\n").expect("write");
    (fx, jobs_dir, outside)
}

#[test]
fn inspect_tells_each_kind_of_job_folder() {
    let names = [
        "with_entry",
        "with_mjs",
        "linked_entry",
        "no_entry",
        "entry_is_a_folder",
        "linked_folder",
        "plain_file",
        "absent",
    ];
    let (fx, jobs_dir, outside) = jobs_named("kinds", names.iter().map(|name| name.to_string()));
    for name in [
        "with_entry",
        "with_mjs",
        "linked_entry",
        "no_entry",
        "entry_is_a_folder",
    ] {
        fs::create_dir_all(jobs_dir.join(name)).expect("mkdir");
    }
    fs::write(jobs_dir.join("with_entry/index.ts"), "export {};\n").expect("write");
    fs::write(jobs_dir.join("with_mjs/index.mjs"), "export {};\n").expect("write");
    symlink(
        outside.join("index.ts"),
        jobs_dir.join("linked_entry/index.ts"),
    )
    .expect("symlink");
    fs::write(jobs_dir.join("no_entry/notes.md"), "").expect("write");
    fs::create_dir(jobs_dir.join("entry_is_a_folder/index.ts")).expect("mkdir");
    symlink(&outside, jobs_dir.join("linked_folder")).expect("symlink");
    fs::write(jobs_dir.join("plain_file"), "").expect("write");

    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1, "{report:#}");
    let has_source: Vec<(&str, bool)> = report["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["name"].as_str().expect("name"),
                j["hasSource"].as_bool().expect("hasSource"),
            )
        })
        .collect();
    assert_eq!(
        has_source,
        [
            ("with_entry", true),
            ("with_mjs", true),
            ("linked_entry", true),
            ("no_entry", true),
            ("entry_is_a_folder", true),
            ("linked_folder", false),
            ("plain_file", false),
            ("absent", false),
        ]
    );
    let problems: Vec<(&str, &str, &str)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["job"].as_str().unwrap_or(""),
                d["code"].as_str().expect("code"),
                d["message"].as_str().expect("message"),
            )
        })
        .collect();
    let entry_files = "index.ts, index.tsx, index.mts, index.js, index.jsx, index.mjs";
    assert_eq!(
        problems,
        [
            (
                "no_entry",
                "missing-entry",
                &*format!(
                    "`src/backend/jobs/no_entry/` has no entry file ({entry_files}); create \
                     `src/backend/jobs/no_entry/index.ts` exporting `run()`"
                )
            ),
            (
                "entry_is_a_folder",
                "missing-entry",
                &*format!(
                    "`src/backend/jobs/entry_is_a_folder/` has no entry file ({entry_files}); \
                     create `src/backend/jobs/entry_is_a_folder/index.ts` exporting `run()`"
                )
            ),
            (
                "linked_folder",
                "missing-source",
                "`src/backend/jobs/linked_folder` is a symbolic link; webstir does not follow \
                 links out of the workspace"
            ),
            (
                "plain_file",
                "missing-source",
                "no source folder `src/backend/jobs/plain_file/`; create \
                 `src/backend/jobs/plain_file/index.ts` exporting `run()`"
            ),
            (
                "absent",
                "missing-source",
                "no source folder `src/backend/jobs/absent/`; create \
                 `src/backend/jobs/absent/index.ts` exporting `run()`"
            ),
        ]
    );
}

/// Thousands of jobs: the entry files are looked up on several threads, and each answer still
/// lands on its own job, in manifest order.
#[test]
fn inspect_of_thousands_of_job_folders_keeps_each_answer_with_its_job() {
    const JOBS: usize = 3000;
    let name = |i: usize| format!("job_{i:04}");
    let (fx, jobs_dir, outside) = jobs_named("many", (0..JOBS).map(name));
    // By i % 5: an index.ts, a folder without entry, nothing, an index.js, a linked folder.
    for i in 0..JOBS {
        let dir = jobs_dir.join(name(i));
        match i % 5 {
            0 | 3 => {
                fs::create_dir_all(&dir).expect("mkdir");
                let file = if i % 5 == 0 { "index.ts" } else { "index.js" };
                fs::write(dir.join(file), "export {};\n").expect("write");
            }
            1 => fs::create_dir_all(&dir).expect("mkdir"),
            2 => {}
            _ => symlink(&outside, &dir).expect("symlink"),
        }
    }
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1);
    let listed = report["jobs"].as_array().expect("jobs");
    assert_eq!(listed.len(), JOBS);
    for (i, job) in listed.iter().enumerate() {
        assert_eq!(job["name"], name(i).as_str());
        assert_eq!(job["hasSource"], i % 5 <= 1 || i % 5 == 3, "{job}");
    }
    let problems: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["job"].as_str().unwrap_or("").to_owned(),
                d["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = (0..JOBS)
        .filter_map(|i| match i % 5 {
            1 => Some((name(i), "missing-entry".to_owned())),
            2 | 4 => Some((name(i), "missing-source".to_owned())),
            _ => None,
        })
        .collect();
    assert_eq!(problems, expected);
}

/// Without a `src/backend/jobs` folder to list, every job is reported without its folder.
#[test]
fn inspect_without_a_jobs_folder() {
    let fx = Fixture::with_package_json(
        r#"{"webstir": {"moduleManifest": {"jobs": [{"name": "a"}, {"name": "b"}]}}}"#,
    );
    let (report, code) = inspect_json(&fx);
    assert_eq!(code, 1, "{report:#}");
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["missing-source", "missing-source"]);
}

/// `add-job` in the oddly written file: a name taken under an escaped key is found, and a new
/// job is appended in the file's own layout, the mark and CRLF kept, nothing else changed.
#[test]
fn add_job_reads_an_oddly_written_file_once() {
    let fx = Fixture::with_package_json(ODD);
    let stderr = rejected(fx.cmd().args(["add-job", "Second"]), 1);
    assert_eq!(stderr, "webstir: error: Job 'second' already exists.\n");
    let stderr = rejected(fx.cmd().args(["add-job", "send-daily"]), 1);
    assert_eq!(stderr, "webstir: error: Job 'SendDaily' already exists.\n");
    assert_eq!(fx.package_json(), ODD, "a refused add-job changes nothing");

    fx.cmd()
        .args(["add-job", "nightly", "--schedule", "0 0 * * *"])
        .assert()
        .success();
    let expected = ODD.replace(
        "\t\t\t\t\t\"schedule\" : \"rate(1 hour)\"\r\n\t\t\t\t}\r\n",
        "\t\t\t\t\t\"schedule\" : \"rate(1 hour)\"\r\n\t\t\t\t},\r\n\t\t\t\t{\r\n\
         \t\t\t\t\t\"name\": \"nightly\",\r\n\t\t\t\t\t\"schedule\": \"0 0 * * *\"\r\n\t\t\t\t}\r\n",
    );
    assert_ne!(expected, ODD);
    assert_eq!(fx.package_json(), expected);
}
