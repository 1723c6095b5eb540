//! The files that make a built workspace runnable with Node alone: the native scheduler (this
//! very binary, which acts as the scheduler when invoked as `scheduler`), the `scheduler.js`
//! shim that Webstir's guide runs, the job runner script and the tenant listing script.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::BuildError;
use super::incremental::BinaryStamp;
use super::output::{OutputTree, Written};

/// File names inside `build/backend/jobs`.
pub const SCHEDULER_BINARY: &str = "scheduler";
pub const SCHEDULER_SHIM: &str = "scheduler.js";

/// Every name the build writes into `build/backend/jobs`, beside the job folders, with what
/// it is. Job names and sources may not claim them ([`crate::jobs::name::reserved`]); a test
/// checks that [`install`] writes exactly these.
pub const GENERATED_JOB_FILES: &[(&str, &str)] = &[
    (SCHEDULER_BINARY, "the scheduler binary"),
    (SCHEDULER_SHIM, "the scheduler shim for Node"),
    (crate::runner::RUNNER_FILE_NAME, "the job runner script"),
    (
        crate::runner::TENANTS_FILE_NAME,
        "the tenant listing script",
    ),
    (
        crate::runner::worker::WORKER_FILE_NAME,
        "the warm worker script",
    ),
];

/// Names in `build/backend/jobs` that begin with this word are kept for the files later
/// versions generate there, so that an upgrade never collides with a user's job.
pub const RESERVED_PREFIX: &str = "webstir";

/// Writes the scheduler binary, its shim, the runner script and the tenant listing script; returns how many files were
/// replaced and the stamp of the binary copy to remember.
pub fn install(
    tree: &mut OutputTree,
    previous: Option<BinaryStamp>,
) -> Result<(usize, Option<BinaryStamp>), BuildError> {
    let jobs_dir = tree.path("jobs");
    tree.ensure_dir(&jobs_dir)?;
    // A folder left where a generated file goes (by a job built before such names were
    // reserved) would otherwise fail the build with a bare `Is a directory`.
    for (name, what) in GENERATED_JOB_FILES {
        let path = jobs_dir.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(BuildError::GeneratedPathTaken { path, what });
        }
    }
    let mut replaced = 0;

    let shim = crate::templates::render("build/scheduler.js", &serde_json::json!({}))?;
    if tree.write_if_changed(&jobs_dir.join(SCHEDULER_SHIM), shim.as_bytes())? == Written::Replaced
    {
        replaced += 1;
    }

    let runner = jobs_dir.join(crate::runner::RUNNER_FILE_NAME);
    for script in [
        runner.clone(),
        jobs_dir.join(crate::runner::TENANTS_FILE_NAME),
        jobs_dir.join(crate::runner::worker::WORKER_FILE_NAME),
    ] {
        if fs::symlink_metadata(&script).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(BuildError::OutputSymlink { path: script });
        }
    }
    crate::runner::install_runner_script(&jobs_dir).map_err(|e| BuildError::io(&runner, e))?;

    let exe = std::env::current_exe().map_err(|e| BuildError::io("the webstir binary", e))?;
    let (copied, stamp) = install_binary(&exe, &jobs_dir.join(SCHEDULER_BINARY), previous)?;
    if copied {
        replaced += 1;
    }
    Ok((replaced, Some(stamp)))
}

