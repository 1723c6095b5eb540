//! A real temporary workspace for the `webstir build` tests, with two TypeScript jobs written
//! the way users write them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use tempfile::TempDir;

pub const PACKAGE_JSON: &str = r#"{
  "name": "jobs-app",
  "type": "module",
  "webstir": {
    "moduleManifest": {
      "jobs": [
        { "name": "nightly", "schedule": "0 0 * * *", "description": "Nightly maintenance window" },
        { "name": "typed" }
      ]
    }
  }
}
"#;

/// The job that imports a helper module from `src/backend/` without an extension.
pub const NIGHTLY: &str = r#"import { createDatabaseClient } from '../../db/connection';
import { pathToFileURL } from 'node:url';

export async function run(): Promise<void> {
  const db = await createDatabaseClient();
  const rows = await db.query('select id from sessions where expires_at < now()');
  console.info(`[nightly] cleaned ${rows.length} sessions`);
  await db.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
"#;

pub const CONNECTION: &str = r#"export interface Row {
  id: number;
}

export interface DatabaseClient {
  query(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

export async function createDatabaseClient(): Promise<DatabaseClient> {
  const rows: Row[] = [{ id: 1 }, { id: 2 }];
  return {
    async query(_sql: string) {
      return rows;
    },
    async close() {},
  };
}
"#;

/// A type-heavy (enum-free) module: interfaces, generics, type-only exports.
pub const TYPES: &str = r#"export interface Report<T extends object = Record<string, unknown>> {
  title: string;
  items: readonly T[];
}

export type Totals = { count: number; sum: number };
export type { Report as Summary };
export const unit = 'ms' as const;
"#;

/// The job using it: `import type`, generics, `as`, `satisfies`, `!`, abstract classes.
pub const TYPED: &str = r#"import type { Report, Totals } from './types';
import { unit } from './types';
import { pathToFileURL } from 'node:url';

function total<T extends { value: number }>(items: readonly T[]): Totals {
  return items.reduce<Totals>(
    (acc, item) => ({ count: acc.count + 1, sum: acc.sum + item.value }),
    { count: 0, sum: 0 },
  );
}

abstract class Named {
  abstract name(): string;
  describe(this: Named): string {
    return this.name();
  }
}

class Title extends Named {
  name(): string {
    return 'typed';
  }
}

const report = {
  title: new Title().describe(),
  items: [{ value: 2 }, { value: 3 }],
} satisfies Report<{ value: number }>;

export async function run(): Promise<void> {
  const totals = total(report.items) as Totals;
  const label: string = report.title!;
  console.info(`[typed] ${label}: ${totals.count} items, sum ${totals.sum}${unit}`);
}

export type { Totals };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
"#;

pub struct Ws {
    /// Keeps the temporary folder alive; the workspace is `root`, inside it.
    _dir: TempDir,
    root: PathBuf,
}

impl Ws {
    /// An empty workspace: `package.json` and nothing else.
    pub fn empty() -> Ws {
        let ws = Ws::in_target_dir(|dir| dir.to_path_buf());
        ws.write("package.json", PACKAGE_JSON);
        ws
    }

    /// A workspace made the way users make one: `webstir init api app`.
    pub fn init_api() -> Ws {
        let ws = Ws::in_target_dir(|dir| dir.join("app"));
        let parent = ws.root.parent().expect("app has a parent").to_path_buf();
        let mut init = Command::cargo_bin("webstir").expect("webstir binary");
        init.current_dir(parent)
            .env_remove("WEBSTIR_WORKSPACE")
            .args(["init", "api", "app"])
            .assert()
            .success();
        ws
    }

    fn in_target_dir(root: impl FnOnce(&Path) -> PathBuf) -> Ws {
        // Inside the target folder, so the build can hard-link the webstir binary rather
        // than copy it.
        let dir = tempfile::Builder::new()
            .prefix("build-test-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp workspace");
        let root = root(dir.path());
        Ws { _dir: dir, root }
    }

    /// A workspace with the two jobs and the helper module.
    pub fn with_jobs() -> Ws {
        let ws = Ws::empty();
        ws.write("src/backend/db/connection.ts", CONNECTION);
        ws.write("src/backend/jobs/nightly/index.ts", NIGHTLY);
        ws.write("src/backend/jobs/typed/types.ts", TYPES);
        ws.write("src/backend/jobs/typed/index.ts", TYPED);
        ws
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("create folders");
        fs::write(path, text).expect("write file");
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// `webstir <args>` run in the workspace.
    pub fn webstir(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("webstir").expect("webstir binary");
        cmd.current_dir(self.root())
            .env_remove("WEBSTIR_WORKSPACE")
            .args(args);
        cmd
    }

    /// `webstir build`, which must succeed; returns its stdout.
    pub fn build(&self) -> String {
        let out = self
            .webstir(&["build"])
            .output()
            .expect("run webstir build");
        assert!(
            out.status.success(),
            "webstir build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// `node <args>` run in the workspace.
    pub fn node(&self, args: &[&str]) -> Output {
        std::process::Command::new("node")
            .current_dir(self.root())
            .args(args)
            .output()
            .expect("node is on PATH")
    }

    /// Every file under `rel` with its content and modification time.
    pub fn snapshot(&self, rel: &str) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
        let mut files = BTreeMap::new();
        collect(&self.path(rel), self.root(), &mut files);
        files
    }

    /// Moves every file's (but the scheduler binary's) modification time under `rel` far into
    /// the past, so that a rewrite, however fast, shows up as a new time.
    pub fn age(&self, rel: &str) {
        self.set_modified(
            rel,
            SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800),
        );
    }

    /// Sets the modification time of every file under `rel` but the scheduler binary: that is
    /// a hard link to the webstir binary under test, and a new time would make cargo relink it.
    pub fn set_modified(&self, rel: &str, time: SystemTime) {
        for path in self.snapshot(rel).keys() {
            if path.file_name().is_some_and(|n| n == "scheduler") {
                continue;
            }
            let file = fs::File::options()
                .write(true)
                .open(self.root().join(path))
                .expect("open for set_modified");
            file.set_modified(time).expect("set mtime");
        }
    }
}

fn collect(dir: &Path, root: &Path, files: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            collect(&path, root, files);
        } else if meta.is_file() {
            // The scheduler binary is the (large) webstir binary; its size and time suffice.
            let content = if path.file_name().is_some_and(|n| n == "scheduler") {
                meta.len().to_le_bytes().to_vec()
            } else {
                fs::read(&path).expect("read")
            };
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            files.insert(rel, (content, meta.modified().expect("mtime")));
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replaces the one volatile part of a summary line, the time (`... in 12ms`).
pub fn without_time(line: &str) -> String {
    let newline = if line.ends_with('\n') { "\n" } else { "" };
    match line.rsplit_once(" in ") {
        Some((head, tail)) if tail.trim_end().ends_with("ms") => format!("{head} in Nms{newline}"),
        _ => line.to_owned(),
    }
}
