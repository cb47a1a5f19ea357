//! The destructive-command guard: commands medic refuses to run, whatever the
//! configuration says.
//!
//! It looks at argv the way the kernel will run it: wrappers such as `sudo`,
//! `env`, `nice` or `timeout` are peeled off, and a shell's `-c` script is split
//! into its simple commands and each one is checked. It is a last line of
//! defence against a typo or a hostile config, not a sandbox: it refuses the
//! classic ways to destroy a host (`rm -rf /`, `mkfs`, `dd of=/dev/…`,
//! `shutdown`, fork bombs, recursive `chmod`/`chown` of `/`, …).

use std::sync::LazyLock;

use regex::Regex;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by the destructive-command guard ({rule}): {reason}")]
pub struct Refusal {
    /// The rule's short name.
    pub rule: &'static str,
    /// What the command would do.
    pub reason: String,
}

fn refuse(rule: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        reason: reason.into(),
    }
}

/// Checks an argv before it may run.
///
/// ```
/// use medic_engine::safety::check_command;
/// let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert!(check_command(&argv(&["systemctl", "restart", "nginx"])).is_ok());
/// assert!(check_command(&argv(&["sudo", "rm", "-rf", "/"])).is_err());
/// assert!(check_command(&argv(&["sh", "-c", "echo hi; mkfs.ext4 /dev/sda1"])).is_err());
/// ```
pub fn check_command(argv: &[String]) -> Result<(), Refusal> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    if words.iter().any(|word| is_fork_bomb(word)) {
        return Err(refuse("fork-bomb", "the command contains a fork bomb"));
    }
    check_words(&words, 0)
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

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish"];

/// Top-level paths whose recursive removal or re-permissioning wrecks a host.
const CRITICAL_PATHS: &[&str] = &[
    "/", "/*", "/.", "/..", "~", "~/", "~/*", "$HOME", "${HOME}", "/bin", "/boot", "/dev", "/etc",
    "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/sbin", "/srv", "/sys", "/usr", "/var",
];

fn is_critical_path(path: &str) -> bool {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    CRITICAL_PATHS.contains(&trimmed) || CRITICAL_PATHS.contains(&path)
}

fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Flags of the form `-abc` that contain any of `letters`, or one of `long`.
fn has_flag(args: &[&str], letters: &[char], long: &[&str]) -> bool {
    args.iter().any(|a| {
        long.contains(a)
            || (a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().any(|c| letters.contains(&c)))
    })
}

fn check_words(words: &[&str], depth: usize) -> Result<(), Refusal> {
    if depth > 8 {
        return Err(refuse("nesting", "commands nested more than 8 levels deep"));
    }
    let Some((first, args)) = words.split_first() else {
        return Ok(());
    };
    let program = program_name(first);

    // Wrappers run their argument as a command: check that command instead.
    if let Some(inner) = unwrap_wrapper(program, args) {
        return check_words(inner, depth + 1);
    }
    if SHELLS.contains(&program) || program == "busybox" && args.first() == Some(&"sh") {
        return check_shell(args, depth);
    }
    check_simple(program, args)
}

