//! The command line: clap definitions, dispatch, and the one place errors are rendered.
//! Each subcommand lives in its own file with its `Args` and an `execute` that calls into the
//! library and renders the result.

pub mod add_job;
pub mod build;
pub mod changes;
pub mod completion;
pub mod config;
pub mod error_json;
pub mod export;
pub mod init;
pub mod inspect;
pub mod man;
pub mod remove_job;
pub mod rename_job;
pub mod schedule;
pub mod scheduler;
pub mod start;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::Error;
use crate::workspace::Workspace;

const AFTER_HELP: &str = "\
Examples:
  webstir init api my-service
  webstir add-job nightly --schedule \"0 0 * * *\" --description \"Nightly maintenance window\"
  webstir backend-inspect --json
  webstir schedule \"*/15 9-17 * * MON-FRI\" --timezone Europe/London
  webstir build && node build/backend/jobs/scheduler.js --watch
  webstir remove-job nightly --dry-run && PORT=3000 webstir dev

Exit status: 0 success, 1 failure, 2 usage error.";

/// Backend jobs for Node/TypeScript workspaces: scaffold, inspect, schedule, build and run them.
#[derive(Debug, Parser)]
#[command(name = "webstir", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Workspace folder (default: the nearest ancestor whose package.json has a `webstir` object)
    #[arg(long, global = true, env = "WEBSTIR_WORKSPACE", value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    AddJob(add_job::Args),
    BackendInspect(inspect::Args),
    Schedule(schedule::Args),
    Scheduler(scheduler::Args),
    Build(build::Args),
    Config(config::Args),
    Export(export::Args),
    RemoveJob(remove_job::Args),
    RenameJob(rename_job::Args),
    Start(start::StartArgs),
    Dev(start::DevArgs),
    Completions(completion::Args),
    Man(man::Args),
}

impl Command {
    /// Whether the command was asked for JSON output, so that a failure is JSON too.
    fn wants_json(&self) -> bool {
        match self {
            Command::Init(a) => a.json,
            Command::AddJob(a) => a.json,
            Command::BackendInspect(a) => a.json,
            Command::Schedule(a) => a.json,
            Command::Scheduler(a) => a.json,
            Command::Build(a) => a.json,
            Command::RemoveJob(a) => a.json,
            Command::RenameJob(a) => a.json,
            Command::Export(a) => a.json,
            _ => false,
        }
    }
}

/// What every command may need besides its own arguments.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub workspace_flag: Option<PathBuf>,
}

impl Context {
    /// Locates the workspace from `--workspace`/`WEBSTIR_WORKSPACE` or the current folder.
    pub fn workspace(&self) -> Result<Workspace, Error> {
        Ok(Workspace::locate(self.workspace_flag.as_deref())?)
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    ignore_empty_workspace_variable();
    let argv: Vec<OsString> = std::env::args_os().collect();
    if invoked_as_scheduler(argv.first().map(Path::new)) {
        return scheduler::main_as_scheduler(argv);
    }
    // A Tab press in a shell that sourced `webstir completions <shell>`: print candidates, exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(completion::COMPLETE_VAR)
        .complete();
    restore_default_sigpipe();
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    let ctx = Context {
        workspace_flag: cli.workspace,
    };
    let json = cli.command.wants_json();
    let result = match cli.command {
        Command::Init(args) => init::execute(args, &ctx),
        Command::AddJob(args) => add_job::execute(args, &ctx),
        Command::BackendInspect(args) => inspect::execute(args, &ctx),
        Command::Schedule(args) => schedule::execute(args, &ctx),
        Command::Scheduler(args) => scheduler::execute(args, &ctx),
        Command::Build(args) => build::execute(args, &ctx),
        Command::Config(args) => config::execute(args, &ctx),
        Command::RemoveJob(args) => remove_job::execute(args, &ctx),
        Command::RenameJob(args) => rename_job::execute(args, &ctx),
        Command::Start(args) => start::execute_start(args, &ctx),
        Command::Dev(args) => start::execute_dev(args, &ctx),
        Command::Completions(args) => completion::execute(args, &ctx),
        Command::Man(args) => man::execute(args, &ctx),
        Command::Export(args) => export::execute(args, &ctx),
    };
    if json {
        finish_json(result)
    } else {
        finish(result)
    }
}

/// Turns a command's result into the exit status, printing the error once.
pub fn finish(result: Result<ExitCode, Error>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            e.exit_code()
        }
    }
}

/// [`finish`] for a command run with `--json`: the error goes to standard output as a JSON
/// object (and to standard error as text, for a person watching), the exit status as usual.
pub fn finish_json(result: Result<ExitCode, Error>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            if !matches!(e, Error::Reported) {
                println!("{:#}", error_json::render(&e));
            }
            report(&e);
            e.exit_code()
        }
    }
}

/// Prints an error the one way webstir prints errors.
pub fn report(error: &Error) {
    if !matches!(error, Error::Reported) {
        eprintln!("webstir: error: {error}");
    }
}

/// Prints clap's message (help, version or a usage error) and picks the exit status.
pub fn clap_exit(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// `WEBSTIR_WORKSPACE=` (set but empty) means "not set", as an empty variable does for most
/// tools; clap would otherwise read it as a `--workspace` flag missing its value.
fn ignore_empty_workspace_variable() {
    if std::env::var_os("WEBSTIR_WORKSPACE").is_some_and(|v| v.is_empty()) {
        // SAFETY: called once at start-up, before any other thread exists.
        unsafe { std::env::remove_var("WEBSTIR_WORKSPACE") };
    }
}

fn invoked_as_scheduler(argv0: Option<&Path>) -> bool {
    argv0
        .and_then(Path::file_stem)
        .is_some_and(|stem| stem == "scheduler")
}

/// Output piped into `head` should end the program quietly, as it does for other Unix tools.
/// The scheduler keeps Rust's default (ignored) so that a closed pipe never kills it while it
/// supervises children.
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
