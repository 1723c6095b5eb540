//! webstir: a toolchain for the backend jobs of a Node/TypeScript workspace.
//!
//! The binary is a thin shell over [`run`]; everything it does lives in the modules below so
//! that tests and benchmarks use the same code paths as users.

pub mod build;
pub mod cli;
pub mod error;
pub mod export;
pub mod fsutil;
pub mod http;
pub mod jobs;
pub mod manifest;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod start;
pub mod store;
pub mod templates;
pub mod workspace;

pub use error::Error;

/// Runs the command line and returns the process exit code (0 ok, 1 failure, 2 usage error).
pub fn run() -> std::process::ExitCode {
    cli::main()
}
