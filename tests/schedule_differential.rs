//! Differential test: the engine's fire times against Python's `cronsim` and `croniter`
//! (installed by `scripts/test`). `tests/reference/cron_reference.py` decides, case by case,
//! which reference implements the rule of docs/schedules.md and explains each exclusion.
//! All cases go to one Python process so the test stays fast.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use webstir::schedule::{Schedule, parse_timezone};

const ZONES: [&str; 5] = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

/// Instants around which results are interesting, per zone: daylight-saving changes in both
/// directions, a year end and a leap day.
fn windows(zone: &str) -> [&'static str; 2] {
    match zone {
        "America/New_York" => ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"],
        "Europe/London" => ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"],
        "Australia/Lord_Howe" => ["2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z"],
        _ => ["2026-12-31T22:00:00Z", "2028-02-28T12:00:00Z"],
    }
}

/// Hand-picked expressions: leap days, 31sts, names, 7 for Sunday, the day-field rules,
/// steps from a single start, seconds, and fixed and repeating times around DST changes.
const HAND_PICKED: &[&str] = &[
    "0 0 29 2 *",
    "0 12 29 2 1",
    "0 0 29 2 */3",
    "0 0 31 * *",
    "30 23 31 12 *",
    "59 23 31 DEC *",
    "0 0 1 jan *",
    "0 0 * * 7",
    "0 0 * * SUN,7",
    "0 0 * * 5-7",
    "0 9 * * mon-fri",
    "0 0 13 * 5",
    "0 0 13 * FRI",
    "0 0 */2 * 1",
    "0 0 1,15 * 3",
    "0 0 31 * 0",
    "0 0 * * 1/2",
    "5/10 * * * *",
    "*/5 * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 * * * *",
    "15,45 * * * *",
    "* * * * *",
    "0 */2 * * *",
    "0 1-23/2 * * *",
    "30 1 * * *",
    "30 2 * * *",
    "0 2 * * *",
    "0 1 * * *",
    "0,30 1-3 * * *",
    "15 1,2 * * *",
    "45 2 * * *",
    "*/10 1-2 * * *",
    "0 0 * * *",
    "0 0 1 * *",
    "0 0 * 3,10,11 0",
    "0 30 2 * * *",
    "*/20 * * * * *",
    "15 0 1 * * *",
    "0 0 0 29 2 *",
    "10-50/20 * 1 * * *",
];

/// A small, seedable generator so the random cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, lo: u8, hi: u8) -> u8 {
        lo + self.below(u64::from(hi - lo) + 1) as u8
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(rng: &mut Rng, v: u8, names: Option<(&[&str], u8)>) -> String {
    match names {
        Some((names, first)) if rng.chance(30) && usize::from(v - first) < names.len() => {
            let name = names[usize::from(v - first)];
            if rng.chance(50) {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            }
        }
        _ => v.to_string(),
    }
}

