//! Time zones: IANA names through chrono-tz, and the order in which a zone is chosen.

use std::sync::OnceLock;

use chrono_tz::Tz;

use super::error::ScheduleError;

/// Parses an IANA time-zone name such as `Europe/London` (exact case first, then any case).
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .ok()
        .or_else(|| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .copied()
                .find(|tz| tz.name().eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// The zone a schedule is evaluated in: the job's own, else the command's `--timezone`, else
/// `TZ`, else the system zone, else UTC.
pub fn resolve_timezone(job: Option<&str>, flag: Option<&str>) -> Result<Tz, ScheduleError> {
    if let Some(name) = job.or(flag) {
        return parse_timezone(name);
    }
    environment_timezone()
}

/// `TZ`, else the system zone, else UTC. Looked up once per process: commands resolve a zone
/// for every job, and a manifest of thousands of jobs would otherwise read `/etc/timezone`
/// thousands of times.
fn environment_timezone() -> Result<Tz, ScheduleError> {
    static ZONE: OnceLock<Result<Tz, ScheduleError>> = OnceLock::new();
    ZONE.get_or_init(|| {
        if let Ok(value) = std::env::var("TZ") {
            let name = value.trim_start_matches(':');
            if !name.is_empty() {
                return parse_timezone(zone_name_of_path(name));
            }
        }
        Ok(system_timezone().unwrap_or(Tz::UTC))
    })
    .clone()
}

/// `TZ` may name a zone file (`:/usr/share/zoneinfo/Europe/London`); its name is the part
/// after `zoneinfo/`.
fn zone_name_of_path(value: &str) -> &str {
    value
        .split_once("zoneinfo/")
        .map_or(value, |(_, name)| name)
}

fn system_timezone() -> Option<Tz> {
    if let Ok(name) = std::fs::read_to_string("/etc/timezone")
        && let Ok(tz) = name.trim().parse::<Tz>()
    {
        return Some(tz);
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let target = target.to_string_lossy();
    zone_name_of_path(&target).parse::<Tz>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_file_paths_give_their_zone_name() {
        assert_eq!(
            zone_name_of_path("/usr/share/zoneinfo/Europe/London"),
            "Europe/London"
        );
        assert_eq!(zone_name_of_path("UTC"), "UTC");
    }

    #[test]
    fn names_parse_in_any_case() {
        assert_eq!(parse_timezone("europe/london"), Ok(Tz::Europe__London));
        assert!(matches!(
            parse_timezone("Mars/Olympus"),
            Err(ScheduleError::UnknownTimeZone(_))
        ));
    }
}
