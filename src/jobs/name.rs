//! Job names as users type them, validated into the form used for folders and the manifest.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use super::JobError;
use super::naming::{canonical_key, is_own_snake_case, to_snake_case};
use crate::build::scheduler_files::{GENERATED_JOB_FILES, RESERVED_PREFIX};
use crate::build::sources::SKIPPED_FOLDERS;

/// The longest job name, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// What a valid name looks like, for error messages.
pub const NAME_RULE: &str = "a job name is 1-64 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit; other words are snake_cased (`Send daily reports` becomes `send_daily_reports`)";

/// Characters Windows forbids in file names.
const RESERVED_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Names Windows reserves for devices, whatever the extension.
const DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7",
    "com8", "com9", "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A valid job name, and the text it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobName {
    name: String,
    given: String,
}

impl JobName {
    /// Keeps a name that is already `[a-z0-9][a-z0-9_-]*`, snake_cases other words, and rejects
    /// anything that could not be a folder name on every platform.
    pub fn parse(input: &str) -> Result<JobName, JobError> {
        Ok(JobName {
            name: JobName::check(input)?.into_owned(),
            given: input.to_owned(),
        })
    }

    /// The name [`JobName::parse`] makes of `input`, borrowed when it is `input` itself.
    fn check(input: &str) -> Result<Cow<'_, str>, JobError> {
        let reject = |rule: String| JobError::InvalidName {
            name: input.escape_debug().to_string(),
            rule,
        };
        check_unsafe(input).map_err(|rule| reject(rule.to_owned()))?;
        let count = input.chars().count();
        if count > MAX_NAME_LEN {
            return Err(reject(format!(
                "it has {count} characters, more than the {MAX_NAME_LEN} allowed"
            )));
        }
        let name = if is_canonical(input) {
            Cow::Borrowed(input)
        } else {
            let snake = to_snake_case(input);
            if snake.is_empty() {
                return Err(reject("it has no letters or digits".into()));
            }
            if !is_canonical(&snake) {
                return Err(reject(format!(
                    "it becomes `{}`, which still has characters other than `a-z`, `0-9`, `_` and `-`",
                    snake.escape_debug()
                )));
            }
            if snake.chars().count() > MAX_NAME_LEN {
                return Err(reject(format!(
                    "it becomes `{snake}`, more than the {MAX_NAME_LEN} characters allowed"
                )));
            }
            Cow::Owned(snake)
        };
        if DEVICE_NAMES.contains(&name.as_ref()) {
            return Err(reject(format!(
                "`{name}` is a reserved device name on Windows"
            )));
        }
        if let Some(reserved) = reserved(&name) {
            return Err(reject(reserved.to_string()));
        }
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The text the user typed.
    pub fn given(&self) -> &str {
        &self.given
    }

    /// True when the name differs from what was typed.
    pub fn was_normalized(&self) -> bool {
        self.name != self.given
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Why a name cannot be used in `build/backend/jobs`, where job folders sit beside the files
/// the build generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// The build writes a file of this name there: `(name, what it is)`.
    Generated(&'static str, &'static str),
    /// The name begins with [`RESERVED_PREFIX`].
    Prefix,
    /// The build never enters a folder of this name.
    Skipped(&'static str),
}

impl fmt::Display for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reserved::Generated(file, what) => write!(
                f,
                "`build/backend/jobs/{file}` is {what}, written by `webstir build`"
            ),
            Reserved::Prefix => write!(
                f,
                "names that begin with `{RESERVED_PREFIX}` are reserved for files `webstir build` generates in `build/backend/jobs`"
            ),
            Reserved::Skipped(folder) => write!(
                f,
                "`webstir build` skips `{folder}` folders, so the job would never be built"
            ),
        }
    }
}

/// Whether `name` (a job name, or the name of an entry of `src/backend/jobs`) is reserved.
/// Names are compared the way job names are, by their snake_case key, which also catches the
/// spellings a case-insensitive file system would confuse (`Scheduler`, `SCHEDULER.JS`).
pub fn reserved(name: &str) -> Option<Reserved> {
    // The keys of the reserved names, made once: the manifest reader checks every job's name.
    static KEYS: LazyLock<(Vec<String>, Vec<String>)> = LazyLock::new(|| {
        (
            GENERATED_JOB_FILES
                .iter()
                .map(|(file, _)| canonical_key(file))
                .collect(),
            SKIPPED_FOLDERS.iter().map(|f| canonical_key(f)).collect(),
        )
    });
    let (generated, skipped) = &*KEYS;
    // Almost every name is its own key, which then need not be made.
    let key = if is_own_snake_case(name) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(canonical_key(name))
    };
    if let Some(i) = generated.iter().position(|k| *k == key) {
        let (file, what) = GENERATED_JOB_FILES[i];
        return Some(Reserved::Generated(file, what));
    }
    if let Some(i) = skipped.iter().position(|k| *k == key) {
        return Some(Reserved::Skipped(SKIPPED_FOLDERS[i]));
    }
    let after = key.strip_prefix(RESERVED_PREFIX)?;
    (after.is_empty() || after.starts_with('_')).then_some(Reserved::Prefix)
}

