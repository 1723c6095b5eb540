//! `webstir build` on real temporary workspaces, with the output run by real Node.js.

mod build_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use build_support::{Ws, stderr, stdout, without_time};
use predicates::prelude::*;

#[test]
fn built_jobs_run_under_node() {
    let ws = Ws::with_jobs();
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (0 unchanged) in Nms\n"
    );

    let nightly = ws.node(&["build/backend/jobs/nightly/index.js"]);
    assert!(nightly.status.success(), "{}", stderr(&nightly));
    assert_eq!(stdout(&nightly), "[nightly] cleaned 2 sessions\n");

    let typed = ws.node(&["build/backend/jobs/typed/index.js"]);
    assert!(typed.status.success(), "{}", stderr(&typed));
    assert_eq!(stdout(&typed), "[typed] typed: 2 items, sum 5ms\n");
}

#[test]
fn output_is_javascript_with_rewritten_specifiers_and_source_maps() {
    let ws = Ws::with_jobs();
    ws.build();
    let js = ws.read("build/backend/jobs/nightly/index.js");
    assert!(js.contains("from \"../../db/connection.js\""), "{js}");
    assert!(!js.contains("Promise<void>"), "{js}");
    assert!(js.ends_with("//# sourceMappingURL=index.js.map\n"), "{js}");

    let map: serde_json::Value =
        serde_json::from_str(&ws.read("build/backend/jobs/nightly/index.js.map")).expect("json");
    assert_eq!(map["version"], 3);
    assert_eq!(map["file"], "index.js");
    assert_eq!(
        map["sources"][0],
        "../../../../src/backend/jobs/nightly/index.ts"
    );
    assert!(!map["mappings"].as_str().expect("mappings").is_empty());

    let typed = ws.read("build/backend/jobs/typed/index.js");
    assert!(!typed.contains("import type"), "{typed}");
    assert!(!typed.contains("satisfies"), "{typed}");
    // Type-only modules still emit a (nearly empty) module that Node can import.
    assert!(ws.path("build/backend/jobs/typed/types.js").is_file());
}

#[test]
fn folder_ts_extension_and_dynamic_imports_resolve_to_emitted_files() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/lib/index.ts",
        "export const lib: string = 'lib';\n",
    );
    ws.write("src/backend/lazy.mts", "export const lazy = 'lazy';\n");
    ws.write("src/backend/data.json", "{ \"n\": 7 }\n");
    ws.write("src/backend/plain.js", "export const plain = 'plain';\n");
    ws.write(
        "src/backend/main.ts",
        "import { lib } from './lib';\nimport { plain } from './plain.js';\nimport { lazy as eager } from './lazy.mts';\nconst { lazy } = await import('./lazy');\nconsole.log(lib, plain, eager, lazy);\n",
    );
    ws.build();
    let out = ws.node(&["build/backend/main.js"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "lib plain lazy lazy\n");
    assert_eq!(ws.read("build/backend/data.json"), "{ \"n\": 7 }\n");
    assert!(ws.path("build/backend/lazy.mjs").is_file());
}

#[test]
fn enums_namespaces_and_parameter_properties_are_lowered() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/main.ts",
        "enum Level { Low = 1, High }\nnamespace Config { export const name = 'cfg'; }\nclass Job { constructor(private readonly id: number) {} show() { return this.id; } }\nconsole.log(Level.High, Level[1], Config.name, new Job(9).show());\n",
    );
    ws.build();
    let out = ws.node(&["build/backend/main.js"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "2 Low cfg 9\n");
}

#[test]
fn unchanged_rebuild_rewrites_no_file() {
    let ws = Ws::with_jobs();
    ws.build();
    ws.age("build");
    let before = ws.snapshot("build");
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (4 unchanged) in Nms\n"
    );
    assert_eq!(ws.snapshot("build"), before);
}

#[test]
fn a_changed_source_rewrites_only_its_own_output() {
    let ws = Ws::with_jobs();
    ws.build();
    ws.age("build");
    let before = ws.snapshot("build");
    ws.write(
        "src/backend/jobs/nightly/index.ts",
        &build_support::NIGHTLY.replace("cleaned", "swept"),
    );
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (3 unchanged) in Nms\n"
    );
    let after = ws.snapshot("build");
    let changed: Vec<String> = after
        .iter()
        .filter(|(path, entry)| before.get(*path) != Some(*entry))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert_eq!(
        changed,
        [
            "build/backend/.webstir-build.json",
            "build/backend/jobs/nightly/index.js",
            "build/backend/jobs/nightly/index.js.map",
        ]
    );
    let out = ws.node(&["build/backend/jobs/nightly/index.js"]);
    assert_eq!(stdout(&out), "[nightly] swept 2 sessions\n");
}