/// Hard-links (or, across file systems, copies) `exe` to `dest` unless `dest` already is that
/// binary. The new file is put in place by a rename, so a running scheduler keeps its inode.
fn install_binary(
    exe: &Path,
    dest: &Path,
    previous: Option<BinaryStamp>,
) -> Result<(bool, BinaryStamp), BuildError> {
    let exe_meta = match fs::metadata(exe) {
        Ok(meta) => meta,
        // The running binary was replaced (an upgrade, a `cargo build`) while `--watch` ran:
        // the scheduler already in place stays until a build by the new binary.
        Err(e) if e.kind() == io::ErrorKind::NotFound => match previous {
            Some(stamp) if fs::symlink_metadata(dest).is_ok_and(|m| m.is_file()) => {
                return Ok((false, stamp));
            }
            _ => return Err(BuildError::io(exe, e)),
        },
        Err(e) => return Err(BuildError::io(exe, e)),
    };
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(BuildError::OutputSymlink {
                path: dest.to_path_buf(),
            });
        }
        Ok(meta) => {
            let same_inode = meta.dev() == exe_meta.dev() && meta.ino() == exe_meta.ino();
            let stamp = stamp_of(&exe_meta, &meta);
            if same_inode || previous == Some(stamp) {
                return Ok((false, stamp));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(BuildError::io(dest, e)),
    }
    let temp = temp_beside(dest);
    let _ = fs::remove_file(&temp);
    if fs::hard_link(exe, &temp).is_err() {
        fs::copy(exe, &temp).map_err(|e| BuildError::io(&temp, e))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755))
            .map_err(|e| BuildError::io(&temp, e))?;
    }
    if let Err(e) = fs::rename(&temp, dest) {
        let _ = fs::remove_file(&temp);
        return Err(BuildError::io(dest, e));
    }
    let meta = fs::metadata(dest).map_err(|e| BuildError::io(dest, e))?;
    Ok((true, stamp_of(&exe_meta, &meta)))
}

fn stamp_of(exe: &fs::Metadata, copy: &fs::Metadata) -> BinaryStamp {
    BinaryStamp {
        exe_len: exe.len(),
        exe_mtime_ns: mtime_ns(exe),
        copy_len: copy.len(),
        copy_mtime_ns: mtime_ns(copy),
    }
}

fn mtime_ns(meta: &fs::Metadata) -> i128 {
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

fn temp_beside(dest: &Path) -> PathBuf {
    dest.with_file_name(format!(".scheduler.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_writes_exactly_the_reserved_names() {
        // Beside the test binary, so that it is hard-linked rather than copied.
        let exe = std::env::current_exe().expect("test binary");
        let dir = tempfile::tempdir_in(exe.parent().expect("a folder")).expect("temp dir");
        let mut tree = OutputTree::new(dir.path()).expect("tree");
        install(&mut tree, None).expect("install");
        let mut written: Vec<String> = fs::read_dir(tree.path("jobs"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        let mut reserved: Vec<&str> = GENERATED_JOB_FILES.iter().map(|(n, _)| *n).collect();
        reserved.sort();
        assert_eq!(written, reserved);

        fs::remove_file(tree.path("jobs/scheduler.js")).expect("remove");
        fs::create_dir(tree.path("jobs/scheduler.js")).expect("a folder in the way");
        let err = install(&mut tree, None).expect_err("a folder where the shim goes");
        assert!(
            err.to_string()
                .ends_with("/build/backend/jobs/scheduler.js` is a folder, but the build writes the scheduler shim for Node there; move the folder away"),
            "{err}"
        );
    }

    #[test]
    fn copies_once_then_skips_while_nothing_changed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let exe = dir.path().join("webstir");
        fs::write(&exe, b"#!/bin/sh\n").expect("write");
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod");
        let dest = dir.path().join("scheduler");
        let (copied, stamp) = install_binary(&exe, &dest, None).expect("install");
        assert!(copied);
        assert_eq!(fs::read(&dest).expect("read"), b"#!/bin/sh\n");
        let (again, _) = install_binary(&exe, &dest, Some(stamp)).expect("install");
        assert!(!again);

        // A watcher whose binary was replaced since keeps the scheduler it installed.
        fs::remove_file(&exe).expect("replace the binary");
        let (copied, kept) = install_binary(&exe, &dest, Some(stamp)).expect("keep");
        assert!(!copied);
        assert_eq!(kept, stamp);
        assert!(install_binary(&exe, &dest, None).is_err());
        assert_eq!(
            fs::metadata(&dest).expect("meta").permissions().mode() & 0o777,
            0o755
        );
    }
}
