//! Helpers shared by the foundation's integration tests (init, add-job, backend-inspect,
//! manifest formatting): real temp workspaces, the real binary, whole-tree snapshots and the
//! manifest schema.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The real binary, isolated from the caller's environment.
pub fn webstir() -> Command {
    let mut cmd = Command::cargo_bin("webstir").expect("the webstir binary is built for tests");
    cmd.env_remove("WEBSTIR_WORKSPACE").env("TZ", "UTC");
    cmd
}

/// `webstir --workspace <root> <args...>`
pub fn webstir_in(root: &Path) -> Command {
    let mut cmd = webstir();
    cmd.arg("--workspace").arg(root);
    cmd
}

/// A temp folder holding a fresh workspace made by `webstir init api`, at `<temp>/demo`.
pub struct Fixture {
    pub temp: TempDir,
    pub root: PathBuf,
}

impl Fixture {
    pub fn init() -> Fixture {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path().join("demo");
        webstir()
            .arg("init")
            .arg("api")
            .arg(&root)
            .assert()
            .success();
        Fixture { temp, root }
    }

    /// A workspace whose package.json is exactly `text` (nothing else in it).
    pub fn with_package_json(text: &str) -> Fixture {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path().join("demo");
        fs::create_dir(&root).expect("mkdir");
        fs::write(root.join("package.json"), text).expect("write package.json");
        Fixture { temp, root }
    }

    pub fn cmd(&self) -> Command {
        webstir_in(&self.root)
    }

    pub fn package_json(&self) -> String {
        fs::read_to_string(self.root.join("package.json")).expect("read package.json")
    }

    pub fn manifest(&self) -> Value {
        manifest_of(&self.package_json())
    }

    pub fn jobs(&self) -> Vec<Value> {
        self.manifest()["jobs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Snapshot of everything in the temp folder (the workspace and its neighbours).
    pub fn snapshot(&self) -> Snapshot {
        snapshot(self.temp.path())
    }
}

/// `webstir.moduleManifest` of a package.json text, checked against the schema.
pub fn manifest_of(package_json: &str) -> Value {
    let root: Value = serde_json::from_str(package_json).expect("package.json is valid JSON");
    let manifest = root["webstir"]["moduleManifest"].clone();
    assert_valid_manifest(&manifest);
    manifest
}

/// Fails the test when `manifest` breaks `schemas/module-manifest.schema.json`.
pub fn assert_valid_manifest(manifest: &Value) {
    let errors = schema_errors(manifest);
    assert!(
        errors.is_empty(),
        "manifest breaks the schema: {errors:?}\n{manifest:#}"
    );
}

pub fn schema_errors(manifest: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(webstir::manifest::SCHEMA).expect("the schema is valid JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(manifest)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    Symlink(PathBuf),
}

pub type Snapshot = BTreeMap<PathBuf, Entry>;

/// Every path under `dir` with its content (files), target (symlinks) or kind (folders), so
/// that two snapshots are equal exactly when the tree is byte-identical.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut Snapshot) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        let relative = path.strip_prefix(base).expect("under base").to_path_buf();
        let meta = fs::symlink_metadata(&path).expect("metadata");
        if meta.file_type().is_symlink() {
            out.insert(
                relative,
                Entry::Symlink(fs::read_link(&path).expect("link")),
            );
        } else if meta.is_dir() {
            out.insert(relative, Entry::Dir);
            walk(base, &path, out);
        } else {
            out.insert(relative, Entry::File(fs::read(&path).expect("read")));
        }
    }
}

/// Runs `cmd`, expects it to fail with `code`, and returns its stderr.
pub fn rejected(cmd: &mut Command, code: i32) -> String {
    let output = cmd.output().expect("spawn webstir");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected exit {code}; stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

/// stdout of a command that must succeed.
pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("spawn webstir");
    assert!(
        output.status.success(),
        "expected success, got {:?}; stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// `backend-inspect --json` on `fx`: the report (printed even when there are errors) and the
/// exit code.
pub fn inspect_json(fx: &Fixture) -> (Value, i32) {
    let output = fx
        .cmd()
        .args(["backend-inspect", "--json"])
        .output()
        .expect("spawn webstir");
    let report = serde_json::from_slice(&output.stdout).expect("one JSON object, even with errors");
    (report, output.status.code().expect("exit code"))
}
