//! A command's stdout and stderr, read together into bounded buffers.

use std::collections::VecDeque;
use std::future::pending;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Keeps the last `capacity` bytes written to it: a chatty command must not
/// grow memory without bound, and its end is where the error usually is.
#[derive(Debug)]
pub(crate) struct TailBuffer {
    bytes: VecDeque<u8>,
    capacity: usize,
}

impl TailBuffer {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            bytes: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        // Only the chunk's own tail can survive, so skip the rest up front.
        let chunk = &chunk[chunk.len().saturating_sub(self.capacity)..];
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(self.capacity);
        self.bytes.drain(..excess);
    }

    /// The kept bytes as text; invalid UTF-8 (or a character cut at the
    /// start) is replaced, not an error.
    pub(crate) fn text(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut all = Vec::with_capacity(self.bytes.len());
        all.extend_from_slice(front);
        all.extend_from_slice(back);
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// What a command printed: both streams interleaved in the order they
/// arrived (as a terminal would show them), and the end of stderr alone,
/// where a failing command says why.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) combined: TailBuffer,
    pub(crate) stderr: TailBuffer,
}

impl Captured {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            combined: TailBuffer::new(capacity),
            stderr: TailBuffer::new(STDERR_TAIL_BYTES),
        }
    }
}

/// Enough of stderr for its last line.
const STDERR_TAIL_BYTES: usize = 1024;

/// Reads both pipes until both close. Reading both at once matters: a child
/// blocked writing to a full stderr pipe would never exit.
pub(crate) async fn read_both(
    stdout: Option<impl AsyncRead + Unpin>,
    stderr: Option<impl AsyncRead + Unpin>,
    into: &mut Captured,
) {
    let (mut stdout, mut stderr) = (stdout, stderr);
    let mut out_chunk = [0u8; 4096];
    let mut err_chunk = [0u8; 4096];
    while stdout.is_some() || stderr.is_some() {
        tokio::select! {
            read = read_some(&mut stdout, &mut out_chunk) => match read {
                Some(n) => into.combined.push(&out_chunk[..n]),
                None => stdout = None,
            },
            read = read_some(&mut stderr, &mut err_chunk) => match read {
                Some(n) => {
                    into.combined.push(&err_chunk[..n]);
                    into.stderr.push(&err_chunk[..n]);
                }
                None => stderr = None,
            },
        }
    }
}

/// Bytes read, or `None` at end of file or on a read error (which ends the
/// capture; the exit status still decides). A closed pipe never resolves.
async fn read_some(pipe: &mut Option<impl AsyncRead + Unpin>, chunk: &mut [u8]) -> Option<usize> {
    match pipe {
        Some(pipe) => match pipe.read(chunk).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes() {
        let mut tail = TailBuffer::new(8);
        tail.push(b"hello ");
        tail.push(b"world");
        assert_eq!(tail.text(), "lo world");
        tail.push(b"0123456789");
        assert_eq!(tail.text(), "23456789");
    }

    #[tokio::test]
    async fn reads_both_streams() {
        let mut captured = Captured::new(64);
        read_both(Some(&b"out\n"[..]), Some(&b"err\n"[..]), &mut captured).await;
        let text = captured.combined.text();
        assert!(text.contains("out\n") && text.contains("err\n"), "{text:?}");
        assert_eq!(captured.stderr.text(), "err\n");
    }
}
