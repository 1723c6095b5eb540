//! Reading one of a job's output pipes into lines: every byte the job's process wrote is
//! forwarded, in order, lines longer than [`MAX_LINE`] are split rather than buffered without
//! limit, and a pipe that a process outside the job's group keeps open after the job ended is
//! read for [`super::process::LINGER`] more and then let go.

use std::os::fd::AsRawFd;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::process::{LINGER, LineSink, Stream};

/// Longest line forwarded in one piece (64 KiB); a longer one is forwarded in pieces of this
/// size, so that a job printing without newlines cannot make the scheduler hold it all.
pub const MAX_LINE: usize = 64 * 1024;

/// Size of one read from the pipe.
const CHUNK: usize = 64 * 1024;

/// Something the log says once about a run's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputNote {
    /// The job printed at least one line longer than [`MAX_LINE`] on this stream; it was
    /// forwarded in pieces.
    LinesSplit(Stream),
    /// The stream was still open [`LINGER`] after the job's process exited (a process it
    /// started in another group holds it); what came later was dropped. `None`: both streams.
    Abandoned(Option<Stream>),
}

/// Forwards the lines read from `pipe` to `sink` until end of file or, once `ended` turns
/// true (or its sender is gone), until what was in the pipe then is read and [`LINGER`] has
/// passed. Returns what the log should say about it.
pub async fn forward<R>(
    mut pipe: R,
    which: Stream,
    sink: LineSink,
    mut ended: watch::Receiver<bool>,
) -> Vec<OutputNote>
where
    R: AsyncRead + AsRawFd + Unpin,
{
    let mut lines = Lines::new(which, sink);
    let mut chunk = vec![0u8; CHUNK];
    // While the job runs: read whatever comes.
    let mut ended_now = *ended.borrow();
    while !ended_now {
        tokio::select! {
            // `read` is cancel safe: when the other branch wins, nothing was read.
            read = pipe.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return lines.finish(None),
                Ok(n) => lines.push(&chunk[..n]),
            },
            changed = ended.changed() => {
                ended_now = changed.is_err() || *ended.borrow();
            }
        }
    }
    // The job's process has exited, so all it wrote is in the pipe now: read that much
    // without a time limit (the scheduler's own output may be slow to take it).
    let mut owed = bytes_in_pipe(&pipe);
    while owed > 0 {
        match pipe.read(&mut chunk[..owed.min(CHUNK)]).await {
            Ok(0) | Err(_) => return lines.finish(None),
            Ok(n) => {
                lines.push(&chunk[..n]);
                owed -= n;
            }
        }
    }
    // Anything later comes from a process that outlived the job.
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        match tokio::time::timeout_at(deadline, pipe.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return lines.finish(None),
            Ok(Ok(n)) => lines.push(&chunk[..n]),
            Err(_) => return lines.finish(Some(OutputNote::Abandoned(Some(which)))),
        }
    }
}

