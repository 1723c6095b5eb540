//! `webstir init api <dir>`: the files it writes, and the folders it refuses.

mod manifest_support;

use std::fs;

use manifest_support::*;
use serde_json::{Value, json};

const FILES: [&str; 7] = [
    "package.json",
    "tsconfig.json",
    "src/backend/index.ts",
    "src/backend/env.ts",
    "src/backend/tenants.ts",
    ".env.example",
    ".gitignore",
];

#[test]
fn creates_an_api_workspace() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("billing-service");
    let out = stdout_of(webstir().arg("init").arg("api").arg(&root));
    assert!(
        out.starts_with(&format!(
            "Created api workspace `billing-service` in {}\n",
            root.display()
        )),
        "{out}"
    );
    for file in FILES {
        assert!(root.join(file).is_file(), "{file} missing");
        assert!(
            out.contains(&format!("  {file}\n")),
            "{file} not listed: {out}"
        );
    }
    let files: Vec<_> = snapshot(&root)
        .into_iter()
        .filter(|(_, e)| matches!(e, Entry::File(_)))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(files.len(), FILES.len(), "{files:?}");

    let package: Value =
        serde_json::from_str(&fs::read_to_string(root.join("package.json")).expect("read"))
            .expect("package.json is JSON");
    assert_eq!(package["name"], "billing-service");
    assert_eq!(package["version"], "1.0.0");
    assert_eq!(package["private"], true);
    assert_eq!(package["type"], "module");
    assert_eq!(package["webstir"]["mode"], "api");
    let manifest = &package["webstir"]["moduleManifest"];
    assert_eq!(
        *manifest,
        json!({
            "contractVersion": "1.0.0",
            "name": "billing-service",
            "version": "1.0.0",
            "kind": "backend",
            "capabilities": [],
            "jobs": []
        })
    );
    assert_valid_manifest(manifest);
}

#[test]
fn generated_files_suit_node_20_esm() {
    let fx = Fixture::init();
    let read = |p: &str| fs::read_to_string(fx.root.join(p)).expect("read");
    let tsconfig: Value = serde_json::from_str(&read("tsconfig.json")).expect("tsconfig is JSON");
    assert_eq!(tsconfig["compilerOptions"]["module"], "NodeNext");
    assert_eq!(tsconfig["compilerOptions"]["moduleResolution"], "NodeNext");
    assert_eq!(tsconfig["include"], json!(["src"]));

    let index = read("src/backend/index.ts");
    assert!(
        index.contains("from './env.js'"),
        "ESM imports need the .js extension"
    );
    assert!(index.contains("from 'node:http'"));
    let env = read("src/backend/env.ts");
    assert!(env.contains("export function requireEnv(name: string): string"));
    for ts in [&index, &env] {
        for construct in ["enum ", "namespace ", "@"] {
            assert!(
                !ts.contains(construct),
                "type-stripping cannot handle `{construct}`"
            );
        }
    }

    let gitignore = read(".gitignore");
    for ignored in ["build/", "node_modules/", ".env"] {
        assert!(
            gitignore.lines().any(|l| l == ignored),
            "{ignored} not ignored"
        );
    }
    assert!(gitignore.lines().any(|l| l == "!.env.example"));
    assert!(read(".env.example").contains("\nPORT=3000\n"));
}

#[test]
fn initializes_an_existing_empty_folder_and_is_found_from_inside() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("My Service");
    fs::create_dir(&root).expect("mkdir");
    webstir()
        .arg("init")
        .arg("api")
        .arg(&root)
        .assert()
        .success();
    let out = stdout_of(
        webstir()
            .current_dir(root.join("src/backend"))
            .arg("backend-inspect"),
    );
    assert!(
        out.starts_with("workspace: my-service\nmode: api\n"),
        "{out}"
    );
}

#[test]
fn refuses_a_non_empty_folder_and_writes_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("taken");
    fs::create_dir(&root).expect("mkdir");
    fs::write(root.join("notes.txt"), "mine").expect("write");
    let before = snapshot(temp.path());
    let stderr = rejected(webstir().arg("init").arg("api").arg(&root), 1);
    assert!(
        stderr.contains("it already contains `notes.txt`"),
        "{stderr}"
    );
    assert!(stderr.contains("use a new or empty folder"), "{stderr}");
    assert_eq!(snapshot(temp.path()), before);
}

#[test]
fn refuses_a_file_and_a_symlink() {
    let temp = tempfile::tempdir().expect("temp dir");
    let file = temp.path().join("file");
    fs::write(&file, "x").expect("write");
    let empty = temp.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    let link = temp.path().join("link");
    std::os::unix::fs::symlink(&empty, &link).expect("symlink");
    let before = snapshot(temp.path());
    let stderr = rejected(webstir().arg("init").arg("api").arg(&file), 1);
    assert!(stderr.contains("it is a file, not a folder"), "{stderr}");
    let stderr = rejected(webstir().arg("init").arg("api").arg(&link), 1);
    assert!(stderr.contains("it is a symbolic link"), "{stderr}");
    assert_eq!(snapshot(temp.path()), before);
}

