//! Programs that run another command: wrappers (`sudo`, `env`, `timeout`,
//! …), shells and interpreters, and remote or in-container runners.
//! Each is read the way it reads its own arguments, so the guard judges the
//! command that will really run.

use super::arg::Arg;

/// What a program will run besides itself.
#[derive(Debug)]
pub(crate) enum Inner {
    /// Another argv (`sudo rm -rf /`).
    Argv(Vec<Arg>),
    /// A shell script (`sh -c '…'`, `ssh host '…'`, `su -c '…'`).
    Script(Arg),
    /// Interpreter code the guard cannot read (`python3 -c '…'`).
    Code(Arg),
    /// Code read from standard input, which the guard cannot see.
    Stdin,
    /// Nothing: the program is its own command.
    Nothing,
}

const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash", "fish", "rbash",
];

/// Options of `program` that take a value as the next argument.
fn valued(program: &str) -> &'static [&'static str] {
    match program {
        "sudo" | "doas" => &[
            "-u", "-g", "-C", "-p", "-h", "-U", "-r", "-t", "-D", "-R", "-T",
        ],
        "env" => &["-u", "-C", "-S", "--unset", "--chdir", "--split-string"],
        "nice" => &["-n", "--adjustment"],
        "ionice" => &["-c", "-n", "--class", "--classdata"],
        "stdbuf" => &["-i", "-o", "-e", "--input", "--output", "--error"],
        "timeout" => &["-s", "-k", "--signal", "--kill-after"],
        "xargs" => &[
            "-n",
            "-I",
            "-P",
            "-L",
            "-s",
            "-d",
            "-E",
            "-a",
            "--max-args",
            "--arg-file",
            "--delimiter",
            "--max-procs",
            "--replace",
        ],
        "flock" => &["-w", "-E", "--timeout", "--conflict-exit-code"],
        "watch" => &["-n", "--interval", "-q", "--equexit"],
        "ssh" => &[
            "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o",
            "-p", "-Q", "-R", "-S", "-W", "-w", "-B",
        ],
        "su" | "runuser" => &[
            "-s",
            "-g",
            "-G",
            "--shell",
            "--group",
            "--supp-group",
            "-u",
            "--user",
        ],
        "chroot" => &["--userspec", "--groups"],
        "time" => &["-f", "-o", "--format", "--output"],
        "taskset" | "chrt" => &[],
        "systemd-run" => &[
            "-u",
            "--unit",
            "-p",
            "--property",
            "--description",
            "--slice",
            "-E",
            "--setenv",
            "--uid",
            "--gid",
            "--working-directory",
            "-M",
            "--machine",
            "-H",
            "--host",
            "--nice",
            "--service-type",
            "--on-active",
            "--on-calendar",
        ],
        "nsenter" => &[
            "-t", "--target", "-S", "--setuid", "-G", "--setgid", "--wd", "-w", "-r", "--root",
        ],
        "docker" | "podman" | "nerdctl" => &[
            "-e",
            "--env",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "--env-file",
            "--detach-keys",
        ],
        "kubectl" | "oc" => &[
            "-n",
            "--namespace",
            "-c",
            "--container",
            "--context",
            "--kubeconfig",
        ],
        "python" | "python2" | "python3" | "pypy" | "pypy3" => &["-W", "-X", "-Q"],
        "awk" | "gawk" | "mawk" | "nawk" => &["-F", "-v", "--field-separator", "--assign"],
        "bash" | "sh" | "dash" | "zsh" | "ksh" | "ash" | "mksh" | "yash" | "rbash" => {
            &["-o", "+o", "-O", "+O", "--rcfile", "--init-file"]
        }
        _ => &[],
    }
}

/// Splits `args` at the first operand: options (and their values) before,
/// operands after. `--` ends the options.
fn split_options<'a>(program: &str, args: &'a [Arg]) -> (&'a [Arg], &'a [Arg]) {
    let takes_value = valued(program);
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let Some(text) = arg.known() else { break };
        if text == "--" {
            return (&args[..i], &args[i + 1..]);
        }
        let is_option = (text.starts_with('-') && text.len() > 1)
            || (text.starts_with('+') && matches!(program, "bash" | "sh" | "dash" | "zsh" | "ksh"));
        if !is_option {
            break;
        }
        let inline_value = text.contains('=');
        i += if takes_value.contains(&text) && !inline_value {
            2
        } else {
            1
        };
    }
    let i = i.min(args.len());
    (&args[..i], &args[i..])
}

