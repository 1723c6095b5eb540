//! Plain-English descriptions of cron expressions, built from the items as written.

use super::cron::{Cron, DayRule};
use super::field::{FieldSpec, Item, month_name, weekday_name};

/// "At 00:00 on day 13 of the month and on Friday", "Every 15 minutes between 09:00 and 17:59
/// on Monday through Friday".
pub fn describe(cron: &Cron) -> String {
    let [_, _, _, dom, month, dow] = cron.fields();
    let mut parts = vec![time_phrase(cron)];
    parts.extend(day_phrase(dom, dow, cron.day_rule()));
    parts.extend(month_phrase(month));
    capitalize(&parts.join(" "))
}

fn time_phrase(cron: &Cron) -> String {
    let [second, minute, hour, ..] = cron.fields();
    let second_value = if cron.has_seconds() {
        single_item(second)
    } else {
        Some(0)
    };
    let clock = |h: u8, m: u8, s: u8| {
        if cron.has_seconds() {
            format!("{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}")
        }
    };
    // A handful of fixed times reads best as a list of clock times.
    if let (Some(s), Some(minutes), Some(hours)) =
        (second_value, all_values(minute), all_values(hour))
        && minutes.len() * hours.len() <= 6
    {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|&h| minutes.iter().map(move |&m| clock(h, m, s)))
            .collect();
        return format!("at {}", join(&times, "and"));
    }
    let minutes = minute_phrase(minute, hour);
    if !cron.has_seconds() || second_value == Some(0) {
        return minutes;
    }
    let seconds = unit_phrase(second, "second", "seconds");
    match (single_item(minute), single_item(hour)) {
        (Some(m), Some(h)) => format!("{seconds} during {h:02}:{m:02}"),
        _ if is_every(minute) && is_every(hour) && all_values(second).is_some() => {
            format!("{seconds} past every minute")
        }
        _ if is_every(minute) && is_every(hour) => seconds,
        _ => format!("{seconds}, {minutes}"),
    }
}

/// The minute field, then how the hour field narrows it.
fn minute_phrase(minute: &FieldSpec, hour: &FieldSpec) -> String {
    if single_item(minute) == Some(0)
        && let Some(hourly) = on_the_hour(hour)
    {
        return hourly;
    }
    let minutes = unit_phrase(minute, "minute", "minutes");
    if is_every(hour) {
        return if single_item(minute).is_some() || all_values(minute).is_some() {
            format!("{minutes} past every hour")
        } else {
            minutes
        };
    }
    let pointwise = all_values(minute).is_some();
    if !pointwise && let [item] = hour.items.as_slice() {
        let span = match *item {
            Item::Value(h) => Some((h, h)),
            Item::Range {
                start,
                end,
                step: 1,
            } => Some((start, end)),
            _ => None,
        };
        if let Some((start, end)) = span {
            return format!("{minutes} between {start:02}:00 and {end:02}:59");
        }
    }
    let joiner = if pointwise { "past" } else { "during" };
    format!("{minutes} {joiner} {}", hour_phrase(hour))
}

/// At minute 0, a single repeating hour item reads as a rate, as cronstrue puts it: "every
/// hour", "every 2 hours from 09:00 through 17:00". A step that does not divide the day
/// (`*/5`: 20:00 to 00:00 is four hours) is not a steady rate and keeps the ordinal wording.
fn on_the_hour(hour: &FieldSpec) -> Option<String> {
    let rate = |step: u8| match step {
        1 => Some("every hour".to_owned()),
        _ if 24 % step == 0 => Some(format!("every {step} hours")),
        _ => None,
    };
    match hour.items.as_slice() {
        [Item::Every { step }] => rate(*step),
        [Item::Range { start, end, step }] => {
            let rate = if *step == 1 {
                "every hour".to_owned()
            } else {
                format!("every {step} hours")
            };
            Some(format!("{rate} from {start:02}:00 through {end:02}:00"))
        }
        _ => None,
    }
}

fn hour_phrase(hour: &FieldSpec) -> String {
    if let Some(values) = all_values(hour) {
        let list: Vec<String> = values.iter().map(u8::to_string).collect();
        let noun = if values.len() == 1 { "hour" } else { "hours" };
        return format!("{noun} {}", join(&list, "and"));
    }
    let phrases: Vec<String> = hour
        .items
        .iter()
        .map(|item| match *item {
            Item::Every { step: 1 } => "every hour".to_owned(),
            Item::Every { step } => format!("every {} hour", ordinal(step)),
            Item::Value(v) => format!("hour {v}"),
            Item::Range {
                start,
                end,
                step: 1,
            } => format!("every hour from {start} through {end}"),
            Item::Range { start, end, step } => {
                format!("every {} hour from {start} through {end}", ordinal(step))
            }
        })
        .collect();
    join(&phrases, "and")
}

/// Seconds or minutes: "every minute", "every 5 minutes", "at minutes 0, 15 and 45".
fn unit_phrase(spec: &FieldSpec, unit: &str, units: &str) -> String {
    if let Some(values) = all_values(spec) {
        let list: Vec<String> = values.iter().map(u8::to_string).collect();
        let noun = if values.len() == 1 { unit } else { units };
        return format!("at {noun} {}", join(&list, "and"));
    }
    let phrases: Vec<String> = spec
        .items
        .iter()
        .map(|item| match *item {
            Item::Every { step: 1 } => format!("every {unit}"),
            Item::Every { step } => format!("every {step} {units}"),
            Item::Value(v) => format!("at {unit} {v}"),
            Item::Range {
                start,
                end,
                step: 1,
            } => format!("every {unit} from {unit} {start} through {end}"),
            Item::Range { start, end, step } => {
                format!("every {step} {units} from {unit} {start} through {end}")
            }
        })
        .collect();
    join(&phrases, "and")
}

