//! `webstir build`: TypeScript under `src/backend` to ES modules under `build/backend`.
//! (Owned by the build work.)

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Failed(String),
}
