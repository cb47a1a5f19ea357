//! Short, bounded excerpts of what a check saw, for a signal's `message` and
//! `evidence`: a signal is stored and shown to people, so it must stay small
//! whatever the probed thing printed.

use std::collections::VecDeque;
use std::time::Duration;

use medic_engine::config::HumanDuration;

/// Longest evidence line kept; longer lines (minified JSON, say) are cut.
const MAX_LINE_CHARS: usize = 300;

/// The first `count` non-empty lines of `text`, each cut to a readable length.
pub(crate) fn first_lines(text: &str, count: usize) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .take(count)
        .map(cut_line)
        .collect()
}

/// The last `count` non-empty lines of `text`, each cut to a readable length.
pub(crate) fn last_lines(text: &str, count: usize) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .rev()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .take(count)
        .map(cut_line)
        .collect();
    lines.reverse();
    lines
}

fn cut_line(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_string(),
    }
}

/// A duration the way the config writes it (`500ms`, `2s`), for messages
/// such as `timed out after 500ms`.
pub(crate) fn duration_text(duration: Duration) -> String {
    HumanDuration::new(duration).to_string()
}

/// Milliseconds as a float, the unit of `Signal::latency_ms`.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Keeps only the last `capacity` bytes written to it: the end of a command's
/// output is where the error usually is, and a chatty command must not grow
/// memory without bound.
#[derive(Debug)]
pub(crate) struct TailBuffer {
    bytes: VecDeque<u8>,
    capacity: usize,
    dropped: bool,
}

impl TailBuffer {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            bytes: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            dropped: false,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        // Only the chunk's own tail can survive, so skip the rest up front.
        let keep_from = chunk.len().saturating_sub(self.capacity);
        if keep_from > 0 {
            self.dropped = true;
        }
        self.bytes.extend(&chunk[keep_from..]);
        let excess = self.bytes.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.dropped = true;
            self.bytes.drain(..excess);
        }
    }

    /// The kept bytes as text (lossy); when the start was dropped the first,
    /// probably partial, line is left out.
    pub(crate) fn text(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut all = Vec::with_capacity(self.bytes.len());
        all.extend_from_slice(front);
        all.extend_from_slice(back);
        let text = String::from_utf8_lossy(&all).into_owned();
        if self.dropped {
            match text.split_once('\n') {
                Some((_partial, rest)) => rest.to_string(),
                None => text,
            }
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_lines_skip_blank_lines() {
        let text = "\none\n\ntwo\nthree\nfour\n\n";
        assert_eq!(first_lines(text, 3), ["one", "two", "three"]);
        assert_eq!(last_lines(text, 2), ["three", "four"]);
        assert!(first_lines("", 3).is_empty());
    }

    #[test]
    fn long_lines_are_cut() {
        let line = "x".repeat(1000);
        let cut = &first_lines(&line, 1)[0];
        assert_eq!(cut.chars().count(), MAX_LINE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn tail_buffer_keeps_the_last_bytes_and_drops_the_partial_first_line() {
        let mut tail = TailBuffer::new(10);
        tail.push(b"first line\nsecond\n");
        tail.push(b"end\n");
        assert_eq!(tail.text(), "end\n");
        let mut small = TailBuffer::new(100);
        small.push(b"a\nb\n");
        assert_eq!(small.text(), "a\nb\n");
    }

    #[test]
    fn durations_read_like_the_config() {
        assert_eq!(duration_text(Duration::from_millis(500)), "500ms");
        assert_eq!(duration_text(Duration::from_secs(2)), "2s");
    }
}
