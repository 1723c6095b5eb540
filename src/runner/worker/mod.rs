//! The `worker` runner: a small pool of long-lived Node (or Bun) processes that import each job
//! module once and run many runs, several at once per worker (`worker-concurrency`), instead of
//! a new process per run (the `process` runner, [`crate::runner::run`]). A run's output is
//! still attributed to it, and its outcome comes back over a pipe; see
//! `templates/runner/worker.mjs` for the worker's side and [`protocol`] for what travels
//! between them.
//!
//! Each run sees its own `process.env` (the worker script resolves it per run), and
//! `process.exit` in a run ends that run alone; a crash or a kill costs the runs the worker
//! had in flight.

mod child;
mod pool;
pub mod protocol;
pub mod version;

use std::time::Duration;

pub use pool::Pool;

/// File name of the worker script, installed beside the runner script.
pub const WORKER_FILE_NAME: &str = "webstir-worker.mjs";

/// The worker script's source.
pub fn worker_script() -> &'static str {
    include_str!("../../../templates/runner/worker.mjs")
}

/// How many workers may be alive, and when one is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most workers taking runs at once (`worker-pool`); a run that finds them all full waits.
    pub size: usize,
    /// Most runs one worker runs at once (`worker-concurrency`).
    pub concurrency: usize,
    /// Runs after which a worker is replaced (`worker-max-runs`); `None`: never.
    pub max_runs: Option<u32>,
    /// Resident memory, in bytes, above which a worker is replaced after its run
    /// (`worker-max-memory`); `None`: never.
    pub max_memory: Option<u64>,
}

/// `worker-max-memory` when webstir.toml does not set it.
pub const DEFAULT_MAX_MEMORY: u64 = 512 * 1024 * 1024;

/// Most workers a pool may have; more is a typo, not a pool.
pub const MAX_POOL_SIZE: usize = 1024;

/// `worker-concurrency` when webstir.toml does not set it.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Most runs one worker may run at once.
pub const MAX_CONCURRENCY: usize = 1024;

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            size: default_pool_size(),
            concurrency: DEFAULT_CONCURRENCY,
            max_runs: None,
            max_memory: Some(DEFAULT_MAX_MEMORY),
        }
    }
}

/// One worker per core: each runs many runs at once (`worker-concurrency`), so waits on I/O
/// overlap inside a worker, and a second Node process per core would only add its memory and
/// its event loop's wake-ups (bench/results.md, case 5: half the workers' CPU, lower lateness).
pub fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How long the scheduler waits for idle workers to exit when it stops.
pub const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(2);

/// Reads `worker-pool`: 1 to [`MAX_POOL_SIZE`].
pub fn parse_pool_size(raw: &str) -> Result<usize, String> {
    whole_number_up_to(raw, MAX_POOL_SIZE, "workers")
}

/// Reads `worker-concurrency`: 1 to [`MAX_CONCURRENCY`].
pub fn parse_concurrency(raw: &str) -> Result<usize, String> {
    whole_number_up_to(raw, MAX_CONCURRENCY, "runs")
}

/// A whole number of `things` from 1 to `max`.
fn whole_number_up_to(raw: &str, max: usize, things: &str) -> Result<usize, String> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("expected a whole number of {things} from 1 to {max}"))
}

/// Reads `worker-max-runs`: a whole number of runs, at least 1.
pub fn parse_max_runs(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| "expected a whole number of runs, at least 1".into())
}

/// Reads `worker-max-memory`: a size such as `512MiB`, `1GB` or `300M` (K, M and G are
/// powers of 1024, as `ps` and `top` count; KB, MB and GB powers of 1000), at least 1 MiB.
pub fn parse_memory(raw: &str) -> Result<u64, String> {
    let bad = || {
        "expected a size such as `512MiB`, `1GiB` or `800MB`, from 1MiB to 1048576GiB".to_owned()
    };
    let text = raw.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit_bytes: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return Err(bad()),
    };
    let bytes = number * unit_bytes;
    if !(bytes.is_finite() && bytes >= 1024.0 * 1024.0 && bytes <= 1024f64.powi(5)) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_out_of_range_names_both_bounds() {
        for raw in ["1", "1KiB", "99999999999GiB"] {
            let error = parse_memory(raw).expect_err(raw);
            assert!(error.contains("from 1MiB to 1048576GiB"), "{raw}: {error}");
        }
        assert_eq!(parse_memory("1048576GiB"), Ok(1024u64.pow(5)));
    }

    #[test]
    fn memory_sizes_read_as_ps_and_top_count_them() {
        assert_eq!(parse_memory("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_memory("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_memory(" 1.5 GiB "), Ok(1024 * 1024 * 1024 * 3 / 2));
        for bad in ["", "lots", "12", "-5M", "5X", "0M"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pool_sizes_and_run_counts_are_bounded() {
        assert_eq!(parse_pool_size("4"), Ok(4));
        assert!(parse_pool_size("0").is_err());
        assert!(parse_pool_size("100000").is_err());
        assert_eq!(parse_concurrency("16"), Ok(16));
        assert!(parse_concurrency("0").is_err());
        assert!(parse_concurrency("1025").is_err());
        assert_eq!(parse_max_runs("1000"), Ok(1000));
        assert!(parse_max_runs("0").is_err());
    }
}
