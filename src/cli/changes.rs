//! Rendering what a job command changed (or, with `--dry-run`, would change), shared by
//! `add-job`, `remove-job` and `rename-job`.

use std::path::Path;

use serde_json::{Value, json};

use crate::jobs::Changes;

/// The diff of package.json, then one line per file operation, in the words of `dry_run`.
pub fn print_text(changes: &Changes, dry_run: bool) {
    let (create, moves, delete, keep) = if dry_run {
        ("Would create", "Would move", "Would delete", "Would leave")
    } else {
        ("Created", "Moved", "Deleted", "Left")
    };
    if dry_run {
        print!("{}", changes.diff);
    }
    for path in &changes.created {
        println!("{create} {}", path.display());
    }
    for (from, to) in &changes.moved {
        println!("{moves} {} to {}", from.display(), to.display());
    }
    for path in &changes.deleted {
        println!("{delete} {}", path.display());
    }
    for path in &changes.kept {
        println!(
            "{keep} {} in place (pass --delete-source to delete it)",
            path.display()
        );
    }
}

pub fn print_dry_run_footer() {
    println!("Dry run: nothing was changed.");
}

/// The changes as JSON members, merged into each command's own report.
pub fn json_members(changes: &Changes, dry_run: bool) -> Value {
    let paths = |paths: &[std::path::PathBuf]| -> Vec<String> {
        paths.iter().map(|p| display(p)).collect()
    };
    json!({
        "dryRun": dry_run,
        "diff": changes.diff,
        "created": paths(&changes.created),
        "moved": changes
            .moved
            .iter()
            .map(|(from, to)| json!({ "from": display(from), "to": display(to) }))
            .collect::<Vec<_>>(),
        "deleted": paths(&changes.deleted),
        "kept": paths(&changes.kept),
    })
}

/// Adds the members of `extra` to the object `report`.
pub fn merge(mut report: Value, extra: Value) -> Value {
    if let (Some(report), Value::Object(extra)) = (report.as_object_mut(), extra) {
        report.extend(extra);
    }
    report
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
