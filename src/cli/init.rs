use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use super::Context;
use crate::Error;
use crate::workspace::init::init_api;

const AFTER_HELP: &str = "\
Examples:
  webstir init api my-service
  webstir init api ./services/billing
  webstir init api my-service --json

Creates package.json (with webstir.moduleManifest), tsconfig.json, src/backend/index.ts,
src/backend/env.ts, .env.example and .gitignore. DIR must be new or empty; nothing is written
otherwise.

Exit status: 0 created, 1 failure (nothing written), 2 usage error.";

/// Create a new webstir workspace
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Kind of workspace to create
    #[arg(value_enum)]
    pub mode: Mode,
    /// Folder to create it in (created if missing; must be empty if it exists)
    pub dir: PathBuf,
    /// Print what was created as JSON: {name, mode, root, files}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A Node/TypeScript backend API with jobs
    Api,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Api => "api",
        }
    }
}

pub fn execute(args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    let created = match args.mode {
        Mode::Api => init_api(&args.dir)?,
    };
    if args.json {
        let report = json!({
            "name": created.name,
            "mode": args.mode.as_str(),
            "root": created.root,
            "files": created.files,
        });
        println!("{report:#}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Created {} workspace `{}` in {}",
        args.mode.as_str(),
        created.name,
        printable(&created.root.display().to_string())
    );
    for file in &created.files {
        println!("  {}", file.display());
    }
    println!();
    println!("Next steps:");
    println!("  cd {}", shell_quoted(&cd_argument(&args.dir)));
    println!("  webstir add-job cleanup --schedule @daily");
    println!("  webstir backend-inspect");
    Ok(ExitCode::SUCCESS)
}

/// A path as it can be shown on one line: quoted with escapes only when it holds control
/// characters.
fn printable(path: &str) -> String {
    if path.chars().any(char::is_control) {
        shell_quoted(path)
    } else {
        path.to_owned()
    }
}

/// The folder as `cd` should be given it: a relative path starting with `-` would be read as
/// an option (`cd -dash`), so it gets a leading `./`.
fn cd_argument(dir: &Path) -> String {
    let text = dir.display().to_string();
    if text.starts_with('-') {
        format!("./{text}")
    } else {
        text
    }
}

/// Quotes a path for a shell when it would be split or misread: `'...'` in general, and
/// `$'...'` with escapes when it holds control characters (a raw newline would break the hint
/// in two).
fn shell_quoted(path: &str) -> String {
    if !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~".contains(c))
    {
        return path.to_owned();
    }
    if path.chars().any(char::is_control) {
        let mut quoted = String::from("$'");
        for c in path.chars() {
            match c {
                '\\' => quoted.push_str("\\\\"),
                '\'' => quoted.push_str("\\'"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                '\r' => quoted.push_str("\\r"),
                c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => quoted.push(c),
            }
        }
        quoted.push('\'');
        return quoted;
    }
    format!("'{}'", path.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_a_shell() {
        assert_eq!(shell_quoted("my-service"), "my-service");
        assert_eq!(shell_quoted("my service"), "'my service'");
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
        assert_eq!(shell_quoted("a\nb"), "$'a\\nb'");
        assert_eq!(shell_quoted("a'\tb"), "$'a\\'\\tb'");
        assert_eq!(cd_argument(Path::new("-dash")), "./-dash");
        assert_eq!(cd_argument(Path::new("/tmp/-dash")), "/tmp/-dash");
    }
}
