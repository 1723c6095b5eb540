//! Finding an existing manifest entry by any form of its name, the way `--job` does.

use super::{JobError, canonical_key, closest};

/// The index and the name as written of the entry `given` names. Names match by
/// [`canonical_key`] (`SendDailyReports` finds `send_daily_reports`).
pub fn find_entry(names: &[Option<String>], given: &str) -> Result<(usize, String), JobError> {
    let key = canonical_key(given);
    let mut matches = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.as_deref().map(|n| (i, n)))
        .filter(|(_, n)| canonical_key(n) == key);
    match (matches.next(), matches.next()) {
        (Some((index, name)), None) => Ok((index, name.to_owned())),
        (Some((_, first)), Some((_, second))) => Err(JobError::Ambiguous {
            name: given.escape_debug().to_string(),
            first: first.to_owned(),
            second: second.to_owned(),
        }),
        (None, _) => Err(JobError::NotFound {
            name: given.escape_debug().to_string(),
            suggestion: closest(names.iter().flatten().map(String::as_str), &key)
                .map(str::to_owned),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_form_finds_the_entry_and_a_typo_gets_a_suggestion() {
        let names = vec![
            Some("nightly".into()),
            None,
            Some("send_daily_reports".into()),
        ];
        assert_eq!(find_entry(&names, "SendDailyReports").expect("found").0, 2);
        match find_entry(&names, "nightley") {
            Err(JobError::NotFound { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("nightly"));
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
}