#[test]
fn deleted_sources_lose_their_output_and_foreign_files_stay() {
    let ws = Ws::with_jobs();
    ws.build();
    ws.write("build/backend/jobs/typed/notes.txt", "mine\n");
    ws.write("build/backend/extra.js", "// written by hand\n");
    fs::remove_file(ws.path("src/backend/jobs/nightly/index.ts")).expect("delete source");
    fs::remove_file(ws.path("src/backend/jobs/typed/index.ts")).expect("delete source");

    assert_eq!(
        without_time(&ws.build()),
        "built 2 files (2 unchanged, 2 removed) in Nms\n"
    );
    assert!(!ws.path("build/backend/jobs/nightly").exists());
    assert!(!ws.path("build/backend/jobs/typed/index.js").exists());
    assert!(!ws.path("build/backend/jobs/typed/index.js.map").exists());
    assert_eq!(ws.read("build/backend/jobs/typed/notes.txt"), "mine\n");
    assert_eq!(ws.read("build/backend/extra.js"), "// written by hand\n");
    assert!(ws.path("build/backend/jobs/typed/types.js").is_file());
}

#[test]
fn a_syntax_error_reports_file_line_column_and_keeps_the_previous_output() {
    let ws = Ws::with_jobs();
    ws.build();
    let good = ws.read("build/backend/jobs/nightly/index.js");
    ws.write(
        "src/backend/jobs/nightly/index.ts",
        "export async function run(): Promise<void> {\n  const count: number = 1 2;\n}\n",
    );
    ws.write("src/backend/jobs/fresh/index.ts", "export const = 1;\n");

    let out = ws.webstir(&["build"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "src/backend/jobs/fresh/index.ts:1:14: error: Unexpected token\n 1 | export const = 1;\n   |              ^\n\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "src/backend/jobs/nightly/index.ts:2:26: error: Expected a semicolon or an implicit semicolon after a statement, but found none\n 2 |   const count: number = 1 2;\n   |                          ^\n"
        ),
        "{err}"
    );
    let last = err.lines().last().expect("summary line");
    assert!(
        last.starts_with(
            "webstir: error: build failed: 2 errors in 2 files; built 3 files (3 unchanged) in "
        ),
        "{err}"
    );
    assert_eq!(ws.read("build/backend/jobs/nightly/index.js"), good);
    assert!(!ws.path("build/backend/jobs/fresh").exists());

    // Once fixed, the files build again; nightly's output is what it was, so it is not rewritten.
    ws.write("src/backend/jobs/nightly/index.ts", build_support::NIGHTLY);
    ws.write(
        "src/backend/jobs/fresh/index.ts",
        "export const fresh = 1;\n",
    );
    assert_eq!(
        without_time(&ws.build()),
        "built 5 files (4 unchanged) in Nms\n"
    );
    assert!(ws.path("build/backend/jobs/fresh/index.js").is_file());
}

#[test]
fn an_unresolvable_relative_import_is_an_error_with_its_location() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/a.ts",
        "import { x } from './missing';\nconsole.log(x);\n",
    );
    ws.webstir(&["build"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "src/backend/a.ts:1:19: error: cannot find module `./missing` (looked for ./missing.ts, ./missing.tsx, ./missing.mts, ./missing.js, ./missing.jsx, ./missing.mjs, ./missing/index.ts, ./missing/index.tsx, ./missing/index.mts, ./missing/index.js, ./missing/index.jsx, ./missing/index.mjs)\n",
        ));
    assert!(!ws.path("build/backend/a.js").exists());
}

#[test]
fn decorators_are_rejected_with_a_clear_error() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/a.ts",
        "function d(_: unknown) {}\n@d\nclass A {}\n",
    );
    ws.webstir(&["build"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "src/backend/a.ts:2:1: error: decorators are not supported",
        ));
}

