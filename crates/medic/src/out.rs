//! Standard output for commands whose output is often piped (`medic check |
//! head`): a reader that stops early is not an error, so a broken pipe ends
//! the process quietly instead of panicking as `print!` does.

use std::io::{ErrorKind, Write as _};

/// Writes `text` to stdout and flushes it. A closed pipe exits 0 (the reader
/// had enough); any other write error exits 1 with one line on stderr.
pub(crate) fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if error.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("medic: cannot write to stdout: {error}");
        std::process::exit(1);
    }
}

/// [`print()`] with a newline.
pub(crate) fn println(text: &str) {
    print(&format!("{text}\n"));
}
