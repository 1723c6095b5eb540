//! Which store the scheduler uses: `sqlite` (the default, `.webstir/state.db` in the
//! workspace) or a PostgreSQL URL, from `--store`, `WEBSTIR_STORE` or `store` in webstir.toml.

use std::fmt;

use super::StoreError;

/// The words `--store` accepts, for messages.
pub const ACCEPTED: &str = "`sqlite` (the default, .webstir/state.db) or a PostgreSQL URL such as `postgres://user:password@host:5432/database`";

/// Where runs are recorded and fires claimed.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreLocation {
    /// `.webstir/state.db` in the workspace: one watcher per workspace.
    #[default]
    Sqlite,
    /// A PostgreSQL database that any number of watchers may share. Holds the URL as given,
    /// password included: print it only through [`StoreLocation::redacted`].
    Postgres(String),
}

impl StoreLocation {
    /// Reads a `--store` value.
    pub fn parse(raw: &str) -> Result<StoreLocation, StoreError> {
        let text = raw.trim();
        if text.eq_ignore_ascii_case("sqlite") {
            return Ok(StoreLocation::Sqlite);
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(text.to_owned()));
        }
        Err(StoreError::UnknownStore {
            value: redact(text),
        })
    }

    /// The first of a flag (or its environment variable) and webstir.toml's `store` that is
    /// set; SQLite when neither is.
    pub fn resolve(flag: Option<&str>, setting: Option<&str>) -> Result<StoreLocation, StoreError> {
        flag.or(setting)
            .map_or(Ok(StoreLocation::Sqlite), StoreLocation::parse)
    }

    /// For messages: `sqlite`, or the URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            StoreLocation::Sqlite => "sqlite".to_owned(),
            StoreLocation::Postgres(url) => redact(url),
        }
    }
}

// A URL holds a password: `{:?}` must not print it either.
impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite => f.write_str("Sqlite"),
            StoreLocation::Postgres(_) => write!(f, "Postgres({})", self.redacted()),
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `scheme://user:secret@host/db?password=secret` → `scheme://user:***@host/db?password=***`.
/// Works on any text: a value that is not a URL at all comes back unchanged unless it looks
/// like it carries credentials.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => return redact_keywords(url),
    };
    // tokio-postgres takes everything before the first `@` as `user:password`, even a `/` or
    // `?` typed raw in the password, so the authority runs at least that far.
    let after_first_at = rest.find('@').map_or(0, |at| at + 1);
    let authority_end = rest[after_first_at..]
        .find(['/', '?'])
        .map_or(rest.len(), |i| after_first_at + i);
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// A libpq key/value string (`host=db password=secret`) is not accepted, but it is echoed in
/// the refusal: everything from the password on is hidden (its value may be quoted, spaces and all).
fn redact_keywords(text: &str) -> String {
    match text.to_ascii_lowercase().find("password") {
        Some(at) => format!("{}password=***", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sqlite_and_both_postgres_schemes() {
        assert_eq!(
            StoreLocation::parse("sqlite").ok(),
            Some(StoreLocation::Sqlite)
        );
        assert_eq!(
            StoreLocation::parse(" SQLite ").ok(),
            Some(StoreLocation::Sqlite)
        );
        for url in [
            "postgres://db/jobs",
            "postgresql://u@db:5433/jobs?sslmode=require",
        ] {
            assert_eq!(
                StoreLocation::parse(url).ok(),
                Some(StoreLocation::Postgres(url.to_owned()))
            );
        }
        assert_eq!(
            StoreLocation::resolve(None, None).ok(),
            Some(StoreLocation::Sqlite)
        );
        assert_eq!(
            StoreLocation::resolve(Some("sqlite"), Some("postgres://db/x")).ok(),
            Some(StoreLocation::Sqlite)
        );
    }

    #[test]
    fn anything_else_is_refused_by_name_without_its_password() {
        let error = StoreLocation::parse("mysql://root:hunter2@db/jobs").expect_err("refused");
        let message = error.to_string();
        assert!(message.contains("mysql://root:***@db/jobs"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("`sqlite`"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://webstir:s3cr:et@db.example:5432/jobs?sslmode=require"),
            "postgres://webstir:***@db.example:5432/jobs?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://db/jobs?user=w&password=s3cret&sslmode=verify-full"),
            "postgresql://db/jobs?user=w&password=***&sslmode=verify-full"
        );
        assert_eq!(
            redact("postgres://webstir@db/jobs"),
            "postgres://webstir@db/jobs"
        );
        // Raw `/`, `?` and `@` in a password: tokio-postgres still reads them as the password.
        assert_eq!(
            redact("postgres://u:s3/cr?et@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact("postgres://u:s3@cret@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("host=db password='s3 cret' dbname=jobs"),
            "host=db password=***"
        );
        let location = StoreLocation::Postgres("postgres://u:p4ss@h/d".into());
        assert!(!format!("{location:?} {location}").contains("p4ss"));
    }
}