/// How many bytes wait in the pipe behind `fd`.
fn bytes_in_pipe(fd: &impl AsRawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points to a live c_int.
    let ok = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } == 0;
    if ok {
        usize::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

/// Splits bytes into lines and hands each to the sink.
pub(crate) struct Lines {
    which: Stream,
    sink: LineSink,
    /// The start of a line whose end has not arrived yet; never more than [`MAX_LINE`].
    partial: Vec<u8>,
    split: bool,
}

impl Lines {
    pub(crate) fn new(which: Stream, sink: LineSink) -> Lines {
        Lines {
            which,
            sink,
            partial: Vec::new(),
            split: false,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.partial.len() == MAX_LINE {
                // A full piece: the line it starts ends here, or goes on in another piece.
                if bytes[0] == b'\n' {
                    self.emit_partial();
                    bytes = &bytes[1..];
                    continue;
                }
                self.split = true;
                let rest = self.partial.split_off(whole_characters(&self.partial));
                self.emit_partial();
                self.partial = rest;
            }
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) if self.partial.len() + end <= MAX_LINE => {
                    if self.partial.is_empty() {
                        self.emit(&bytes[..end]);
                    } else {
                        self.partial.extend_from_slice(&bytes[..end]);
                        self.emit_partial();
                    }
                    bytes = &bytes[end + 1..];
                }
                // No end of line within the bound: keep what fits.
                _ => {
                    let take = (MAX_LINE - self.partial.len()).min(bytes.len());
                    self.partial.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                }
            }
        }
    }

    /// Forwards a last line without a newline and returns the notes.
    fn finish(mut self, abandoned: Option<OutputNote>) -> Vec<OutputNote> {
        if !self.partial.is_empty() {
            self.emit_partial();
        }
        let split = self.split.then_some(OutputNote::LinesSplit(self.which));
        split.into_iter().chain(abandoned).collect()
    }

    /// Forwards a last line without a newline and returns what the log should say so far;
    /// the splitter stays usable for later output (a worker's runs outlive their `run()`).
    pub(crate) fn flush(&mut self) -> Vec<OutputNote> {
        if !self.partial.is_empty() {
            self.emit_partial();
        }
        let split = std::mem::take(&mut self.split);
        split
            .then_some(OutputNote::LinesSplit(self.which))
            .into_iter()
            .collect()
    }

    fn emit_partial(&mut self) {
        let line = std::mem::take(&mut self.partial);
        self.emit(&line);
    }

    fn emit(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (self.sink)(self.which, &String::from_utf8_lossy(line));
    }
}

/// The length of the longest prefix of `bytes` that does not end inside a UTF-8 character
/// (the character then starts the next piece); bytes that are not UTF-8 are cut where they are.
fn whole_characters(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let byte = bytes[len - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue;
        }
        let width = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back && back < len {
            len - back
        } else {
            len
        };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn collect(chunks: &[&[u8]]) -> (Vec<String>, Vec<OutputNote>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let sink: LineSink = Arc::new(move |_, line: &str| {
            into.lock().expect("lock").push(line.to_owned());
        });
        let mut lines = Lines::new(Stream::Stdout, sink);
        for chunk in chunks {
            lines.push(chunk);
        }
        let notes = lines.finish(None);
        let seen = seen.lock().expect("lock").clone();
        (seen, notes)
    }

    #[test]
    fn lines_across_chunks_keep_their_bytes_and_order() {
        let (lines, notes) = collect(&[b"a\nb", b"c\r\n\nd", b"e"]);
        assert_eq!(lines, ["a", "bc", "", "de"]);
        assert!(notes.is_empty());
    }

    #[test]
    fn a_line_longer_than_the_bound_is_split_and_noted_once() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let (lines, notes) = collect(&[&long, b"\nshort\n"]);
        let lengths: Vec<usize> = lines.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_LINE, MAX_LINE, 10, 5]);
        assert_eq!(notes, [OutputNote::LinesSplit(Stream::Stdout)]);
        // A line of exactly the bound is not split.
        let exact = [vec![b'y'; MAX_LINE], b"\n".to_vec()].concat();
        let (lines, notes) = collect(&[&exact]);
        assert_eq!(lines.len(), 1);
        assert!(notes.is_empty());
        // A line of exactly two pieces gives two pieces, not a third empty one.
        let (lines, _) = collect(&[&vec![b'z'; MAX_LINE * 2], b"\n", b"next\n"]);
        let lengths: Vec<usize> = lines.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_LINE, MAX_LINE, 4]);
    }

    #[test]
    fn a_split_never_cuts_a_character_in_two() {
        // Characters of 2, 3 and 4 bytes, shifted by 0 to 3 bytes of padding, put every kind
        // of character boundary across the bound.
        for character in ["é", "€", "😀"] {
            for pad in 0..4 {
                let text = format!(
                    "{}{}\n",
                    "x".repeat(pad),
                    character.repeat(MAX_LINE / character.len() + 2)
                );
                let (lines, notes) = collect(&[text.as_bytes()]);
                assert_eq!(lines.concat(), text.trim_end(), "{character} {pad}");
                assert!(
                    lines.iter().all(|l| !l.contains('\u{fffd}')),
                    "cut a character"
                );
                assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
                assert_eq!(notes, [OutputNote::LinesSplit(Stream::Stdout)]);
            }
        }
    }
}
