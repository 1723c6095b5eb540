//! `webstir build`: TypeScript under `src/backend` to ES modules under `build/backend`.

pub mod diagnostics;
pub mod specifiers;
pub mod transpile;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Failed(String),
}
