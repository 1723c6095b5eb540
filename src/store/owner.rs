//! The watcher process that writes a run: its host name and process id.

use super::Owner;

impl Owner {
    /// This process, on this machine.
    pub fn this_process() -> Owner {
        Owner {
            host: host_name(),
            pid: std::process::id(),
        }
    }

    /// Whether the owner is a process that still exists on this machine. Only meaningful for
    /// an owner of this host: a process elsewhere cannot be checked from here.
    pub fn alive_here(&self) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return false;
        };
        // SAFETY: signal 0 checks for existence and permission, it sends nothing.
        let found = unsafe { libc::kill(pid, 0) } == 0;
        // EPERM: it exists but belongs to someone else.
        found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// The machine's host name, `localhost` when it has none that reads as text.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and the last byte stays 0.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_owned(),
        _ => "localhost".to_owned(),
    }
}
