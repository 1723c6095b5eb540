//! `webstir start` and `webstir dev`.

use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use crate::Error;
use crate::settings::{self, Settings};
use crate::start::{self, Event, Options, Outcome, Role, child};

const START_HELP: &str = "\
Examples:
  webstir build && PORT=3000 webstir start
  webstir start --without-jobs          # the server alone, say on a second instance
  webstir start --grace 30s

Runs `node build/backend/index.js` (the server; PORT and the rest of the environment pass
through) and `webstir scheduler --watch` (the jobs) together. Their output lines are prefixed
`[server]` and `[jobs]`. SIGINT or SIGTERM stops both: SIGTERM to each process group, SIGKILL
after the grace period. If one of them ends by itself, the other is stopped and webstir says
which one ended.

Exit status: 0 stopped by a signal (or the server exited 0), 1 failure, 2 usage error; when the
server or the watcher fails, its own exit status (128 + N for a signal N).";

const DEV_HELP: &str = "\
Examples:
  PORT=3000 webstir dev
  webstir dev --without-jobs

`webstir start` plus `webstir build --watch`: builds, starts the server once
build/backend/index.js exists, and restarts it whenever the build output outside
build/backend/jobs changes. A server that crashes starts again on the next build. Output lines
are prefixed `[build]`, `[server]` and `[jobs]`.

Exit status: as for `webstir start`.";

/// Run the built backend server and the job watcher together
#[derive(Debug, clap::Args)]
#[command(after_help = START_HELP)]
pub struct StartArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Build, watch, and run the server (restarted on change) with the job watcher
#[derive(Debug, clap::Args)]
#[command(after_help = DEV_HELP)]
pub struct DevArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// Run the server only, no job watcher
    #[arg(long)]
    pub without_jobs: bool,
    /// After SIGINT/SIGTERM, how long the server (and running jobs) get between SIGTERM and
    /// SIGKILL [default: webstir.toml's `grace`, else 10s]
    #[arg(long, value_name = "DURATION", value_parser = settings::parse_duration)]
    pub grace: Option<Duration>,
    /// Node.js executable [default: webstir.toml's `node`, else `node`]
    #[arg(long, value_name = "PATH", env = "WEBSTIR_NODE")]
    pub node: Option<String>,
}

pub fn execute_start(args: StartArgs, ctx: &Context) -> Result<ExitCode, Error> {
    run(args.common, ctx, false)
}

pub fn execute_dev(args: DevArgs, ctx: &Context) -> Result<ExitCode, Error> {
    run(args.common, ctx, true)
}

fn run(args: Common, ctx: &Context, dev: bool) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace()?;
    let settings = Settings::load(&workspace)?;
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        context: "could not find the webstir executable".into(),
        source,
    })?;
    let options = Options {
        node: args
            .node
            .clone()
            .or(settings.node)
            .unwrap_or_else(|| "node".into())
            .into(),
        node_flag: args.node,
        grace: args
            .grace
            .or(settings.grace)
            .unwrap_or(Duration::from_secs(10)),
        without_jobs: args.without_jobs,
        exe,
    };
    let mut on_event = |event| render(event, options.without_jobs);
    let outcome = if dev {
        start::dev(&workspace, &options, &mut on_event)?
    } else {
        start::start(&workspace, &options, &mut on_event)?
    };
    Ok(match outcome {
        Outcome::Stopped { .. } => ExitCode::SUCCESS,
        Outcome::Ended { status, .. } => ExitCode::from(child::exit_code(status)),
    })
}

fn render(event: Event, without_jobs: bool) {
    let others = |role: Role| match (role, without_jobs) {
        (Role::Server, true) => "nothing else was running",
        (Role::Server, false) => "stopped the job watcher",
        (Role::Jobs, _) => "stopped the server",
        (Role::Build, _) => "stopped the server and the job watcher",
    };
    match event {
        Event::Started { role, pid } => {
            let pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            let what = match role {
                Role::Server => format!("started the server: node {}", start::SERVER_ENTRY),
                Role::Jobs => "started the job watcher".into(),
                Role::Build => "started build --watch".into(),
            };
            eprintln!("webstir: {what}{pid}");
        }
        Event::WatcherDone => {
            eprintln!("webstir: the job watcher has nothing to watch; the server keeps running");
        }
        Event::ServerEnded { status } => eprintln!(
            "webstir: the server {}; it starts again after the next build",
            child::describe(status)
        ),
        Event::NoServer => eprintln!(
            "webstir: {} does not exist; the server starts once a build writes it",
            start::SERVER_ENTRY
        ),
        Event::Restarting => eprintln!("webstir: the build output changed; restarting the server"),
        Event::Stopping { signal } => eprintln!("webstir: {signal}: stopping"),
        Event::Ended { role, status } => {
            let level = if status.success() { "" } else { "error: " };
            let name = match role {
                Role::Server => "the server",
                Role::Jobs => "the job watcher",
                Role::Build => "build --watch",
            };
            eprintln!(
                "webstir: {level}{name} {}; {}",
                child::describe(status),
                others(role)
            );
        }
    }
}
