//! Reading the module manifest from `package.json` text, at 10 and 10,000 jobs (in full, and the
//! jobs alone as `scheduler` reads them), planning the jobs read, and writing the lines of
//! `scheduler --list`. The manifest is the one bench/run generates (bench/cases.py: `job_entry`,
//! `package_json`): a name, one of eight schedules, a description, a priority and one of two
//! zones per job, indented by two spaces.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use webstir::manifest::Manifest;
use webstir::scheduler::list::write_lines;
use webstir::scheduler::{PlanOptions, plan_jobs};

const SCHEDULES: [&str; 8] = [
    "0 0 * * *",
    "*/5 * * * *",
    "rate(1 minute)",
    "@hourly",
    "30 9 * * 1-5",
    "0 0 13 * 5",
    "15,45 */2 * * *",
    "@daily",
];

fn package_json(jobs: usize) -> String {
    let entries: Vec<serde_json::Value> = (0..jobs)
        .map(|i| {
            serde_json::json!({
                "name": format!("job_{i:05}"),
                "schedule": SCHEDULES[i % SCHEDULES.len()],
                "description": format!("Job {i}: syncs records"),
                "priority": i % 10,
                "timezone": if i % 2 == 1 { "Europe/London" } else { "America/New_York" },
            })
        })
        .collect();
    let document = serde_json::json!({
        "name": "bench",
        "version": "1.0.0",
        "private": true,
        "type": "module",
        "webstir": {
            "mode": "api",
            "moduleManifest": {
                "contractVersion": "1.0.0",
                "name": "bench",
                "version": "1.0.0",
                "kind": "backend",
                "capabilities": [],
                "jobs": entries,
            },
        },
    });
    serde_json::to_string_pretty(&document).expect("plain JSON") + "\n"
}

fn manifest(c: &mut Criterion) {
    let mut group = c.benchmark_group("manifest");
    for jobs in [10, 10_000] {
        let text = package_json(jobs);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("read", jobs), &text, |b, text| {
            b.iter(|| Manifest::from_package_json(black_box(text)).expect("a valid manifest"));
        });
        let options = PlanOptions {
            timezone: Some("UTC".into()),
            ..PlanOptions::default()
        };
        // What `scheduler` reads: the jobs, without `moduleManifest` as written.
        group.bench_with_input(BenchmarkId::new("read jobs", jobs), &text, |b, text| {
            b.iter(|| Manifest::jobs_from_package_json(black_box(text)).expect("a valid manifest"));
        });
        group.bench_with_input(BenchmarkId::new("read and plan", jobs), &text, |b, text| {
            b.iter(|| {
                let manifest = Manifest::from_package_json(black_box(text))
                    .and_then(Manifest::require_valid)
                    .expect("a valid manifest");
                plan_jobs(manifest.jobs, &options).expect("planned")
            });
        });
        // `scheduler --list` after the reading: the lines, written into memory.
        let manifest = Manifest::jobs_from_package_json(&text).expect("a valid manifest");
        let planned = plan_jobs(manifest.jobs, &options).expect("planned");
        let now = chrono::Utc::now();
        group.bench_with_input(
            BenchmarkId::new("list lines", jobs),
            &planned,
            |b, planned| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(1 << 20);
                    write_lines(&mut out, black_box(planned), now).expect("written");
                    out
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, manifest);
criterion_main!(benches);