/// A short-option group (`-lc`, `-ne`) that contains `letter`.
fn has_short(options: &[Arg], letter: char) -> bool {
    options
        .iter()
        .filter_map(Arg::known)
        .any(|o| o.starts_with('-') && !o.starts_with("--") && o[1..].contains(letter))
}

/// The value of an option written as `-c VALUE`, `-cVALUE`, `--long VALUE`
/// or `--long=VALUE` among `args` (options only up to the first operand).
fn option_value(args: &[Arg], short: &str, long: &str) -> Option<Arg> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.known()?;
        if text == short || text == long {
            return iter.next().cloned();
        }
        if let Some(value) = text.strip_prefix(&format!("{long}=")) {
            return Some(Arg::Known(value.into()));
        }
        if text.len() > short.len() && text.starts_with(short) && !text.starts_with("--") {
            return Some(Arg::Known(text[short.len()..].into()));
        }
        if !text.starts_with('-') {
            return None;
        }
    }
    None
}

/// `-c CMD` anywhere among `su`'s arguments (`su root -c CMD` is common).
fn command_option(args: &[Arg]) -> Option<Arg> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.known() {
            Some("-c" | "--command") => return iter.next().cloned(),
            Some(text) if text.starts_with("--command=") => {
                return Some(Arg::Known(text["--command=".len()..].into()));
            }
            _ => {}
        }
    }
    None
}

/// The words joined back into one shell command line, each quoted so it
/// stays one word (how `ssh` and `watch` pass a command to a remote shell).
fn joined(words: &[Arg]) -> Arg {
    let mut line = String::new();
    for word in words {
        let Some(text) = word.known() else {
            return Arg::Unknown;
        };
        if !line.is_empty() {
            line.push(' ');
        }
        // Remote shells re-parse the joined text: keep it as written.
        line.push_str(text);
    }
    Arg::Known(line)
}

/// What `program args…` runs.
pub(crate) fn inner(program: &str, args: &[Arg]) -> Inner {
    let (options, operands) = split_options(program, args);
    match program {
        "sudo" | "doas" | "pkexec" | "nohup" | "setsid" | "stdbuf" | "unbuffer" | "nice"
        | "ionice" | "command" | "builtin" | "exec" | "time" | "systemd-run" | "nsenter"
        | "caffeinate" | "catchsegv" | "strace" | "ltrace" | "fakeroot" | "firejail" => {
            if program == "command" && (has_short(options, 'v') || has_short(options, 'V')) {
                return Inner::Nothing; // `command -v x` looks a name up
            }
            if operands.is_empty() {
                Inner::Nothing
            } else {
                Inner::Argv(operands.to_vec())
            }
        }
        "env" => {
            if let Some(split) = option_value(options, "-S", "--split-string") {
                let mut words = vec![split];
                words.extend(operands.iter().cloned());
                return Inner::Script(joined(&words));
            }
            let assignments = operands
                .iter()
                .take_while(|a| a.known().is_some_and(|t| t.contains('=')))
                .count();
            match &operands[assignments..] {
                [] => Inner::Nothing,
                command => Inner::Argv(command.to_vec()),
            }
        }
        // One operand (a duration, a new root, a CPU mask, a priority) before the command.
        "timeout" | "chroot" | "taskset" | "chrt" | "sg" => match operands.split_first() {
            Some((_, command)) if !command.is_empty() => {
                if program == "sg" {
                    return Inner::Script(joined(command));
                }
                Inner::Argv(command.to_vec())
            }
            _ => Inner::Nothing,
        },
        "flock" => {
            if let Some(code) = option_value(operands.get(1..).unwrap_or(&[]), "-c", "--command")
                .or_else(|| option_value(options, "-c", "--command"))
            {
                return Inner::Script(code);
            }
            match operands.split_first() {
                Some((_, command)) if !command.is_empty() => Inner::Argv(command.to_vec()),
                _ => Inner::Nothing,
            }
        }
        "xargs" => {
            // xargs appends what it reads, unseen, to the command (echo by default).
            let mut command = if operands.is_empty() {
                vec![Arg::Known("echo".into())]
            } else {
                operands.to_vec()
            };
            command.push(Arg::Unknown);
            Inner::Argv(command)
        }
        "watch" if has_short(options, 'x') => Inner::Argv(operands.to_vec()),
        "watch" => match operands {
            [] => Inner::Nothing,
            command => Inner::Script(joined(command)),
        },
        "ssh" => match operands.split_first() {
            Some((_host, command)) if !command.is_empty() => Inner::Script(joined(command)),
            _ => Inner::Nothing,
        },
        "su" | "runuser" | "script" => match command_option(args) {
            Some(code) => Inner::Script(code),
            None if args.iter().any(|a| a.is("--")) && !operands.is_empty() => {
                Inner::Argv(operands.to_vec())
            }
            None => Inner::Nothing,
        },
        // `. FILE` runs FILE in this shell: a file the guard cannot see is fine,
        // standard input or a process substitution is code from elsewhere.
        "." | "source" => match operands.first() {
            None => Inner::Stdin,
            Some(Arg::Unknown) => Inner::Code(Arg::Unknown),
            Some(Arg::Known(path)) if path.starts_with("/dev/") || path.starts_with("/proc/") => {
                Inner::Stdin
            }
            Some(_) => Inner::Nothing,
        },
        "busybox" | "toybox" => match operands {
            [] => Inner::Nothing,
            applet => Inner::Argv(applet.to_vec()),
        },
        "eval" => Inner::Script(joined(args)),
        "docker" | "podman" | "nerdctl" => container_exec(program, args),
        "kubectl" | "oc" => match args.iter().position(|a| a.is("exec")) {
            Some(_) => match args.iter().position(|a| a.is("--")) {
                Some(dash) => Inner::Argv(args[dash + 1..].to_vec()),
                None => Inner::Nothing,
            },
            None => Inner::Nothing,
        },
        "ip" if args.len() > 3 && args[0].is("netns") && args[1].is("exec") => {
            Inner::Argv(args[3..].to_vec())
        }
        shell if SHELLS.contains(&shell) => {
            if has_short(options, 'c') {
                match operands.first() {
                    Some(code) => Inner::Script(code.clone()),
                    None => Inner::Nothing,
                }
            } else if has_short(options, 's') || operands.is_empty() || operands[0].is("-") {
                Inner::Stdin
            } else {
                Inner::Nothing // a script file
            }
        }
        _ => interpreter(program, options, operands),
    }
}