#[test]
fn two_sources_emitting_the_same_file_are_an_error() {
    let ws = Ws::empty();
    ws.write("src/backend/a.js", "export const a = 'js';\n");
    ws.write("src/backend/a.ts", "export const a = 'ts';\n");
    ws.webstir(&["build"]).assert().code(1).stderr(predicate::str::contains(
        "src/backend/a.ts:1:1: error: `src/backend/a.js` and this file both emit `build/backend/a.js`; rename or remove one",
    ));
    assert_eq!(ws.read("build/backend/a.js"), "export const a = 'js';\n");
}

#[test]
fn runtime_backend_is_accepted_and_others_are_usage_errors() {
    let ws = Ws::with_jobs();
    ws.webstir(&["build", "--runtime", "frontend"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'frontend' for '--runtime <RUNTIME>'",
        ))
        .stderr(predicate::str::contains("[possible values: backend]"));
    assert!(!ws.path("build").exists());
    ws.webstir(&["build", "--runtime", "backend"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "built 4 files (0 unchanged) in ",
        ));
}

#[test]
fn a_workspace_without_backend_sources_is_an_error_and_nothing_is_written() {
    let ws = Ws::empty();
    ws.webstir(&["build"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "webstir: error: no backend sources: `",
        ))
        .stderr(predicate::str::contains("src/backend` does not exist"));
    assert!(!ws.path("build").exists());
}

