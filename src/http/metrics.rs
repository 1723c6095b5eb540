//! The Prometheus metrics of the watcher, labelled by job, in the OpenMetrics text format
//! that Prometheus scrapes.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Run durations in seconds: from a quick script to a long batch job.
const DURATION_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabel {
    pub job: String,
}

type Counters = Family<JobLabel, Counter>;
type Timestamps = Family<JobLabel, Gauge<f64, AtomicU64>>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Every metric, registered once; the families are shared handles, cheap to update.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub runs: Counters,
    pub failures: Counters,
    pub skips: Counters,
    pub retries: Counters,
    pub catch_ups: Counters,
    pub running: Family<JobLabel, Gauge>,
    pub duration: Family<JobLabel, Histogram, fn() -> Histogram>,
    pub next_fire: Timestamps,
    pub last_success: Timestamps,
}

impl Metrics {
    /// The metrics, with a zero series for each of `jobs` so that rates and alerts see a job
    /// before its first run.
    pub fn new<'a>(jobs: impl IntoIterator<Item = &'a str>) -> Metrics {
        let mut registry = Registry::default();
        let runs = Counters::default();
        let failures = Counters::default();
        let skips = Counters::default();
        let retries = Counters::default();
        let catch_ups = Counters::default();
        let running = Family::<JobLabel, Gauge>::default();
        let duration = Family::<JobLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        let next_fire = Timestamps::default();
        let last_success = Timestamps::default();
        // The registry appends `_total` to counters and the unit to the others.
        registry.register(
            "webstir_runs",
            "Runs that ended, successful or not",
            runs.clone(),
        );
        registry.register(
            "webstir_run_failures",
            "Runs that failed or could not start",
            failures.clone(),
        );
        registry.register(
            "webstir_run_skips",
            "Fires skipped because the previous run was still active",
            skips.clone(),
        );
        registry.register(
            "webstir_run_retries",
            "Failed runs tried again by the retry policy",
            retries.clone(),
        );
        registry.register(
            "webstir_catch_ups",
            "Missed fires run late by the catch-up policy",
            catch_ups.clone(),
        );
        registry.register(
            "webstir_runs_running",
            "Runs in progress now",
            running.clone(),
        );
        registry.register_with_unit(
            "webstir_run_duration",
            "How long runs took",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "webstir_next_fire_timestamp",
            "When the job fires next, as a Unix time",
            Unit::Seconds,
            next_fire.clone(),
        );
        registry.register_with_unit(
            "webstir_last_success_timestamp",
            "When the job last ended successfully, as a Unix time",
            Unit::Seconds,
            last_success.clone(),
        );
        for job in jobs {
            let label = label(job);
            let _ = runs.get_or_create(&label);
            let _ = failures.get_or_create(&label);
            let _ = skips.get_or_create(&label);
            let _ = retries.get_or_create(&label);
            let _ = catch_ups.get_or_create(&label);
            let _ = running.get_or_create(&label);
        }
        Metrics {
            registry,
            runs,
            failures,
            skips,
            retries,
            catch_ups,
            running,
            duration,
            next_fire,
            last_success,
        }
    }

    /// The text Prometheus scrapes.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

pub fn label(job: &str) -> JobLabel {
    JobLabel {
        job: job.to_owned(),
    }
}
