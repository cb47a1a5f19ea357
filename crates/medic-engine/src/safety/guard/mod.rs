//! The destructive-command guard: commands medic refuses to run, whatever
//! the configuration says.
//!
//! It reads a command the way the kernel and a shell will: wrappers such as
//! `sudo`, `env`, `timeout`, `flock` or `xargs` are peeled off, paths are
//! normalised (`//usr`, `/tmp/../usr`), shell scripts are parsed with a real
//! POSIX shell parser and every simple command and redirection in them is
//! judged against [`rules`]. Whatever it cannot read (a command chosen at run
//! time, `eval` of a variable, inline interpreter code) is refused as
//! *unreadable*: a remedy that needs such a command says `risk = "high"`, and
//! then runs only after a human approves. It is a last line of defence
//! against a typo, a hostile config or outside text, not a sandbox.

mod arg;
mod rules;
mod shell;
mod wrappers;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use regex::Regex;

use arg::{Arg, known_argv, program_name};
use wrappers::Inner;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Refusal {
    /// The rule's short name.
    pub rule: &'static str,
    /// What the command would do, or what the guard could not read.
    pub reason: String,
    /// Whether the command is only unreadable (not known to be destructive):
    /// such a command may run after a human approves, when the remedy says
    /// `risk = "high"`.
    pub unreadable: bool,
}

impl Refusal {
    fn describe(&self) -> String {
        if self.unreadable {
            format!(
                "the destructive-command guard cannot read this command ({}): {}; \
                 a remedy that needs it must say risk = \"high\" and then runs only after a human approves",
                self.rule, self.reason
            )
        } else {
            format!(
                "refused by the destructive-command guard ({}): {}",
                self.rule, self.reason
            )
        }
    }
}

fn destructive(rule: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        reason: reason.into(),
        unreadable: false,
    }
}

pub(crate) fn unreadable(rule: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        reason: reason.into(),
        unreadable: true,
    }
}

/// Checks an argv before it may run (a rendered command: no placeholders).
///
/// ```
/// use medic_engine::safety::check_command;
/// let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert!(check_command(&argv(&["systemctl", "restart", "nginx"])).is_ok());
/// assert!(check_command(&argv(&["sudo", "rm", "-rf", "//usr"])).is_err());
/// assert!(check_command(&argv(&["sh", "-c", "X=/; rm -rf $X"])).is_err());
/// ```
pub fn check_command(argv: &[String]) -> Result<(), Refusal> {
    Guard { template: false }.argv(&known_argv(argv), 0)
}

/// Checks a command template from the configuration: as [`check_command`],
/// and a `{{placeholder}}` may not stand where it would become code (a
/// shell's or interpreter's script, `eval`, a remote command, the program
/// itself), because its value is outside text.
///
/// ```
/// use medic_engine::safety::check_command_template;
/// let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert!(check_command_template(&argv(&["notify", "{{diagnosis.root_cause}}"])).is_ok());
/// assert!(check_command_template(&argv(&["sh", "-c", "echo {{diagnosis.root_cause}}"])).is_err());
/// ```
pub fn check_command_template(argv: &[String]) -> Result<(), Refusal> {
    Guard { template: true }.argv(&known_argv(argv), 0)
}

/// How the guard walks one command line.
pub(crate) struct Guard {
    /// Whether words are templates whose placeholders are outside text.
    template: bool,
}

const MAX_DEPTH: usize = 16;

impl Guard {
    /// Judges a command given as words.
    pub(crate) fn argv(&self, words: &[Arg], depth: usize) -> Result<(), Refusal> {
        if depth > MAX_DEPTH {
            return Err(unreadable(
                "nesting",
                "commands nested more than 16 levels deep",
            ));
        }
        let Some((first, args)) = words.split_first() else {
            return Ok(());
        };
        let Some(first) = first.known() else {
            return Err(unreadable(
                "run-time-command",
                "the program to run is chosen at run time (a variable or command output)",
            ));
        };
        if self.template && first.contains("{{") {
            return Err(placeholder_in_code(first));
        }
        for word in words.iter().filter_map(Arg::known) {
            if is_fork_bomb(word) {
                return Err(destructive("fork-bomb", "the command contains a fork bomb"));
            }
        }
        let program = program_name(first);
        match wrappers::inner(program, args) {
            Inner::Argv(inner) => return self.argv(&inner, depth + 1),
            Inner::Script(code) => return self.script(&code, depth + 1),
            Inner::Code(code) => {
                if let Some(text) = code.known().filter(|t| self.template && t.contains("{{")) {
                    return Err(placeholder_in_code(text));
                }
                return Err(unreadable(
                    "interpreter-code",
                    format!(
                        "{program} runs inline code the guard cannot read; put it in a script file"
                    ),
                ));
            }
            Inner::Stdin => {
                return Err(unreadable(
                    "code-from-stdin",
                    format!("{program} would run code from its standard input"),
                ));
            }
            Inner::Nothing => {}
        }
        if let Some((rule, hit)) = rules::judge(program, args) {
            return Err(match hit {
                rules::Hit::Destructive(what) => {
                    destructive(rule.name, format!("{what}: {}", rule.reason))
                }
                rules::Hit::Unknown(what) => {
                    unreadable(rule.name, format!("{what}; {}", rule.reason))
                }
                rules::Hit::Clear => return Ok(()),
            });
        }
        if program == "find" {
            self.find_exec(args, depth)?;
        }
        Ok(())
    }

