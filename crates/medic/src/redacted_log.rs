//! The agent's own log lines, redacted on their way to stderr: an error that
//! quotes a connection string or a token must not leave it in the journal.

use std::io::{self, Write};

/// Makes one [`RedactedLine`] per event.
pub(crate) fn stderr() -> RedactedLine {
    RedactedLine { buffer: Vec::new() }
}

/// One event's text, gathered whole (so a secret split across writes is
/// still seen) and written redacted when the event is done.
pub(crate) struct RedactedLine {
    buffer: Vec<u8>,
}

impl Write for RedactedLine {
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
        let result = io::stderr().lock().write_all(line.as_bytes());
        self.buffer.clear();
        result
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
