//! Next fire times per second of webstir's schedule engine, in-process (bench case 3).
//!
//! ```sh
//! cargo build --release --example next_times
//! target/release/examples/next_times 0.5 America/New_York "*/5 * * * *" "0 0 13 * 5"
//! ```
//!
//! Arguments: seconds per expression, a time zone (`-` for UTC), then the expressions. Prints
//! one JSON line per expression: `{"lib","expr","tz","per_second","count"}`, or
//! `{"expr","error"}` when the engine rejects it or gives no next time. Each expression runs as
//! a chain (next = after(previous)), restarting from the start instant when the chain ends: the
//! same loop `bench/js/next_times.mjs` runs for croner and node-cron.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use webstir::schedule::{Schedule, parse_timezone};

/// Iterations between clock reads, so reading the clock costs nothing measurable.
const BATCH: u64 = 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [seconds, zone, exprs @ ..] = args.as_slice() else {
        eprintln!("usage: next_times <seconds> <time-zone|-> <expression>...");
        return ExitCode::from(2);
    };
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("next_times: seconds must be a number, got `{seconds}`");
        return ExitCode::from(2);
    };
    let tz = if zone == "-" {
        Ok(Tz::UTC)
    } else {
        parse_timezone(zone)
    };
    let tz = match tz {
        Ok(tz) => tz,
        Err(error) => {
            eprintln!("next_times: {error}");
            return ExitCode::from(2);
        }
    };
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("2026-01-01T00:00:00Z is one instant");
    for expr in exprs {
        let line = match measure(expr, tz, start, seconds) {
            Ok((count, per_second)) => serde_json::json!({
                "lib": "webstir", "expr": expr, "tz": zone,
                "per_second": per_second, "count": count,
            }),
            Err(error) => serde_json::json!({ "lib": "webstir", "expr": expr, "error": error }),
        };
        println!("{line}");
    }
    ExitCode::SUCCESS
}

fn measure(expr: &str, tz: Tz, start: DateTime<Utc>, seconds: f64) -> Result<(u64, f64), String> {
    let schedule = Schedule::parse(expr).map_err(|error| error.to_string())?;
    if schedule.next_after(start, tz).is_none() {
        return Err("the engine gave no next time".to_owned());
    }
    let step = |t: DateTime<Utc>| {
        schedule
            .next_after(black_box(t), tz)
            .map_or(start, |next| next.with_timezone(&Utc))
    };
    let mut t = start;
    for _ in 0..BATCH {
        t = step(t);
    }
    t = start;
    let mut count = 0u64;
    let began = Instant::now();
    let elapsed = loop {
        for _ in 0..BATCH {
            t = step(t);
        }
        count += BATCH;
        let elapsed = began.elapsed().as_secs_f64();
        if elapsed >= seconds {
            break elapsed;
        }
    };
    black_box(t);
    Ok((count, count as f64 / elapsed))
}
