//! Time zones: IANA names through chrono-tz, and the order in which a zone is chosen.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono_tz::Tz;

use super::error::ScheduleError;
use super::posix_tz::PosixTz;

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

/// The zones of many jobs with one fallback (the command's `--timezone`, webstir.toml's
/// `timezone`), as [`resolve_timezone`] resolves them, each distinct zone once: a manifest of
/// thousands of jobs names a handful of zones.
#[derive(Debug)]
pub struct Zones<'a> {
    fallback: Option<&'a str>,
    known: HashMap<Option<String>, Result<Tz, ScheduleError>>,
}

impl<'a> Zones<'a> {
    pub fn new(fallback: Option<&'a str>) -> Zones<'a> {
        Zones {
            fallback,
            known: HashMap::new(),
        }
    }

    /// The zone of a job whose own zone is `job`.
    pub fn resolve(&mut self, job: &Option<String>) -> Result<Tz, ScheduleError> {
        if let Some(known) = self.known.get(job) {
            return known.clone();
        }
        let resolved = resolve_timezone(job.as_deref(), self.fallback);
        self.known.insert(job.clone(), resolved.clone());
        resolved
    }
}

/// `TZ`, else the system zone, else UTC. Looked up once per process: commands resolve a zone
/// for every job, and a manifest of thousands of jobs would otherwise read `/etc/timezone`
/// thousands of times.
pub fn environment_timezone() -> Result<Tz, ScheduleError> {
    static ZONE: OnceLock<Result<Tz, ScheduleError>> = OnceLock::new();
    ZONE.get_or_init(|| match std::env::var("TZ") {
        Ok(value) if !value.is_empty() => zone_of_tz_variable(&value),
        // An empty `TZ` means UTC to the C library; an unset one means the system zone.
        Ok(_) => Ok(Tz::UTC),
        Err(_) => Ok(system_timezone().unwrap_or(Tz::UTC)),
    })
    .clone()
}

/// The zone a `TZ` value names, the way the C library reads it: an IANA name (`Europe/London`),
/// or, after a `:`, a name or a zone file (`:/etc/localtime`, `:/usr/share/zoneinfo/UTC`), or a
/// POSIX rule (`EST5EDT,M3.2.0,M11.1.0`), which stands for the IANA zone that follows it.
fn zone_of_tz_variable(value: &str) -> Result<Tz, ScheduleError> {
    let unknown = || ScheduleError::UnknownEnvironmentTimeZone(value.to_owned());
    let name = value.strip_prefix(':').unwrap_or(value);
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    if name.starts_with('/') {
        return zone_of_file(Path::new(name)).ok_or_else(unknown);
    }
    if let Ok(tz) = parse_timezone(zone_name_of_path(name)) {
        return Ok(tz);
    }
    match PosixTz::parse(name) {
        Some(rule) => rule
            .matching_zone(chrono::Utc::now())
            .ok_or_else(|| ScheduleError::UnmatchedPosixRule(value.to_owned())),
        None => Err(unknown()),
    }
}

/// The zone of a zone file: its name after `zoneinfo/`, following symbolic links as the C
/// library does (`/etc/localtime` is usually a link into `/usr/share/zoneinfo`).
fn zone_of_file(path: &Path) -> Option<Tz> {
    let resolved = std::fs::canonicalize(path).ok()?;
    let resolved = resolved.to_string_lossy();
    for candidate in [path.to_string_lossy(), resolved] {
        if let Some((_, name)) = candidate.split_once("zoneinfo/")
            && let Ok(tz) = parse_timezone(name)
        {
            return Some(tz);
        }
    }
    // A copied (not linked) `/etc/localtime`: Debian keeps its name in `/etc/timezone`.
    if path == Path::new("/etc/localtime") {
        return system_timezone();
    }
    None
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