    /// A shell script: parsed and judged command by command.
    fn script(&self, code: &Arg, depth: usize) -> Result<(), Refusal> {
        let Some(text) = code.known() else {
            return Err(unreadable(
                "run-time-script",
                "the script is chosen at run time",
            ));
        };
        if self.template && text.contains("{{") {
            return Err(placeholder_in_code(text));
        }
        if is_fork_bomb(text) {
            return Err(destructive("fork-bomb", "the script contains a fork bomb"));
        }
        shell::judge(self, text, depth)
    }

    /// Where a script writes with `>`: never a disk, sysrq or a system file.
    pub(crate) fn write_to(&self, target: &Arg) -> Result<(), Refusal> {
        match target.known() {
            Some(path) if arg::is_raw_device(path) || arg::is_system_path(path) => {
                Err(destructive(
                    "raw-device",
                    format!("output redirected onto {path}: writing there breaks the host"),
                ))
            }
            Some(_) => Ok(()),
            None => Err(unreadable(
                "redirect",
                "output redirected to a file chosen at run time",
            )),
        }
    }

    /// `find … -exec CMD … ;`: each command, with the found file unknown.
    fn find_exec(&self, args: &[Arg], depth: usize) -> Result<(), Refusal> {
        let mut i = 0;
        while i < args.len() {
            if matches!(
                args[i].known(),
                Some("-exec" | "-execdir" | "-ok" | "-okdir")
            ) {
                let end = args[i + 1..]
                    .iter()
                    .position(|a| a.is(";") || a.is("+"))
                    .map_or(args.len(), |p| i + 1 + p);
                // The found files lie under the start paths (`.` by default).
                let starts: Vec<&Arg> = args
                    .iter()
                    .take_while(|a| {
                        a.known()
                            .is_none_or(|t| !t.starts_with('-') && t != "(" && t != "!")
                    })
                    .collect();
                let dot = Arg::Known(".".into());
                let starts = if starts.is_empty() {
                    vec![&dot]
                } else {
                    starts
                };
                for start in starts {
                    let found = match start.known() {
                        Some(dir) => Arg::Known(format!("{}/*", dir.trim_end_matches('/'))),
                        None => Arg::Unknown,
                    };
                    let command: Vec<Arg> = args[i + 1..end]
                        .iter()
                        .map(|a| if a.is("{}") { found.clone() } else { a.clone() })
                        .collect();
                    self.argv(&command, depth + 1)?;
                }
                i = end;
            }
            i += 1;
        }
        Ok(())
    }
}

fn placeholder_in_code(code: &str) -> Refusal {
    let shown: String = code.chars().take(60).collect();
    destructive(
        "placeholder-in-code",
        format!(
            "a {{{{placeholder}}}} inside code ({shown:?}) would let outside text run as code; \
             pass it as data instead: read it from the environment (\"$MEDIC_ROOT_CAUSE\", \
             \"$MEDIC_TARGET\", …) or as its own argument after the script \
             (sh -c 'notify \"$1\"' _ {{{{diagnosis.root_cause}}}})"
        ),
    )
}

/// Shell function definitions: the name and the body.
static FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used, reason = "a constant pattern, covered by tests")]
    Regex::new(r"([\w:.]+)\s*\(\)\s*\{([^}]*)\}").unwrap()
});

/// A function that pipes itself into itself in the background: `:(){ :|:& };:`.
fn is_fork_bomb(text: &str) -> bool {
    FUNCTION.captures_iter(text).any(|c| {
        let (name, body) = (&c[1], &c[2]);
        let body: String = body.chars().filter(|ch| !ch.is_whitespace()).collect();
        body.contains(&format!("{name}|{name}")) && body.contains('&')
    })
}
