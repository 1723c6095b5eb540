//! Format-preserving edits of `package.json` (owned by the foundation work: appending a job).
