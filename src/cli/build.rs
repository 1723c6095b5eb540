//! `webstir build`: renders build reports as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use super::Context;
use crate::Error;
use crate::build::{self, BuildError, BuildReport};

const AFTER_HELP: &str = "\
Examples:
  webstir build
  webstir build --runtime backend --watch
  webstir build --json
  webstir build && node build/backend/jobs/scheduler.js --list

Every .ts/.mts file under src/backend becomes a .js/.mjs ES module (with a source map) under
build/backend; .js, .mjs and .json files are copied. A second build with nothing changed
rewrites nothing. The build also writes build/backend/jobs/scheduler, scheduler.js and the
job runner, so `node build/backend/jobs/scheduler.js` works with Node.js alone.

Exit status: 0 success, 1 when a file has errors (the others are still built), 2 usage error.";

/// Transpile the TypeScript backend in src/backend to runnable JavaScript in build/backend
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Keep running and rebuild whenever a file under src/backend changes
    #[arg(long)]
    pub watch: bool,

    /// What to build; `backend` is the only runtime today
    #[arg(long, value_enum, default_value_t = Runtime::Backend, value_name = "RUNTIME")]
    pub runtime: Runtime,

    /// Print each build's result as one JSON object (errors included) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// The jobs and modules under src/backend
    Backend,
}

pub fn execute(args: Args, ctx: &Context) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    if args.watch {
        if !args.json {
            eprintln!(
                "watching {} for changes (Ctrl-C to stop)",
                workspace.backend_src_dir().display()
            );
        }
        build::watch::watch(&workspace, |result| match result {
            Ok(report) => render(&report, args.json),
            // A broken tree (say, a symlink out of the workspace) is reported and then waited
            // out like any other error.
            Err(error) => render_error(&error, args.json),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = build::build(&workspace)?;
    render(&report, args.json);
    if report.succeeded() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::Reported)
    }
}

fn render(report: &BuildReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else {
        let stderr = std::io::stderr();
        let mut err = stderr.lock();
        for diagnostic in &report.diagnostics {
            let _ = writeln!(err, "{diagnostic}\n");
        }
        for warning in &report.warnings {
            let _ = writeln!(err, "webstir: warning: {warning}");
        }
        if report.succeeded() {
            println!("{}", report.summary());
        } else {
            let _ = writeln!(err, "webstir: error: {}", report.summary());
        }
    }
    let _ = std::io::stdout().flush();
}

fn render_error(error: &BuildError, json: bool) {
    if json {
        let object = super::error_json::object("build", &error.to_string(), None, None, None);
        println!("{object}");
        let _ = std::io::stdout().flush();
    } else {
        eprintln!("webstir: error: {error}");
    }
}