fn item(rng: &mut Rng, lo: u8, hi: u8, names: Option<(&[&str], u8)>) -> String {
    let a = rng.between(lo, hi);
    let b = rng.between(lo, hi);
    let (a, b) = (a.min(b), a.max(b));
    let step = rng.between(1, (hi / 2).max(1));
    match rng.below(100) {
        0..=29 => "*".to_owned(),
        30..=49 => value(rng, a, names),
        50..=62 => format!("{}-{}", value(rng, a, names), value(rng, b, names)),
        63..=72 => format!("*/{step}"),
        73..=80 => format!("{}-{}/{step}", value(rng, a, names), value(rng, b, names)),
        81..=87 => format!("{}/{step}", value(rng, a, names)),
        _ => (0..rng.between(2, 4))
            .map(|_| {
                let v = rng.between(lo, hi);
                value(rng, v, names)
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn random_expression(rng: &mut Rng) -> String {
    let mut fields = vec![
        item(rng, 0, 59, None),
        item(rng, 0, 23, None),
        item(rng, 1, 31, None),
        item(rng, 1, 12, Some((&MONTHS, 1))),
        item(rng, 0, 7, Some((&DAYS, 0))),
    ];
    if rng.chance(15) {
        fields.insert(0, item(rng, 0, 59, None));
    }
    fields.join(" ")
}

struct Case {
    expr: String,
    tz: &'static str,
    start: DateTime<Utc>,
    count: usize,
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut cases = Vec::new();
    let near = |rng: &mut Rng, window: &str| {
        let at = DateTime::parse_from_rfc3339(window)
            .expect("windows are valid RFC 3339")
            .with_timezone(&Utc);
        at - Duration::seconds(rng.below(30 * 3600) as i64)
    };
    for expr in HAND_PICKED {
        for tz in ZONES {
            for window in windows(tz) {
                let start = near(&mut rng, window);
                cases.push(Case {
                    expr: (*expr).to_owned(),
                    tz,
                    start,
                    count: 6,
                });
            }
        }
    }
    while cases.len() < HAND_PICKED.len() * 10 + 400 {
        let expr = random_expression(&mut rng);
        let tz = ZONES[rng.below(ZONES.len() as u64) as usize];
        let start = if rng.chance(70) {
            let window = windows(tz)[rng.below(2) as usize];
            near(&mut rng, window)
        } else {
            DateTime::from_timestamp(1_735_689_600 + rng.below(5 * 365 * 86_400) as i64, 0)
                .expect("a time between 2025 and 2030")
        };
        cases.push(Case {
            expr,
            tz,
            start,
            count: 6,
        });
    }
    cases
}

fn run_references(cases: &[Case]) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/cron_reference.py"
    );
    let input: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(id, case)| {
            json!({
                "id": id,
                "expr": case.expr,
                "tz": case.tz,
                "start": case.start.to_rfc3339(),
                "count": case.count,
            })
        })
        .collect();
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3 and run scripts/test")
        });
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let body = serde_json::to_vec(&input).expect("cases serialize");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output().expect("python3 ran");
    writer
        .join()
        .expect("writer thread finished")
        .expect("cases were written to python3");
    assert!(
        output.status.success(),
        "the reference script failed; run scripts/test, which installs croniter and cronsim \
         with pip.\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reference script prints JSON")
}

#[test]
fn fire_times_agree_with_cronsim_and_croniter() {
    let cases = cases();
    let answers = run_references(&cases);
    assert_eq!(answers.len(), cases.len());
    let mut failures = Vec::new();
    let mut compared = std::collections::BTreeMap::<String, usize>::new();
    let mut dst_cases = 0;
    for (case, answer) in cases.iter().zip(&answers) {
        let tz = parse_timezone(case.tz).expect("test zones exist");
        let ours = Schedule::parse(&case.expr).map(|schedule| {
            schedule
                .upcoming(case.start, tz)
                .take(case.count)
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, false))
                .collect::<Vec<_>>()
        });
        let refs = answer["refs"].as_object().expect("refs is an object");
        assert!(refs.contains_key("cronsim"), "cronsim answers every case");
        for (name, theirs) in refs {
            *compared.entry(name.clone()).or_default() += 1;
            let agrees = match (&ours, theirs) {
                (Ok(ours), Value::Array(theirs)) => ours.iter().eq(theirs.iter()),
                // A rejected expression must be rejected by the reference too.
                (Err(_), Value::Object(error)) => error.contains_key("error"),
                _ => false,
            };
            if !agrees {
                failures.push(format!(
                    "{:?} in {} after {}:\n  webstir: {:?}\n  {name}: {theirs}",
                    case.expr, case.tz, case.start, ours
                ));
            }
        }
        if !matches!(case.tz, "UTC" | "Asia/Kolkata") {
            dst_cases += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Guard against the comparison quietly shrinking to nothing.
    assert!(compared["cronsim"] >= 800, "{compared:?}");
    assert!(
        compared.get("croniter").copied().unwrap_or(0) >= 100,
        "{compared:?}"
    );
    assert!(dst_cases >= 400, "{dst_cases} cases in zones with DST");
}
