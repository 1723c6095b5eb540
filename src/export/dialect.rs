//! Writing a parsed cron back out for another scheduler. Fields are rendered from the set of
//! values they allow, not from the text the user wrote, so that names, `7` for Sunday and
//! Vixie's `a/n` steps never reach a dialect that reads them differently.

use super::Target;
use crate::schedule::{Cron, DayRule, FieldSpec, Schedule, ScheduleKind};

/// How a dialect spells ranges and steps.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// `-` in cron, `..` in systemd.
    pub range: &'static str,
    /// `*/n` and `a-b/n` (cron) or `a/n` running to the field's end (systemd, AWS).
    pub open_step: bool,
}

pub const CRON: Style = Style {
    range: "-",
    open_step: false,
};

/// The values of a field, compressed: `*/5`, `5-59/10`, `1-5`, `0,30`.
pub fn render_values(
    values: &[u8],
    lo: u8,
    hi: u8,
    style: Style,
    name: &dyn Fn(u8) -> String,
) -> String {
    if let Some(step) = progression(values, hi) {
        let first = values[0];
        return if style.open_step {
            format!("{}/{step}", name(first))
        } else if first == lo {
            format!("*/{step}")
        } else {
            format!("{}{}{}/{step}", name(first), style.range, name(hi))
        };
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let start = i;
        while i + 1 < values.len() && values[i + 1] == values[i] + 1 {
            i += 1;
        }
        if i - start >= 2 {
            parts.push(format!(
                "{}{}{}",
                name(values[start]),
                style.range,
                name(values[i])
            ));
        } else {
            parts.extend(values[start..=i].iter().map(|v| name(*v)));
        }
        i += 1;
    }
    parts.join(",")
}

/// The step when `values` are three or more evenly spaced values (step > 1) that run to the
/// end of the field, as `*/n` or `a/n` would write them.
fn progression(values: &[u8], hi: u8) -> Option<u8> {
    if values.len() < 3 {
        return None;
    }
    let step = values[1].checked_sub(values[0])?;
    let even = values
        .windows(2)
        .all(|w| w[1].checked_sub(w[0]) == Some(step));
    (step > 1 && even && u16::from(values[values.len() - 1]) + u16::from(step) > u16::from(hi))
        .then_some(step)
}

/// A field rendered for a cron dialect: `*` when every value is allowed and `star` is true.
pub fn cron_field(spec: &FieldSpec, star: bool) -> String {
    if star && spec.is_full() {
        return "*".to_owned();
    }
    let (lo, hi) = spec.field.bounds();
    let hi = if spec.field == crate::schedule::Field::DayOfWeek {
        6
    } else {
        hi
    };
    let values: Vec<u8> = spec.values().collect();
    render_values(&values, lo, hi, CRON, &|v| v.to_string())
}

/// The five fields of a cron or macro schedule as any minute-resolution cron reads them, or
/// why it cannot be written so. Both day fields are restricted only when they are ORed
/// (Vixie's rule, which Kubernetes, Cloud Scheduler and GitHub share); a field that allows
/// every value is written `*` only when `*` keeps the day rule.
pub fn five_fields(schedule: &Schedule, target: Target) -> Result<[String; 5], String> {
    let name = target.display_name();
    let cron = match schedule.kind() {
        ScheduleKind::Cron | ScheduleKind::Macro => schedule
            .cron()
            .expect("cron and macro schedules have a cron"),
        ScheduleKind::Rate => {
            return Err(format!(
                "a `rate(...)` counts from when the scheduler starts, and {name} has only \
                 wall-clock cron schedules"
            ));
        }
        ScheduleKind::Reboot => {
            return Err(format!(
                "`@reboot` has no equivalent: {name} has no start-up event"
            ));
        }
    };
    minute_resolution(cron, target)?;
    let [_, minute, hour, dom, month, dow] = cron.fields();
    let (dom_text, dow_text) = match cron.day_rule() {
        DayRule::Both if !dom.is_full() && !dow.is_full() => {
            return Err(format!(
                "both day fields are restricted and must both match (Vixie's rule when one is \
                 written `*/n`), which cron on {name} does not express"
            ));
        }
        DayRule::Both => (cron_field(dom, true), cron_field(dow, true)),
        DayRule::Either => (cron_field(dom, false), cron_field(dow, false)),
    };
    Ok([
        cron_field(minute, true),
        cron_field(hour, true),
        dom_text,
        cron_field(month, true),
        dow_text,
    ])
}

/// A 6-field cron is fine where its seconds field is exactly `0`: it fires at the same times
/// as its 5-field form.
pub fn minute_resolution(cron: &Cron, target: Target) -> Result<(), String> {
    if cron.has_seconds() && cron.fields()[0].single() != Some(0) {
        return Err(format!(
            "it fires on seconds, and {} schedules have minute resolution",
            target.display_name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five(expr: &str) -> Result<String, String> {
        five_fields(&Schedule::parse(expr).expect("valid"), Target::Kubernetes).map(|f| f.join(" "))
    }

    #[test]
    fn renders_canonical_fields() {
        assert_eq!(
            five("*/15 9-17 * * MON-FRI").as_deref(),
            Ok("*/15 9-17 * * 1-5")
        );
        assert_eq!(five("5/10 * * * *").as_deref(), Ok("5-59/10 * * * *"));
        assert_eq!(five("@weekly").as_deref(), Ok("0 0 * * 0"));
        assert_eq!(five("0 0 * * 7").as_deref(), Ok("0 0 * * 0"));
        assert_eq!(five("0 0 * * 1/2").as_deref(), Ok("0 0 * * 0,1,3,5"));
        assert_eq!(five("0 0 13 * 5").as_deref(), Ok("0 0 13 * 5"));
        assert_eq!(five("0 0 0 * * *").as_deref(), Ok("0 0 * * *"));
    }

    #[test]
    fn a_full_day_field_keeps_the_either_rule() {
        // Neither field starts with `*`, so Vixie ORs them: every day. `*` would AND them.
        assert_eq!(five("0 0 1-31 * 1").as_deref(), Ok("0 0 1-31 * 1"));
    }

    #[test]
    fn refuses_what_minute_crons_cannot_say() {
        assert!(five("*/30 * * * * *").is_err());
        assert!(five("0 0 */2 * 1").is_err());
        assert!(five("rate(5 minutes)").is_err());
        assert!(five("@reboot").is_err());
    }
}