#[test]
fn json_output_reports_counts_and_errors() {
    let ws = Ws::with_jobs();
    ws.write("src/backend/bad.ts", "let = ;\n");
    let out = ws.webstir(&["build", "--json"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["files"], 4);
    assert_eq!(report["failed"], 1);
    assert_eq!(report["diagnostics"][0]["path"], "src/backend/bad.ts");
    assert_eq!(report["diagnostics"][0]["line"], 1);
    assert!(report["elapsed_ms"].is_u64());
}

#[test]
fn refuses_a_build_folder_that_links_out_of_the_workspace() {
    let ws = Ws::with_jobs();
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), ws.path("build")).expect("symlink");
    ws.webstir(&["build"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is a symbolic link to"))
        .stderr(predicate::str::contains("outside the workspace"));
    assert_eq!(fs::read_dir(outside.path()).expect("list").count(), 0);
}

#[test]
fn refuses_a_source_that_links_out_of_the_workspace() {
    let ws = Ws::with_jobs();
    let outside = tempfile::tempdir().expect("outside");
    fs::write(outside.path().join("secret.ts"), "export const s = 1;\n").expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("secret.ts"),
        ws.path("src/backend/s.ts"),
    )
    .expect("symlink");
    ws.webstir(&["build"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to follow `"))
        .stderr(predicate::str::contains("outside the workspace"));
    assert!(!ws.path("build/backend/s.js").exists());
}

#[test]
fn generated_scheduler_files_are_in_place() {
    let ws = Ws::with_jobs();
    ws.build();
    let binary = fs::metadata(ws.path("build/backend/jobs/scheduler")).expect("scheduler");
    assert_eq!(binary.permissions().mode() & 0o777, 0o755);
    let webstir = fs::metadata(assert_cmd::cargo::cargo_bin("webstir")).expect("webstir");
    assert_eq!(binary.len(), webstir.len());
    let shim = ws.read("build/backend/jobs/scheduler.js");
    assert!(shim.contains("spawn(binary, process.argv.slice(2), { stdio: 'inherit' })"));
    assert!(ws.path("build/backend/jobs/webstir-runner.mjs").is_file());
}

/// Kills and reaps a child process when a test ends, even when it ends by a failed assertion.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Puts a shell script where the native scheduler goes, to watch what the shim does with it.
fn fake_scheduler(ws: &Ws, script: &str) {
    let path = ws.path("build/backend/jobs/scheduler");
    fs::remove_file(&path).expect("remove the real one");
    fs::write(&path, format!("#!/bin/sh\n{script}")).expect("write script");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn the_shim_passes_arguments_and_stdin_and_returns_the_exit_status() {
    let ws = Ws::with_jobs();
    ws.build();
    fake_scheduler(
        &ws,
        "echo \"args: $*\"; read line; echo \"stdin: $line\" >&2; exit 3\n",
    );
    let out = std::process::Command::new("node")
        .current_dir(ws.root())
        .args([
            "build/backend/jobs/scheduler.js",
            "--job",
            "nightly",
            "--",
            "a b",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(b"hello\n")?;
            child.wait_with_output()
        })
        .expect("run node");
    assert_eq!(stdout(&out), "args: --job nightly -- a b\n");
    assert_eq!(stderr(&out), "stdin: hello\n");
    assert_eq!(out.status.code(), Some(3));
}

/// Sends `signal` to the shim while a fake scheduler traps it as `name` and exits with
/// `code`; the scheduler must see the signal and the shim must exit with its status.
fn shim_passes_on(ws: &Ws, signal: libc::c_int, name: &str, code: i32) {
    use std::io::{BufRead, BufReader};

    fake_scheduler(
        ws,
        &format!(
            "trap 'echo got {name}; exit {code}' {name}\necho ready\nwhile :; do sleep 0.05; done\n"
        ),
    );
    let mut child = KillOnDrop(
        std::process::Command::new("node")
            .current_dir(ws.root())
            .arg("build/backend/jobs/scheduler.js")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run node"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().expect("a line").expect("utf-8"), "ready");
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, signal) };
    assert_eq!(
        lines.next().expect("a line").expect("utf-8"),
        format!("got {name}")
    );
    assert_eq!(child.0.wait().expect("wait").code(), Some(code));
}

#[test]
fn the_shim_forwards_sigterm_and_sigint_and_dies_of_the_schedulers_signal() {
    use std::os::unix::process::ExitStatusExt;

    let ws = Ws::with_jobs();
    ws.build();
    shim_passes_on(&ws, libc::SIGTERM, "TERM", 7);
    // Ctrl-C aimed at the shim alone (say, by a process manager) reaches the scheduler too.
    shim_passes_on(&ws, libc::SIGINT, "INT", 8);

    fake_scheduler(&ws, "kill -TERM $$\n");
    let status = ws.node(&["build/backend/jobs/scheduler.js"]).status;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

#[test]
fn watch_rebuilds_on_change_and_survives_errors() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let ws = Ws::with_jobs();
    let mut child = KillOnDrop(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("webstir"))
            .current_dir(ws.root())
            .env_remove("WEBSTIR_WORKSPACE")
            .args(["build", "--watch", "--runtime", "backend"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start watcher"),
    );
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.0.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.0.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    // Generous: a busy machine may be slow, but the test fails only if nothing comes at all.
    let wait_for = |needle: &str| -> String {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };

    assert_eq!(
        without_time(&wait_for("built ")),
        "built 4 files (0 unchanged) in Nms"
    );
    ws.write(
        "src/backend/jobs/nightly/index.ts",
        &build_support::NIGHTLY.replace("cleaned", "swept"),
    );
    assert_eq!(
        without_time(&wait_for("built ")),
        "built 4 files (3 unchanged) in Nms"
    );
    assert!(
        ws.read("build/backend/jobs/nightly/index.js")
            .contains("swept")
    );

    ws.write("src/backend/jobs/nightly/index.ts", "export const = ;\n");
    wait_for("src/backend/jobs/nightly/index.ts:1:14: error:");
    assert!(wait_for("build failed").contains("1 error in 1 file"));
    assert!(
        child.0.try_wait().expect("poll").is_none(),
        "watcher exited after an error"
    );

    ws.write("src/backend/jobs/nightly/index.ts", build_support::NIGHTLY);
    assert_eq!(
        without_time(&wait_for("built ")),
        "built 4 files (3 unchanged) in Nms"
    );
    assert!(
        ws.read("build/backend/jobs/nightly/index.js")
            .contains("cleaned")
    );
}

#[test]
fn a_tree_large_enough_for_several_threads_builds_completely() {
    let ws = Ws::empty();
    // 100 modules in a chain, each importing the next without an extension.
    for i in 0..100 {
        let body = if i < 99 {
            format!(
                "import {{ depth as next }} from '../m{}/index';\nexport const depth: number = next + 1;\n",
                i + 1
            )
        } else {
            "export const depth: number = 1;\n".to_owned()
        };
        ws.write(&format!("src/backend/m{i}/index.ts"), &body);
    }
    ws.write(
        "src/backend/main.ts",
        "import { depth } from './m0';\nconsole.log(depth);\n",
    );
    assert_eq!(
        without_time(&ws.build()),
        "built 101 files (0 unchanged) in Nms\n"
    );
    let out = ws.node(&["build/backend/main.js"]);
    assert_eq!(stdout(&out), "100\n", "{}", stderr(&out));
    assert_eq!(
        without_time(&ws.build()),
        "built 101 files (101 unchanged) in Nms\n"
    );
}

#[test]
fn sources_with_old_times_are_trusted_until_they_change() {
    let ws = Ws::with_jobs();
    ws.age("src");
    ws.build();
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (4 unchanged) in Nms\n"
    );
    ws.write(
        "src/backend/jobs/typed/index.ts",
        &build_support::TYPED.replace("items, sum", "rows, sum"),
    );
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (3 unchanged) in Nms\n"
    );
    let out = ws.node(&["build/backend/jobs/typed/index.js"]);
    assert_eq!(stdout(&out), "[typed] typed: 2 rows, sum 5ms\n");
}

#[test]
fn source_maps_lead_node_back_to_the_typescript_line() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/boom.ts",
        "interface Input {\n  x: number;\n}\n\nexport function boom(input: Input): never {\n  throw new Error(`boom ${input.x}`);\n}\nboom({ x: 1 } as Input);\n",
    );
    ws.build();
    let out = ws.node(&["--enable-source-maps", "build/backend/boom.js"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("throw new Error(`boom ${input.x}`);"), "{err}");
    // Line and column of both frames: the `throw` inside the function and the call below it.
    assert!(err.contains("at boom ("), "{err}");
    assert!(err.contains("src/backend/boom.ts:6:9)"), "{err}");
    assert!(err.contains("src/backend/boom.ts:8:1)"), "{err}");
}

#[test]
fn commonjs_import_and_export_assignments_are_rejected_with_a_clear_error() {
    let ws = Ws::empty();
    ws.write(
        "src/backend/a.ts",
        "import fs = require('node:fs');\nimport type T = require('node:fs');\nnamespace N { export const n = 1; }\nimport n = N.n;\nconsole.log(typeof fs, n);\nexport = n;\n",
    );
    let out = ws.webstir(&["build"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out)
            .lines()
            .filter(|l| l.starts_with("src/"))
            .collect::<Vec<_>>(),
        [
            "src/backend/a.ts:1:1: error: `import x = require(...)` is CommonJS and cannot run in an ES module; use `import x from '...'` or `import * as x from '...'`",
            "src/backend/a.ts:6:1: error: `export =` is CommonJS and cannot run in an ES module; use `export default`",
        ]
    );
    assert!(!ws.path("build/backend/a.js").exists());
}

/// Regression: sources written just before a build cannot vouch for themselves by their time
/// (git's "racy" rule). Once that window had passed, the next build recorded their times and
/// so rewrote the state file although nothing had changed.
#[test]
fn a_rebuild_after_recent_edits_have_settled_rewrites_no_file() {
    use std::time::{Duration, SystemTime};

    let ws = Ws::with_jobs();
    // Recent enough to be distrusted by the first build, old enough to be trusted soon after.
    let written = SystemTime::now() - Duration::from_millis(1500);
    ws.set_modified("src", written);
    ws.build();
    ws.age("build");
    let before = ws.snapshot("build");
    let settled = written + Duration::from_millis(2100);
    if let Ok(wait) = settled.duration_since(SystemTime::now()) {
        std::thread::sleep(wait);
    }
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (4 unchanged) in Nms\n"
    );
    assert_eq!(ws.snapshot("build"), before);
    // And a later edit is still seen.
    ws.write(
        "src/backend/jobs/nightly/index.ts",
        &build_support::NIGHTLY.replace("cleaned", "swept"),
    );
    assert_eq!(
        without_time(&ws.build()),
        "built 4 files (3 unchanged) in Nms\n"
    );
}

#[test]
fn a_package_without_type_module_builds_with_a_warning() {
    let ws = Ws::with_jobs();
    ws.write(
        "package.json",
        &build_support::PACKAGE_JSON.replace("\"type\": \"module\",", "\"type\": \"commonjs\","),
    );
    let out = ws.webstir(&["build"]).output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "webstir: warning: package.json has `\"type\": \"commonjs\"`: Node.js takes the built `.js` files for CommonJS, but they are ES modules; add `\"type\": \"module\"` (as `webstir init` does)\n"
    );
    let report = ws.webstir(&["build", "--json"]).output().expect("run");
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(report["warnings"].as_array().map(Vec::len), Some(1));

    ws.write("package.json", build_support::PACKAGE_JSON);
    let out = ws.webstir(&["build"]).output().expect("run");
    assert_eq!(stderr(&out), "");
}
