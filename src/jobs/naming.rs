//! Job names: the canonical snake_case form Pinstripe uses, and the key names are matched by.

/// Splits `input` into lowercase words: at every character that is not a letter or digit, at a
/// lower-to-upper change (`sendDaily`), and before the last capital of a run of capitals
/// followed by a lowercase letter (`HTTPServer` → `http`, `server`).
pub fn words(input: &str) -> Vec<String> {
    let chars: Vec<char> = input.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_is_lower) {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `SendDailyReports`, `Send daily reports`, `send-daily-reports` → `send_daily_reports`.
///
/// [`words`] joined with `_`, written in one pass into one string: every manifest read keys
/// each job by it, and a manifest may hold thousands of jobs.
pub fn to_snake_case(input: &str) -> String {
    if is_own_snake_case(input) {
        return input.to_owned();
    }
    let mut out = String::with_capacity(input.len());
    let mut in_word = false;
    let mut prev = None::<char>;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            in_word = false;
        } else {
            if in_word
                && c.is_uppercase()
                && let Some(prev) = prev
            {
                let next_is_lower = chars.peek().is_some_and(|n| n.is_lowercase());
                if prev.is_lowercase()
                    || prev.is_numeric()
                    || (prev.is_uppercase() && next_is_lower)
                {
                    in_word = false;
                }
            }
            if !in_word {
                if !out.is_empty() {
                    out.push('_');
                }
                in_word = true;
            }
            out.extend(c.to_lowercase());
        }
        prev = Some(c);
    }
    out
}

/// True when `input` is its own snake_case: words of `a-z0-9` joined by single underscores
/// (the form of almost every name in a manifest), told without building the snake_case.
pub fn is_own_snake_case(input: &str) -> bool {
    let bytes = input.as_bytes();
    bytes.first() != Some(&b'_')
        && bytes.last() != Some(&b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !input.contains("__")
}

/// The key two job names are compared by: names that differ only in case, separators or
/// camel-casing (`send-daily-reports`, `SendDailyReports`, `send_daily_reports`) are the same job.
pub fn canonical_key(name: &str) -> String {
    to_snake_case(name)
}

/// The name among `names` closest to `key` (a [`canonical_key`]), for "did you mean" hints;
/// `None` when nothing is similar enough to be a likely typo.
pub fn closest<'a>(names: impl IntoIterator<Item = &'a str>, key: &str) -> Option<&'a str> {
    names
        .into_iter()
        .map(|name| {
            let score = strsim::normalized_damerau_levenshtein(&canonical_key(name), key);
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_the_forms_pinstripe_accepts() {
        assert_eq!(to_snake_case("SendDailyReports"), "send_daily_reports");
        assert_eq!(to_snake_case("Send daily reports"), "send_daily_reports");
        assert_eq!(to_snake_case("send-daily-reports"), "send_daily_reports");
        assert_eq!(to_snake_case("HTTPServerCheck"), "http_server_check");
        assert_eq!(to_snake_case("backup2Db"), "backup2_db");
        assert_eq!(to_snake_case("  cleanup  "), "cleanup");
    }

    proptest::proptest! {
        #[test]
        fn the_one_pass_snake_case_joins_the_words(input in "[a-zA-Z0-9 _.Éé-]{0,12}") {
            proptest::prop_assert_eq!(to_snake_case(&input), words(&input).join("_"));
        }

        #[test]
        fn a_name_that_is_its_own_snake_case_is_told_without_making_it(
            input in "[a-z0-9_A-]{0,8}"
        ) {
            let key = words(&input).join("_");
            proptest::prop_assert_eq!(is_own_snake_case(&input), key == input);
        }
    }

    #[test]
    fn canonical_keys_match_across_spellings() {
        let key = canonical_key("send_daily_reports");
        assert_eq!(canonical_key("send-daily-reports"), key);
        assert_eq!(canonical_key("SendDailyReports"), key);
        assert_ne!(canonical_key("send_daily_report"), key);
    }
}
