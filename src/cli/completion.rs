//! `webstir completions <shell>`: the shell script that registers webstir's completions, and
//! the completer of job names it calls back into.
//!
//! The script (clap_complete's dynamic completion) asks the binary itself for candidates with
//! `WEBSTIR_COMPLETE=<shell>` set, so job names come from the workspace's manifest at the time
//! of the Tab press, not from when the script was generated.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::process::ExitCode;

use clap::ValueEnum;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::Shells;

use super::Context;
use crate::Error;
use crate::manifest::Manifest;
use crate::workspace::Workspace;

/// The variable the registration script sets when it asks for candidates.
pub const COMPLETE_VAR: &str = "WEBSTIR_COMPLETE";

const AFTER_HELP: &str = "\
Examples:
  source <(webstir completions bash)                      # bash, this session
  webstir completions bash > ~/.local/share/bash-completion/completions/webstir
  webstir completions zsh > \"${fpath[1]}/_webstir\"
  webstir completions fish > ~/.config/fish/completions/webstir.fish
  webstir completions powershell >> $PROFILE
  echo 'eval (webstir completions elvish | slurp)' >> ~/.config/elvish/rc.elv

Subcommands and flags complete, and so do job names after `remove-job`, `rename-job` and
`scheduler --job`, read from the manifest of the workspace (--workspace on the line, else
WEBSTIR_WORKSPACE, else the current folder) when Tab is pressed.";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Print the shell script that sets up tab completion for webstir
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn execute(args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    let name = args
        .shell
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let shells = Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| Error::Usage(format!("no completion script for `{name}`")))?;
    // The script calls this very binary back, wherever it is installed.
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "webstir".into());
    let mut script = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "webstir", "webstir", &exe, &mut script)
        .and_then(|()| io::stdout().write_all(&script))
        .map_err(|source| Error::Io {
            context: "could not write the completion script".into(),
            source,
        })?;
    Ok(ExitCode::SUCCESS)
}

/// The completer of a job-name argument.
pub fn job_names() -> ArgValueCompleter {
    ArgValueCompleter::new(complete_job_name)
}

/// The `--workspace DIR` (or `--workspace=DIR`) typed on the line being completed. The shell
/// passes that line to this process after `--`, so its words are in our own arguments.
fn workspace_in_line(args: impl Iterator<Item = OsString>) -> Option<OsString> {
    let mut words = args.skip_while(|a| a != "--").skip(1);
    let mut found = None;
    while let Some(word) = words.next() {
        if word == "--workspace" {
            found = words.next().filter(|w| !w.is_empty()).or(found);
        } else if let Some(dir) = word.to_str().and_then(|w| w.strip_prefix("--workspace=")) {
            found = Some(OsString::from(dir));
        }
    }
    found
}

fn complete_job_name(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let explicit = workspace_in_line(std::env::args_os())
        .or_else(|| std::env::var_os("WEBSTIR_WORKSPACE").filter(|v| !v.is_empty()));
    // A shell completion must never fail loudly: no workspace or a broken manifest simply
    // offers no names.
    let Ok(workspace) = Workspace::locate(explicit.as_deref().map(std::path::Path::new)) else {
        return Vec::new();
    };
    let Ok(text) = workspace.read_package_json() else {
        return Vec::new();
    };
    let Ok(manifest) = Manifest::from_package_json(&text) else {
        return Vec::new();
    };
    manifest
        .jobs
        .iter()
        .filter(|job| job.name.starts_with(current))
        .map(|job| {
            let candidate = CompletionCandidate::new(job.name.clone());
            match &job.description {
                Some(d) => candidate.help(Some(d.clone().into())),
                None => candidate,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_flag_is_read_off_the_completed_line() {
        let line = |words: &[&str]| {
            workspace_in_line(
                ["webstir", "--"]
                    .iter()
                    .chain(words)
                    .map(|w| OsString::from(*w)),
            )
        };
        assert_eq!(
            line(&["webstir", "--workspace", "/srv/app", "remove-job", "n"]),
            Some("/srv/app".into())
        );
        assert_eq!(
            line(&["webstir", "--workspace=../app", "remove-job", "n"]),
            Some("../app".into())
        );
        assert_eq!(line(&["webstir", "remove-job", "n"]), None);
        // The word being completed may be the flag's empty value itself.
        assert_eq!(line(&["webstir", "remove-job", "--workspace", ""]), None);
    }
}
