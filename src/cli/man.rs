//! `webstir man`: manual pages generated from the same clap definitions as `--help`.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, Context};
use crate::Error;

const AFTER_HELP: &str = "\
Examples:
  webstir man | man -l -                      # read webstir(1) now
  webstir man --out ~/.local/share/man/man1   # install a page per command
  man webstir-add-job

Without --out, prints webstir(1) to standard output. With --out, writes webstir.1 and one
page per command (webstir-add-job.1, webstir-scheduler.1, ...) into that folder, creating it
when missing, and lists the files written.";

/// Print or write the manual pages of webstir and each command
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Write every page into this folder instead of printing webstir(1)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn execute(args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let failed = |what: String| {
        move |e: io::Error| Error::Io {
            context: what,
            source: e,
        }
    };
    let Some(out) = args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .and_then(|()| io::stdout().write_all(&page))
            .map_err(failed("could not write the manual page".into()))?;
        return Ok(ExitCode::SUCCESS);
    };
    fs::create_dir_all(&out).map_err(failed(out.display().to_string()))?;
    let mut pages = vec![clap_mangen::Man::new(cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // `webstir-add-job(1)`, as git and cargo name their per-command pages.
        let name = format!("webstir-{}", sub.get_name());
        pages.push(clap_mangen::Man::new(sub.clone().name(name)));
    }
    for page in pages {
        let path = page
            .generate_to(&out)
            .map_err(failed(out.display().to_string()))?;
        println!("Wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
