//! Following a log file the way `tail -F` does, by polling: new lines only
//! (what was in the file before medic started is history), across rotation
//! (the path now names another file) and truncation (the file shrank).
//!
//! Polling rather than inotify keeps the crate free of platform-specific
//! dependencies and behaves the same on every filesystem (NFS, overlayfs);
//! at the scheduler's ~250 ms cadence a poll is one `stat` and one `read`.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use medic_engine::config::LogWatch;
use medic_model::{Signal, SignalSource};
use regex::RegexSet;

/// Lines before a match kept as its context.
pub const CONTEXT_LINES: usize = 3;

/// At most this much is read per poll, so one poll after a burst cannot
/// stall the caller; the rest is read by the next polls.
const MAX_BYTES_PER_POLL: u64 = 1024 * 1024;

/// A line without a newline this long is taken as a whole line anyway, so a
/// writer that never ends its line cannot grow memory without bound.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line that matched one of the watch's patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMatch {
    /// The matching line (without its newline; invalid UTF-8 replaced).
    pub line: String,
    /// Up to [`CONTEXT_LINES`] lines that came just before it, oldest first.
    pub context: Vec<String>,
}

impl LogMatch {
    /// The match as an unhealthy signal from the log at `path`: the line is
    /// the message, the context and the line are the evidence.
    pub fn to_signal(&self, target: &str, path: &str) -> Signal {
        let mut evidence = self.context.clone();
        evidence.push(self.line.clone());
        Signal::unhealthy(
            target,
            SignalSource::Log {
                path: path.to_string(),
            },
            &self.line,
        )
        .with_evidence(evidence)
    }
}

/// Why a [`LogTail`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogTailError {
    /// A pattern does not compile.
    #[error("invalid log pattern in {path}")]
    InvalidPattern {
        /// The watched file.
        path: String,
        /// The compiler's complaint (it names the pattern).
        #[source]
        source: regex::Error,
    },
    /// The file exists but cannot be opened.
    #[error("cannot open log {path}")]
    Open {
        /// The watched file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Which file a path named when it was opened: a rotation shows up as a new
/// identity behind the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(metadata: &fs::Metadata) -> Self {
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

/// The file currently followed and how far it has been read.
#[derive(Debug)]
struct OpenLog {
    file: File,
    identity: FileIdentity,
    position: u64,
}

/// Follows one log file. Call [`LogTail::poll`] periodically (the agent does
/// every ~250 ms). `poll` does plain blocking file IO, bounded to 1 MiB per
/// call: cheap enough for an async task at that cadence, or move it to
/// `spawn_blocking` on slow filesystems.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    patterns: RegexSet,
    tail_lines: usize,
    /// The last lines seen; at least [`CONTEXT_LINES`] long so matches get
    /// their context even when `tail_lines` is smaller.
    recent: VecDeque<String>,
    /// Bytes after the last newline: a line still being written.
    partial: Vec<u8>,
    /// Lines read since the tail was created, so callers can ask for the
    /// lines that arrived after a moment they marked.
    lines_seen: u64,
    open: Option<OpenLog>,
}

