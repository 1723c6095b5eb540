use std::ffi::OsString;
use std::process::ExitCode;

use super::Context;
use crate::Error;

/// PLACEHOLDER: replaced by the scheduler work.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn execute(_args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    Err(Error::Usage("not implemented yet".into()))
}

/// Entry point when the binary runs under the name `scheduler`.
pub fn main_as_scheduler(_argv: Vec<OsString>) -> ExitCode {
    ExitCode::from(2)
}