fn day_phrase(dom: &FieldSpec, dow: &FieldSpec, rule: DayRule) -> Option<String> {
    let days = (!is_every(dom)).then(|| day_of_month_phrase(dom));
    let weekdays = (!is_every(dow)).then(|| weekday_list(dow));
    match (days, weekdays) {
        (None, None) => None,
        (Some(days), None) => Some(days),
        (None, Some(weekdays)) => Some(format!("on {}", join(&weekdays, "and"))),
        (Some(days), Some(weekdays)) => Some(match rule {
            DayRule::Either => format!("{days} and on {}", join(&weekdays, "and")),
            DayRule::Both => format!("{days}, if it falls on {}", join(&weekdays, "or")),
        }),
    }
}

fn day_of_month_phrase(dom: &FieldSpec) -> String {
    if let Some(values) = all_values(dom) {
        let list: Vec<String> = values.iter().map(u8::to_string).collect();
        let noun = if values.len() == 1 { "day" } else { "days" };
        return format!("on {noun} {} of the month", join(&list, "and"));
    }
    let phrases: Vec<String> = dom
        .items
        .iter()
        .map(|item| match *item {
            Item::Every { step } => format!("every {} day", ordinal(step)),
            Item::Value(v) => format!("day {v}"),
            Item::Range {
                start,
                end,
                step: 1,
            } => format!("days {start} through {end}"),
            Item::Range { start, end, step } => {
                format!("every {} day from {start} through {end}", ordinal(step))
            }
        })
        .collect();
    format!("on {} of the month", join(&phrases, "and"))
}

/// Day-of-week items as names: a plain range stays a range, steps are spelled out.
fn weekday_list(dow: &FieldSpec) -> Vec<String> {
    if let [
        Item::Range {
            start,
            end,
            step: 1,
        },
    ] = dow.items.as_slice()
        && end > start
    {
        return vec![format!(
            "{} through {}",
            weekday_name(*start),
            weekday_name(*end)
        )];
    }
    dow.values().map(|d| weekday_name(d).to_owned()).collect()
}

fn month_phrase(month: &FieldSpec) -> Option<String> {
    if is_every(month) {
        return None;
    }
    if let [
        Item::Range {
            start,
            end,
            step: 1,
        },
    ] = month.items.as_slice()
        && end > start
    {
        return Some(format!(
            "in {} through {}",
            month_name(*start),
            month_name(*end)
        ));
    }
    let names: Vec<String> = month.values().map(|m| month_name(m).to_owned()).collect();
    Some(format!("in {}", join(&names, "and")))
}

/// `*` as written (a field like `0-59` is spelled out instead).
fn is_every(spec: &FieldSpec) -> bool {
    spec.items == [Item::Every { step: 1 }]
}

/// The value of a field written as one plain value.
fn single_item(spec: &FieldSpec) -> Option<u8> {
    match spec.items.as_slice() {
        [Item::Value(v)] => Some(*v),
        _ => None,
    }
}

/// The values of a field written as a list of plain values, in increasing order.
fn all_values(spec: &FieldSpec) -> Option<Vec<u8>> {
    spec.items
        .iter()
        .all(|item| matches!(item, Item::Value(_)))
        .then(|| spec.values().collect())
}

fn join(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(expr: &str) -> String {
        describe(&Cron::parse(expr).expect("valid expression"))
    }

    #[test]
    fn fixed_times() {
        assert_eq!(text("0 0 * * *"), "At 00:00");
        assert_eq!(text("30 9 * * 1-5"), "At 09:30 on Monday through Friday");
        assert_eq!(text("0 9,18 * * *"), "At 09:00 and 18:00");
        assert_eq!(text("0,30 9,12 * * *"), "At 09:00, 09:30, 12:00 and 12:30");
        assert_eq!(text("15 * * * * *"), "At second 15 past every minute");
        assert_eq!(text("15 30 10 4 * *"), "At 10:30:15 on day 4 of the month");
    }

    #[test]
    fn day_rules_read_differently() {
        assert_eq!(
            text("0 0 13 * 5"),
            "At 00:00 on day 13 of the month and on Friday"
        );
        assert_eq!(
            text("0 0 */2 * 1"),
            "At 00:00 on every 2nd day of the month, if it falls on Monday"
        );
    }

    #[test]
    fn repeating_times() {
        assert_eq!(text("*/5 * * * *"), "Every 5 minutes");
        assert_eq!(text("* * * * *"), "Every minute");
        assert_eq!(
            text("*/15 9-17 * * MON-FRI"),
            "Every 15 minutes between 09:00 and 17:59 on Monday through Friday"
        );
        assert_eq!(text("0 * * * *"), "Every hour");
        assert_eq!(text("0 */2 * * *"), "Every 2 hours");
        assert_eq!(text("0 */5 * * *"), "At minute 0 past every 5th hour");
        assert_eq!(text("0 9-17 * * *"), "Every hour from 09:00 through 17:00");
        assert_eq!(
            text("0 9-17/2 * * 1-5"),
            "Every 2 hours from 09:00 through 17:00 on Monday through Friday"
        );
        assert_eq!(text("0 0 */6 * * *"), "Every 6 hours");
        assert_eq!(text("30 */2 * * *"), "At minute 30 past every 2nd hour");
        assert_eq!(
            text("0-10 * * * *"),
            "Every minute from minute 0 through 10"
        );
        assert_eq!(text("*/10 * * * * *"), "Every 10 seconds");
        assert_eq!(
            text("5/10 * 1 JAN,jul *"),
            "Every 10 minutes from minute 5 through 59 on day 1 of the month in January and July"
        );
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(23), "23rd");
    }
}
