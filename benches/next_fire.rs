//! Next-fire-time computation speed. The target is at least 1,000,000 next-times per second
//! for `*/5 * * * *` in UTC on one core; criterion reports it as elements per second.
//!
//! Each iteration asks for the fire time after the previous one, so the inputs walk forward
//! through months, years and daylight-saving changes as a running scheduler's would.

use std::hint::black_box;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use webstir::schedule::Schedule;

const CASES: [(&str, &str); 8] = [
    ("*/5 * * * *", "UTC"),
    ("* * * * *", "UTC"),
    ("0 0 * * *", "UTC"),
    ("*/15 9-17 * * MON-FRI", "UTC"),
    ("0 0 13 * 5", "UTC"),
    ("0 0 29 2 *", "UTC"),
    ("*/5 * * * *", "America/New_York"),
    ("30 2 * * *", "America/New_York"),
];

fn next_fire(c: &mut Criterion) {
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("valid start");
    let mut group = c.benchmark_group("next_after");
    group.throughput(Throughput::Elements(1));
    for (expr, zone) in CASES {
        let schedule = Schedule::parse(expr).expect("benchmark schedules are valid");
        let tz: Tz = zone.parse().expect("benchmark zones exist");
        group.bench_function(format!("{expr} in {zone}"), |b| {
            let mut after = start;
            b.iter(|| {
                let next = schedule
                    .next_after(black_box(after), tz)
                    .expect("every benchmark schedule keeps firing");
                after = next.with_timezone(&Utc);
                // Stay within a few centuries however many iterations criterion asks for.
                if after.year() > 2400 {
                    after = start;
                }
                next
            });
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    c.bench_function("parse */15 9-17 * * MON-FRI", |b| {
        b.iter(|| Schedule::parse(black_box("*/15 9-17 * * MON-FRI")))
    });
}

criterion_group!(benches, next_fire, parse);
criterion_main!(benches);