/// The command a wrapper would run, if `program` is a wrapper.
fn unwrap_wrapper<'a>(program: &str, args: &'a [&'a str]) -> Option<&'a [&'a str]> {
    let skip_options = |args: &'a [&'a str], takes_value: &[&str]| -> &'a [&'a str] {
        let mut i = 0;
        while i < args.len() && args[i].starts_with('-') {
            if args[i] == "--" {
                return &args[i + 1..];
            }
            i += if takes_value.contains(&args[i]) { 2 } else { 1 };
        }
        &args[i.min(args.len())..]
    };
    match program {
        "sudo" | "doas" => Some(skip_options(
            args,
            &["-u", "-g", "-C", "-p", "-h", "-U", "-r", "-t"],
        )),
        "nohup" | "setsid" | "command" | "exec" | "stdbuf" | "unbuffer" | "chrt" => {
            Some(skip_options(args, &["-o", "-e", "-i", "-p"]))
        }
        "nice" | "ionice" => Some(skip_options(args, &["-n", "-c", "-p"])),
        "env" => {
            let rest = skip_options(args, &["-u", "-C", "-S"]);
            let assignments = rest.iter().take_while(|a| a.contains('=')).count();
            Some(&rest[assignments..])
        }
        "timeout" => {
            let rest = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
            rest.split_first().map(|(_duration, command)| command)
        }
        "xargs" => Some(skip_options(
            args,
            &["-n", "-I", "-P", "-L", "-s", "-d", "-E", "-a"],
        )),
        "busybox" if args.first() != Some(&"sh") => Some(args),
        _ => None,
    }
}

/// Checks each simple command of a `sh -c` script.
fn check_shell(args: &[&str], depth: usize) -> Result<(), Refusal> {
    let Some(position) = args.iter().position(|a| {
        *a == "-c" || (a.starts_with('-') && a.ends_with('c') && !a.starts_with("--"))
    }) else {
        return Ok(()); // a script file or an interactive shell: nothing inline to check
    };
    let Some(script) = args.get(position + 1) else {
        return Ok(());
    };
    if is_fork_bomb(script) {
        return Err(refuse("fork-bomb", "the script contains a fork bomb"));
    }
    if RAW_DEVICE_WRITE.is_match(script) {
        return Err(refuse(
            "raw-device",
            "the script redirects output onto a disk device",
        ));
    }
    for command in script.split(['\n', ';', '|', '&', '(', ')', '`']) {
        let words: Vec<&str> = command
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .filter(|w| !w.is_empty())
            .collect();
        check_words(&words, depth + 1)?;
    }
    Ok(())
}

static RAW_DEVICE_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used, reason = "a constant pattern, covered by tests")]
    Regex::new(r">\s*/dev/(sd|hd|vd|xvd|nvme|mmcblk|md|dm-|disk)").unwrap()
});