impl LogTail {
    /// Starts following `watch.path` from its current end. A file that does
    /// not exist yet is fine: when it appears it is read from its start,
    /// since everything in it is new.
    pub fn new(watch: &LogWatch) -> Result<Self, LogTailError> {
        let patterns =
            RegexSet::new(&watch.patterns).map_err(|source| LogTailError::InvalidPattern {
                path: watch.path.clone(),
                source,
            })?;
        let path = PathBuf::from(&watch.path);
        let open = match open_log(&path) {
            Ok(Some(mut log)) => {
                // Start at the end: old lines are history, not news.
                log.position =
                    log.file
                        .seek(SeekFrom::End(0))
                        .map_err(|source| LogTailError::Open {
                            path: watch.path.clone(),
                            source,
                        })?;
                Some(log)
            }
            Ok(None) => None,
            Err(source) => {
                return Err(LogTailError::Open {
                    path: watch.path.clone(),
                    source,
                });
            }
        };
        let tail_lines = usize::try_from(watch.tail_lines).unwrap_or(usize::MAX);
        Ok(Self {
            path,
            patterns,
            tail_lines,
            recent: VecDeque::new(),
            lines_seen: 0,
            partial: Vec::new(),
            open,
        })
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last `tail_lines` complete lines read, oldest first, for diagnosis.
    pub fn recent(&self) -> Vec<String> {
        let skip = self.recent.len().saturating_sub(self.tail_lines);
        self.recent.iter().skip(skip).cloned().collect()
    }

    /// How many lines have been read so far: a mark for [`LogTail::recent_since`].
    pub fn lines_seen(&self) -> u64 {
        self.lines_seen
    }

    /// The recent lines read after `mark` (an earlier [`LogTail::lines_seen`]),
    /// oldest first: what was logged since, say, the target was last healthy.
    pub fn recent_since(&self, mark: u64) -> Vec<String> {
        let new = usize::try_from(self.lines_seen.saturating_sub(mark)).unwrap_or(usize::MAX);
        let recent = self.recent();
        recent[recent.len().saturating_sub(new)..].to_vec()
    }

    /// Reads whatever was appended since the last poll and returns the lines
    /// that match a pattern. Handles truncation (reads again from the start)
    /// and rotation (finishes the old file, then reads the new one from its
    /// start). A missing file is not an error: it may be mid-rotation.
    pub fn poll(&mut self) -> io::Result<Vec<LogMatch>> {
        let mut matches = Vec::new();
        // The old file first: lines written just before a rotation are in it.
        let mut drained = true;
        if self.open.is_some() {
            self.restart_if_truncated()?;
            drained = self.read_appended(&mut matches)?;
        }
        if !drained {
            // Switch files only once the old one is read to its end.
            return Ok(matches);
        }
        if let Some(log) = self.reopen_if_rotated()? {
            self.finish_partial_line(&mut matches);
            self.open = Some(log);
            self.read_appended(&mut matches)?;
        }
        Ok(matches)
    }

    fn restart_if_truncated(&mut self) -> io::Result<()> {
        let Some(log) = self.open.as_mut() else {
            return Ok(());
        };
        let length = log.file.metadata()?.len();
        if length < log.position {
            log.position = log.file.seek(SeekFrom::Start(0))?;
            // The half-written line belonged to the content that is gone.
            self.partial.clear();
        }
        Ok(())
    }

    /// The file the path names now, if it is not the one being followed.
    fn reopen_if_rotated(&self) -> io::Result<Option<OpenLog>> {
        let current = match fs::metadata(&self.path) {
            Ok(metadata) => FileIdentity::of(&metadata),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        if self.open.as_ref().map(|log| log.identity) == Some(current) {
            return Ok(None);
        }
        open_log(&self.path)
    }

    /// Reads what was appended, up to the per-poll limit; true when it
    /// reached the end of the file.
    fn read_appended(&mut self, matches: &mut Vec<LogMatch>) -> io::Result<bool> {
        let Some(log) = self.open.as_mut() else {
            return Ok(true);
        };
        let mut appended = Vec::new();
        let read = (&mut log.file)
            .take(MAX_BYTES_PER_POLL)
            .read_to_end(&mut appended)?;
        log.position += read as u64;
        self.take_lines(&appended, matches);
        Ok((read as u64) < MAX_BYTES_PER_POLL)
    }

    /// Splits appended bytes into complete lines; the unfinished end waits
    /// in `partial` for its newline.
    fn take_lines(&mut self, mut bytes: &[u8], matches: &mut Vec<LogMatch>) {
        while let Some(newline) = bytes.iter().position(|&byte| byte == b'\n') {
            self.partial.extend_from_slice(&bytes[..newline]);
            let line = std::mem::take(&mut self.partial);
            self.accept_line(&line, matches);
            bytes = &bytes[newline + 1..];
        }
        self.partial.extend_from_slice(bytes);
        if self.partial.len() >= MAX_LINE_BYTES {
            self.finish_partial_line(matches);
        }
    }

    /// Takes the unfinished line as complete: its file will not grow again.
    fn finish_partial_line(&mut self, matches: &mut Vec<LogMatch>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.accept_line(&line, matches);
        }
    }

    fn accept_line(&mut self, raw: &[u8], matches: &mut Vec<LogMatch>) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Control characters (NUL, escapes) never leave the file: a line is
        // kept, stored and may fill a placeholder.
        let line = medic_engine::text::without_controls(&String::from_utf8_lossy(raw)).into_owned();
        if self.patterns.is_match(&line) {
            let skip = self.recent.len().saturating_sub(CONTEXT_LINES);
            matches.push(LogMatch {
                line: line.clone(),
                context: self.recent.iter().skip(skip).cloned().collect(),
            });
        }
        self.recent.push_back(line);
        self.lines_seen += 1;
        while self.recent.len() > self.tail_lines.max(CONTEXT_LINES) {
            self.recent.pop_front();
        }
    }
}

/// Opens the log for reading from its start; `None` when it does not exist.
fn open_log(path: &Path) -> io::Result<Option<OpenLog>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let identity = FileIdentity::of(&file.metadata()?);
    Ok(Some(OpenLog {
        file,
        identity,
        position: 0,
    }))
}
