use std::process::ExitCode;

use super::Context;
use crate::Error;

/// PLACEHOLDER: replaced by the work that owns this command.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn execute(_args: Args, _ctx: &Context) -> Result<ExitCode, Error> {
    Err(Error::Usage("not implemented yet".into()))
}
