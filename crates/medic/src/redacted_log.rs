//! The agent's own log lines, redacted on their way to stderr: an error that
//! quotes a connection string or a token must not leave it in the journal.

use std::io::{self, Write};

/// Makes one [`RedactedLine`] per event, writing to stderr.
pub(crate) fn stderr() -> RedactedLine<io::Stderr> {
    RedactedLine::new(io::stderr())
}

/// One event's text, gathered whole (so a secret split across writes is
/// still seen) and written redacted when the event is done.
pub(crate) struct RedactedLine<W: Write> {
    buffer: Vec<u8>,
    out: W,
}

impl<W: Write> RedactedLine<W> {
    fn new(out: W) -> Self {
        Self {
            buffer: Vec::new(),
            out,
        }
    }
}

impl<W: Write> Write for RedactedLine<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let line = medic_engine::redact::redacted(&text);
        let result = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush());
        self.buffer.clear();
        result
    }
}

impl<W: Write> Drop for RedactedLine<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_written_in_pieces_is_redacted_whole() {
        let mut out = Vec::new();
        {
            let mut line = RedactedLine::new(&mut out);
            line.write_all(b"ERROR cannot connect to postgres://app:S3c")
                .expect("write");
            line.write_all(b"retPw9@db/shop\n").expect("write");
        }
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(
            text,
            "ERROR cannot connect to postgres://app:[REDACTED]@db/shop\n"
        );
    }
}
