use std::path::PathBuf;
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
        created.root.display()
    );
    for file in &created.files {
        println!("  {}", file.display());
    }
    println!();
    println!("Next steps:");
    println!("  cd {}", shell_quoted(&args.dir.display().to_string()));
    println!("  webstir add-job cleanup --schedule @daily");
    println!("  webstir backend-inspect");
    Ok(ExitCode::SUCCESS)
}

/// Quotes a path for the "next steps" hint when a shell would split it.
fn shell_quoted(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-~".contains(c))
    {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}