/// `docker exec [options] CONTAINER COMMAND…`.
fn container_exec(program: &str, args: &[Arg]) -> Inner {
    let Some(at) = args.iter().position(|a| a.is("exec")) else {
        return Inner::Nothing;
    };
    let (_, operands) = split_options(program, &args[at + 1..]);
    match operands.split_first() {
        Some((_container, command)) if !command.is_empty() => Inner::Argv(command.to_vec()),
        _ => Inner::Nothing,
    }
}

/// Interpreters: inline code is unreadable, a script file is the program's
/// own business, nothing at all means code from standard input.
fn interpreter(program: &str, options: &[Arg], operands: &[Arg]) -> Inner {
    let family = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let (short, long): (&[char], &[&str]) = match family {
        "python" | "pypy" => (&['c'], &[]),
        "perl" => (&['e', 'E'], &[]),
        "ruby" | "lua" | "luajit" | "Rscript" => (&['e'], &[]),
        "node" | "nodejs" => (&['e', 'p'], &["--eval", "--print"]),
        "php" => (&['r'], &[]),
        "awk" | "gawk" | "mawk" | "nawk" => return awk(options, operands),
        _ => return Inner::Nothing,
    };
    for (i, option) in options.iter().enumerate() {
        let Some(text) = option.known() else { continue };
        let long_hit = long
            .iter()
            .find(|l| text == **l || text.starts_with(&format!("{l}=")));
        if let Some(l) = long_hit {
            return Inner::Code(match text.strip_prefix(&format!("{l}=")) {
                Some(code) => Arg::Known(code.into()),
                None => operands.first().cloned().unwrap_or(Arg::Unknown),
            });
        }
        if text.starts_with('-')
            && !text.starts_with("--")
            && let Some(at) = text[1..].find(short)
        {
            let attached = &text[1 + at + 1..];
            let code = if attached.is_empty() {
                options
                    .get(i + 1)
                    .or(operands.first())
                    .cloned()
                    .unwrap_or(Arg::Unknown)
            } else {
                Arg::Known(attached.into())
            };
            return Inner::Code(code);
        }
    }
    if has_short(options, 'm') {
        return Inner::Nothing; // python -m module
    }
    match operands.first() {
        None => Inner::Stdin,
        Some(first) if first.is("-") => Inner::Stdin,
        Some(_) => Inner::Nothing,
    }
}

/// awk programs are code too, but most only print: only those that can run
/// commands (`system()`, pipes, `getline` from a command) are unreadable.
fn awk(options: &[Arg], operands: &[Arg]) -> Inner {
    if option_value(options, "-f", "--file").is_some() {
        return Inner::Nothing;
    }
    match operands.first() {
        Some(Arg::Known(program)) if !program.contains("system") && !program.contains('|') => {
            Inner::Nothing
        }
        Some(code) => Inner::Code(code.clone()),
        None => Inner::Nothing,
    }
}