fn check_simple(program: &str, args: &[&str]) -> Result<(), Refusal> {
    match program {
        "rm" => {
            let recursive = has_flag(args, &['r', 'R'], &["--recursive"]);
            if args.contains(&"--no-preserve-root") {
                return Err(refuse("rm-root", "rm --no-preserve-root"));
            }
            if let Some(path) = args.iter().find(|a| is_critical_path(a))
                && recursive
            {
                return Err(refuse(
                    "rm-root",
                    format!("rm -r of {path} would delete the system"),
                ));
            }
            Ok(())
        }
        "chmod" | "chown" | "chgrp" => {
            let recursive = has_flag(args, &['R'], &["--recursive"]);
            match args.iter().find(|a| is_critical_path(a)) {
                Some(path) if recursive => Err(refuse(
                    "recursive-permissions",
                    format!("{program} -R of {path} would break the system"),
                )),
                _ => Ok(()),
            }
        }
        "mv" => match args.iter().find(|a| is_critical_path(a)) {
            Some(path) => Err(refuse(
                "mv-root",
                format!("mv of {path} would break the system"),
            )),
            None => Ok(()),
        },
        "dd" => match args.iter().find(|a| a.starts_with("of=/dev/")) {
            Some(target) if !matches!(*target, "of=/dev/null" | "of=/dev/zero") => Err(refuse(
                "raw-device",
                format!("dd {target} would overwrite a device"),
            )),
            _ => Ok(()),
        },
        name if name.starts_with("mkfs") => {
            Err(refuse("mkfs", format!("{name} formats a filesystem")))
        }
        "mke2fs" | "mkswap" | "wipefs" | "fdisk" | "sfdisk" | "sgdisk" | "parted"
        | "blkdiscard" => Err(refuse("disk-tools", format!("{program} rewrites a disk"))),
        "shred" if args.iter().any(|a| a.starts_with("/dev/")) => {
            Err(refuse("disk-tools", "shred of a device"))
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            Err(refuse("power", format!("{program} takes the host down")))
        }
        "init" | "telinit" if args.iter().any(|a| matches!(*a, "0" | "6")) => Err(refuse(
            "power",
            format!("{program} {} takes the host down", args.join(" ")),
        )),
        "systemctl"
            if args.iter().any(|a| {
                matches!(
                    *a,
                    "poweroff" | "reboot" | "halt" | "kexec" | "emergency" | "rescue"
                )
            }) =>
        {
            Err(refuse(
                "power",
                format!("systemctl {} takes the host down", args.join(" ")),
            ))
        }
        "kill" | "pkill" if args.contains(&"-1") && program == "kill" => {
            Err(refuse("kill-all", "kill -1 signals every process"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn refuses_the_classics() {
        let refused: &[&[&str]] = &[
            &["rm", "-rf", "/"],
            &["rm", "-r", "-f", "/*"],
            &["/bin/rm", "--recursive", "--force", "/etc/"],
            &["rm", "-fr", "~"],
            &["rm", "--no-preserve-root", "-rf", "/"],
            &["sudo", "-u", "root", "rm", "-rf", "/"],
            &["env", "A=1", "nice", "-n", "5", "rm", "-rf", "/usr"],
            &["timeout", "5s", "rm", "-Rf", "/var"],
            &["mkfs.ext4", "/dev/sda1"],
            &["mkfs", "-t", "xfs", "/dev/vdb"],
            &["dd", "if=/dev/zero", "of=/dev/sda", "bs=1M"],
            &["shutdown", "-h", "now"],
            &["reboot"],
            &["systemctl", "reboot"],
            &["init", "0"],
            &["chmod", "-R", "777", "/"],
            &["chown", "-R", "nobody", "/"],
            &["kill", "-9", "-1"],
            &["sh", "-c", ":(){ :|:& };:"],
            &["bash", "-c", "echo start && rm -rf / && echo done"],
            &["bash", "-lc", "cat /dev/urandom > /dev/sda"],
            &["sh", "-c", "sudo reboot"],
            &["bash", "-c", "bomb() { bomb | bomb & }; bomb"],
            &["mv", "/", "/tmp/x"],
        ];
        for command in refused {
            assert!(
                check_command(&argv(command)).is_err(),
                "{command:?} must be refused"
            );
        }
    }

    #[test]
    fn allows_ordinary_remedies() {
        let allowed: &[&[&str]] = &[
            &["systemctl", "restart", "payments"],
            &["rm", "-rf", "/var/cache/app/tmp"],
            &["rm", "-f", "/run/app.pid"],
            &["chmod", "-R", "g+w", "/srv/app/uploads"],
            &["chown", "app", "/"],
            &["dd", "if=/dev/zero", "of=/dev/null", "count=1"],
            &["kill", "-HUP", "1234"],
            &["sh", "-c", "redis-cli -p 6379 ping | grep PONG"],
            &["nginx", "-s", "reload"],
            &["sh", "./fix-permissions.sh"],
            &["curl", "-fsS", "http://127.0.0.1:8000/chaos/resolve"],
        ];
        for command in allowed {
            assert_eq!(
                check_command(&argv(command)),
                Ok(()),
                "{command:?} must be allowed"
            );
        }
    }

    #[test]
    fn the_refusal_names_the_rule() {
        let refusal = check_command(&argv(&["rm", "-rf", "/"])).expect_err("refused");
        assert_eq!(refusal.rule, "rm-root");
        assert!(refusal.to_string().contains("rm -r of /"));
    }

    proptest! {
        #[test]
        fn never_panics(words in proptest::collection::vec("\\PC{0,12}", 0..8)) {
            let _ = check_command(&words);
        }
    }
}