#[test]
fn refuses_a_folder_under_a_file_naming_the_file() {
    let temp = tempfile::tempdir().expect("temp dir");
    let file = temp.path().join("file");
    fs::write(&file, "x").expect("write");
    let before = snapshot(temp.path());
    let stderr = rejected(webstir().arg("init").arg("api").arg(file.join("a/b")), 1);
    assert!(
        stderr.contains(&format!("`{}` is a file, not a folder", file.display())),
        "{stderr}"
    );
    assert_eq!(snapshot(temp.path()), before);
}

#[test]
fn a_write_that_fails_part_way_leaves_nothing_behind() {
    // With a file-size limit of 0 every file is created but cannot be filled: the first write
    // fails after package.json exists on disk.
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("svc/nested");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("webstir"))
        .args(["init", "api"])
        .arg(&root)
        .output()
        .expect("spawn bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("package.json"), "{stderr}");
    assert!(
        snapshot(temp.path()).is_empty(),
        "{:?}",
        snapshot(temp.path())
    );
}

#[test]
fn dots_in_the_folder_resolve_by_name() {
    let temp = tempfile::tempdir().expect("temp dir");
    let out =
        stdout_of(
            webstir()
                .current_dir(temp.path())
                .args(["init", "api", "./svc/missing/.."]),
        );
    let root = temp.path().join("svc");
    assert!(
        out.starts_with(&format!(
            "Created api workspace `svc` in {}\n",
            root.display()
        )),
        "{out}"
    );
    assert!(!root.join("missing").exists());
    let package: Value =
        serde_json::from_str(&fs::read_to_string(root.join("package.json")).expect("read"))
            .expect("JSON");
    assert_eq!(package["name"], "svc");
    let inspect = stdout_of(
        webstir()
            .current_dir(root.join("src"))
            .args(["--workspace", "../src/.."])
            .arg("backend-inspect"),
    );
    assert!(
        inspect.contains(&format!("\nroot: {}\n", root.display())),
        "{inspect}"
    );
}

#[test]
fn json_output_lists_what_was_created() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().join("svc");
    let out = stdout_of(webstir().args(["init", "api"]).arg(&root).arg("--json"));
    let report: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        report,
        json!({
            "name": "svc",
            "mode": "api",
            "root": root.display().to_string(),
            "files": FILES,
        })
    );
}

#[test]
fn an_unknown_mode_is_a_usage_error_listing_api() {
    let temp = tempfile::tempdir().expect("temp dir");
    let stderr = rejected(
        webstir()
            .current_dir(temp.path())
            .args(["init", "web", "x"]),
        2,
    );
    assert!(stderr.contains("invalid value 'web'"), "{stderr}");
    assert!(stderr.contains("[possible values: api]"), "{stderr}");
    let stderr = rejected(webstir().current_dir(temp.path()).args(["init", "api"]), 2);
    assert!(stderr.contains("<DIR>"), "{stderr}");
    assert!(snapshot(temp.path()).is_empty());
}

#[test]
fn help_shows_examples() {
    let out = stdout_of(webstir().args(["init", "--help"]));
    assert!(
        out.contains("Examples:\n  webstir init api my-service\n"),
        "{out}"
    );
    assert!(
        out.contains("A Node/TypeScript backend API with jobs"),
        "{out}"
    );
}

#[path = "manifest_support/typescript.rs"]
mod typescript;

#[test]
fn the_generated_api_builds_and_serves_its_health_check_in_node() {
    use std::io::{BufRead, BufReader, Read, Write};

    let fx = Fixture::init();
    typescript::build_file(&fx.root, "backend/env");
    typescript::build_file(&fx.root, "backend/index");
    /// Stops the server even when an assertion fails first.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Server(
        std::process::Command::new("node")
            .current_dir(&fx.root)
            .arg("build/backend/index.js")
            .env("PORT", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node (>= 20) is on PATH"),
    );
    let mut first_line = String::new();
    BufReader::new(server.0.stdout.take().expect("piped stdout"))
        .read_line(&mut first_line)
        .expect("read the server's first line");
    let port: u16 = first_line
        .trim_end()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first_line:?}"));
    assert!(first_line.starts_with("[demo] listening on http://localhost:"));

    let mut stream = std::net::TcpStream::connect(("localhost", port)).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    drop(server);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("{\"status\":\"ok\"}"), "{response}");
}