/// The rule a job name read from a manifest breaks, if any: a hand-written entry must pass
/// every rule `add-job` applies, in whatever spelling it is written.
pub fn check_manifest_name(name: &str) -> Result<(), String> {
    match JobName::check(name) {
        Ok(_) => Ok(()),
        Err(JobError::InvalidName { rule, .. }) => Err(rule),
        Err(other) => Err(other.to_string()),
    }
}

/// `[a-z0-9][a-z0-9_-]*`: kept exactly as given.
pub fn is_canonical(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The rules no normalization can repair, because the text could escape or break a path.
/// Returns the rule that `name` breaks. Also used to check names read from a manifest.
pub fn check_unsafe(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("it is empty");
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are not names");
    }
    if name.contains(['/', '\\']) {
        return Err("it contains a path separator (`/` or `\\`)");
    }
    if name.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    if name.contains(RESERVED_CHARS) {
        return Err("it contains one of `<>:\"|?*`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(input: &str) -> String {
        match JobName::parse(input) {
            Err(JobError::InvalidName { rule, .. }) => rule,
            other => panic!("expected a rejection of {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn keeps_canonical_names_exactly() {
        for name in [
            "cleanup",
            "send-daily",
            "a_b-c",
            "0day",
            "x",
            &"a".repeat(64),
        ] {
            let parsed = JobName::parse(name).expect("valid");
            assert_eq!(parsed.as_str(), name);
            assert!(!parsed.was_normalized());
        }
    }

    #[test]
    fn normalizes_words_to_snake_case() {
        for input in [
            "SendDailyReports",
            "Send daily reports",
            "send daily-Reports",
        ] {
            let parsed = JobName::parse(input).expect("normalizable");
            assert_eq!(parsed.as_str(), "send_daily_reports");
            assert!(parsed.was_normalized());
            assert_eq!(parsed.given(), input);
        }
        assert_eq!(JobName::parse("_private").expect("ok").as_str(), "private");
    }

    #[test]
    fn rejects_each_rule() {
        assert_eq!(rule_of(""), "it is empty");
        assert_eq!(rule_of("   "), "it is empty");
        assert_eq!(rule_of(".."), "`.` and `..` are not names");
        assert!(rule_of("a/b").contains("path separator"));
        assert!(rule_of("a\\b").contains("path separator"));
        assert!(rule_of("a\tb").contains("control character"));
        assert!(rule_of("a?b").contains("<>:"));
        assert!(rule_of("con").contains("reserved device name"));
        assert!(rule_of("COM1").contains("reserved device name"));
        assert!(
            rule_of("scheduler").contains("`build/backend/jobs/scheduler` is the scheduler binary")
        );
        assert!(rule_of("node_modules").contains("skips `node_modules`"));
        assert!(rule_of("webstir").contains("begin with `webstir`"));
        assert!(rule_of(&"a".repeat(65)).contains("more than the 64"));
        assert!(rule_of("---").contains("no letters or digits"));
        assert!(rule_of("café").contains("still has characters"));
        assert!(rule_of(&"aB".repeat(32)).contains("more than the 64"));
    }

    #[test]
    fn generated_file_names_are_reserved_in_every_spelling() {
        for name in [
            "scheduler",
            "Scheduler",
            "SCHEDULER",
            "scheduler.js",
            "Scheduler.JS",
            "scheduler_js",
            "webstir-runner.mjs",
            "webstir",
            "webstir_tenants",
            "WebstirNext",
            "node_modules",
            "NodeModules",
        ] {
            assert!(reserved(name).is_some(), "{name} should be reserved");
            assert!(check_manifest_name(name).is_err(), "{name}");
        }
        for name in [
            "schedulers",
            "scheduler2",
            "my_scheduler",
            "webstirs",
            "modules",
            "tenants",
        ] {
            assert_eq!(reserved(name), None, "{name}");
            assert_eq!(check_manifest_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn manifest_names_follow_the_add_job_rules() {
        assert_eq!(check_manifest_name("Send Daily"), Ok(()));
        assert!(check_manifest_name("con").is_err());
        assert!(check_manifest_name("café").is_err());
        assert!(check_manifest_name("../x").is_err());
    }

    #[test]
    fn error_text_escapes_control_characters() {
        let err = JobName::parse("a\u{1b}[31m").expect_err("control character");
        assert!(err.to_string().contains("a\\u{1b}[31m"), "{err}");
    }
}
