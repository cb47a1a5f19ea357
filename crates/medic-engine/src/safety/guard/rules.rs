//! What the guard refuses: one rule per family of host-destroying commands,
//! each with the reason shown in the refusal.

use super::arg::{Arg, is_raw_device, is_system_path, is_system_tree};

/// What a rule found.
pub(crate) enum Hit {
    /// Nothing to object to.
    Clear,
    /// The command destroys something; the detail says what.
    Destructive(String),
    /// A value the rule depends on is only known at run time.
    Unknown(String),
}

/// One family of destructive commands.
pub(crate) struct Rule {
    /// Short name, shown in the refusal.
    pub name: &'static str,
    /// Programs the rule looks at (a trailing `*` matches a prefix: `mkfs*`).
    pub programs: &'static [&'static str],
    /// Why such commands are refused.
    pub reason: &'static str,
    /// Whether this command is one of them.
    pub test: fn(program: &str, args: &[Arg]) -> Hit,
}

/// The rules, in the order they are asked.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        name: "delete-system",
        programs: &["rm"],
        reason: "deleting system trees or files destroys the host",
        test: rm,
    },
    Rule {
        name: "delete-system",
        programs: &["unlink", "rmdir", "shred", "srm"],
        reason: "deleting or shredding system files or devices destroys the host",
        test: unlink,
    },
    Rule {
        name: "delete-system",
        programs: &["find"],
        reason: "find -delete or -exec rm over a system tree deletes it",
        test: find,
    },
    Rule {
        name: "delete-system",
        programs: &["rsync"],
        reason: "rsync --delete onto a system tree empties it",
        test: rsync,
    },
    Rule {
        name: "move-system",
        programs: &["mv"],
        reason: "moving system trees or files away breaks the host",
        test: mv,
    },
    Rule {
        name: "permissions-system",
        programs: &["chmod", "chown", "chgrp", "setfacl", "chattr"],
        reason: "changing permissions or ownership of / or a system tree breaks the host",
        test: permissions,
    },
    Rule {
        name: "raw-device",
        programs: &["dd"],
        reason: "writing onto a disk device destroys its filesystem",
        test: dd,
    },
    Rule {
        name: "raw-device",
        programs: &["tee", "cp", "install", "truncate", "cat", "ln"],
        reason: "writing onto a disk device, /proc/sysrq-trigger or a system file breaks the host",
        test: device_write,
    },
    Rule {
        name: "disk-tools",
        programs: &[
            "mkfs*",
            "mke2fs",
            "mkswap",
            "wipefs",
            "fdisk",
            "sfdisk",
            "cfdisk",
            "gdisk",
            "sgdisk",
            "parted",
            "blkdiscard",
            "pvremove",
            "vgremove",
            "lvremove",
            "kpartx",
        ],
        reason: "the program rewrites disks, partitions or volumes",
        test: always,
    },
    Rule {
        name: "disk-tools",
        programs: &["zpool", "zfs", "cryptsetup"],
        reason: "the subcommand destroys a pool, dataset or encrypted volume",
        test: storage_verbs,
    },
    Rule {
        name: "unmount-system",
        programs: &["umount"],
        reason: "unmounting every filesystem or a system tree breaks the host",
        test: umount,
    },
    Rule {
        name: "power",
        programs: &["shutdown", "reboot", "halt", "poweroff", "kexec"],
        reason: "the program takes the host down",
        test: always,
    },
    Rule {
        name: "power",
        programs: &["init", "telinit"],
        reason: "runlevels 0, 1 and 6 take the host down",
        test: runlevel,
    },
    Rule {
        name: "power",
        programs: &["systemctl", "loginctl"],
        reason: "power verbs and targets (reboot, poweroff, rescue, isolate, …) take the host down",
        test: systemctl,
    },
    Rule {
        name: "kill-all",
        programs: &["kill"],
        reason: "signalling pid -1 (every process) or 1 (init) takes the host down",
        test: kill,
    },
    Rule {
        name: "kill-all",
        programs: &["pkill", "killall"],
        reason: "a pattern that matches every process kills the host",
        test: pkill,
    },
    Rule {
        name: "kill-all",
        programs: &["killall5"],
        reason: "killall5 signals every process",
        test: always,
    },
    Rule {
        name: "firewall-flush",
        programs: &[
            "iptables",
            "ip6tables",
            "iptables-legacy",
            "ip6tables-legacy",
            "iptables-nft",
            "ip6tables-nft",
            "nft",
            "ufw",
            "firewall-cmd",
        ],
        reason: "flushing the firewall or setting a DROP policy opens the host or locks everyone out",
        test: firewall,
    },
    Rule {
        name: "remove-essential",
        programs: &[
            "apt", "apt-get", "aptitude", "dpkg", "yum", "dnf", "microdnf", "rpm", "apk", "pacman",
            "zypper",
        ],
        reason: "removing essential packages breaks the host",
        test: packages,
    },
    Rule {
        name: "git-history",
        programs: &["git"],
        reason: "force-pushing rewrites shared history; cleaning a system tree deletes it",
        test: git,
    },
    Rule {
        name: "wipe-data",
        programs: &["crontab"],
        reason: "crontab -r deletes every scheduled job",
        test: crontab,
    },
    Rule {
        name: "wipe-data",
        programs: &["redis-cli", "dropdb", "mysqladmin"],
        reason: "the command deletes a database's data",
        test: databases,
    },
    Rule {
        name: "wipe-data",
        programs: &["docker", "podman", "nerdctl"],
        reason: "pruning or removing volumes deletes their data",
        test: containers,
    },
    Rule {
        name: "wipe-data",
        programs: &["kubectl", "oc"],
        reason: "deleting a namespace or everything of a kind removes workloads and their data",
        test: kubectl,
    },
    Rule {
        name: "lock-out",
        programs: &["userdel", "deluser", "passwd", "usermod"],
        reason: "deleting or locking root locks everyone out",
        test: root_account,
    },
];

/// The rule that refuses `program args`, and what it found.
pub(crate) fn judge(program: &str, args: &[Arg]) -> Option<(&'static Rule, Hit)> {
    if args.iter().any(|a| a.is("--no-preserve-root")) {
        return RULES
            .first()
            .map(|rule| (rule, Hit::Destructive("--no-preserve-root".into())));
    }
    RULES
        .iter()
        .filter(|rule| rule.programs.iter().any(|p| names(p, program)))
        .find_map(|rule| match (rule.test)(program, args) {
            Hit::Clear => None,
            hit => Some((rule, hit)),
        })
}

fn names(pattern: &str, program: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => program.starts_with(prefix),
        None => pattern == program,
    }
}

/// Arguments after the options (`--` ends them; unknown words may be anything).
fn operands(args: &[Arg]) -> Vec<&Arg> {
    let mut operands = Vec::new();
    let mut options_done = false;
    for arg in args {
        match arg.known() {
            Some("--") if !options_done => options_done = true,
            Some(text) if !options_done && text.starts_with('-') && text.len() > 1 => {}
            _ => operands.push(arg),
        }
    }
    operands
}

fn has_flag(args: &[Arg], letters: &[char], long: &[&str]) -> bool {
    args.iter().filter_map(Arg::known).any(|a| {
        long.iter()
            .any(|l| a == *l || a.starts_with(&format!("{l}=")))
            || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains(letters))
    })
}

/// The first operand that `reaches` says is off limits, or an unknown one.
fn any_operand(args: &[Arg], what: &str, reaches: fn(&str) -> bool) -> Hit {
    for operand in operands(args) {
        match operand.known() {
            Some(path) if reaches(path) => return Hit::Destructive(format!("{what} {path}")),
            Some(_) => {}
            None => return Hit::Unknown(format!("{what} a path chosen at run time")),
        }
    }
    Hit::Clear
}

fn always(program: &str, _: &[Arg]) -> Hit {
    Hit::Destructive(program.into())
}

fn rm(_: &str, args: &[Arg]) -> Hit {
    if has_flag(args, &['r', 'R'], &["--recursive"]) {
        any_operand(args, "rm -r of", is_system_tree)
    } else {
        any_operand(args, "rm of", is_system_path)
    }
}

fn unlink(program: &str, args: &[Arg]) -> Hit {
    any_operand(args, &format!("{program} of"), |p| {
        is_system_path(p) || is_raw_device(p)
    })
}

fn find(_: &str, args: &[Arg]) -> Hit {
    let starts: Vec<&Arg> = args
        .iter()
        .take_while(|a| {
            a.known()
                .is_none_or(|t| !t.starts_with('-') && t != "(" && t != "!")
        })
        .collect();
    let deletes = args.iter().any(|a| a.is("-delete"))
        || args.windows(2).any(|w| {
            matches!(w[0].known(), Some("-exec" | "-execdir" | "-ok" | "-okdir"))
                && w[1].known().is_some_and(|p| {
                    matches!(
                        super::arg::program_name(p),
                        "rm" | "shred" | "unlink" | "rmdir" | "mv"
                    )
                })
        });
    if !deletes {
        return Hit::Clear;
    }
    for start in starts {
        match start.known() {
            Some(path) if is_system_tree(path) => {
                return Hit::Destructive(format!("find {path} deleting what it finds"));
            }
            Some(_) => {}
            None => return Hit::Unknown("find deleting under a path chosen at run time".into()),
        }
    }
    Hit::Clear
}

fn rsync(_: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    // --remove-source-files empties the sources, --delete the destination.
    if words.contains(&"--remove-source-files") {
        return any_operand(args, "rsync --remove-source-files of", is_system_tree);
    }
    if !words.iter().any(|a| a.starts_with("--delete")) {
        return Hit::Clear;
    }
    match operands(args).last().map(|dest| dest.known()) {
        Some(Some(path)) if is_system_tree(path) => {
            Hit::Destructive(format!("rsync --delete onto {path}"))
        }
        Some(None) => Hit::Unknown("rsync --delete onto a path chosen at run time".into()),
        _ => Hit::Clear,
    }
}

fn mv(_: &str, args: &[Arg]) -> Hit {
    any_operand(args, "mv of", is_system_path)
}

fn permissions(program: &str, args: &[Arg]) -> Hit {
    let operands = operands(args);
    // The first operand is the mode or owner, except for chattr's +i style flags.
    for operand in operands.iter().skip(1) {
        match operand.known() {
            Some(path) if is_system_tree(path) => {
                return Hit::Destructive(format!("{program} of {path}"));
            }
            Some(_) => {}
            None if has_flag(args, &['R'], &["--recursive"]) => {
                return Hit::Unknown(format!("{program} -R of a path chosen at run time"));
            }
            None => {}
        }
    }
    Hit::Clear
}

fn dd(_: &str, args: &[Arg]) -> Hit {
    for arg in args {
        match arg.known().map(|a| a.strip_prefix("of=")) {
            Some(Some(path)) if is_raw_device(path) || is_system_path(path) => {
                return Hit::Destructive(format!("dd of={path}"));
            }
            Some(_) => {}
            None => return Hit::Unknown("dd with an argument chosen at run time".into()),
        }
    }
    Hit::Clear
}

fn device_write(program: &str, args: &[Arg]) -> Hit {
    let targets: Vec<&Arg> = match program {
        // cp/install/ln write their last operand; tee and truncate every operand.
        "cp" | "install" | "ln" => operands(args).last().copied().into_iter().collect(),
        "cat" => return Hit::Clear,
        _ => operands(args),
    };
    for target in targets {
        if let Some(path) = target.known()
            && (is_raw_device(path) || (program != "ln" && is_system_path(path)))
        {
            return Hit::Destructive(format!("{program} onto {path}"));
        }
    }
    Hit::Clear
}

fn storage_verbs(program: &str, args: &[Arg]) -> Hit {
    let verb = operands(args).first().and_then(|a| a.known()).unwrap_or("");
    let destroys = match program {
        "zpool" | "zfs" => matches!(verb, "destroy" | "labelclear"),
        _ => matches!(verb, "luksFormat" | "erase" | "luksErase" | "reencrypt"),
    };
    if destroys {
        Hit::Destructive(format!("{program} {verb}"))
    } else {
        Hit::Clear
    }
}

fn umount(_: &str, args: &[Arg]) -> Hit {
    if has_flag(args, &['a'], &["--all"]) {
        return Hit::Destructive("umount -a".into());
    }
    any_operand(args, "umount of", is_system_tree)
}

fn runlevel(program: &str, args: &[Arg]) -> Hit {
    match operands(args).first().and_then(|a| a.known()) {
        Some(level @ ("0" | "1" | "6" | "s" | "S")) => {
            Hit::Destructive(format!("{program} {level}"))
        }
        _ => Hit::Clear,
    }
}

const POWER_VERBS: &[&str] = &[
    "poweroff",
    "reboot",
    "halt",
    "kexec",
    "emergency",
    "rescue",
    "suspend",
    "hibernate",
    "hybrid-sleep",
    "suspend-then-hibernate",
    "soft-reboot",
    "isolate",
    "default",
];

fn systemctl(program: &str, args: &[Arg]) -> Hit {
    let operands = operands(args);
    let Some(verb) = operands.first().and_then(|a| a.known()) else {
        return Hit::Clear;
    };
    if POWER_VERBS.contains(&verb) {
        return Hit::Destructive(format!("{program} {verb}"));
    }
    let starts = matches!(
        verb,
        "start" | "restart" | "reload-or-restart" | "try-restart" | "enable"
    );
    for unit in operands.iter().skip(1) {
        match unit.known() {
            Some(unit) if starts && is_power_target(unit) => {
                return Hit::Destructive(format!("{program} {verb} {unit}"));
            }
            Some(_) => {}
            None if starts => {
                return Hit::Unknown(format!("{program} {verb} of a unit chosen at run time"));
            }
            None => {}
        }
    }
    Hit::Clear
}

fn is_power_target(unit: &str) -> bool {
    let unit = unit.trim_end_matches(".target");
    matches!(
        unit,
        "reboot"
            | "poweroff"
            | "halt"
            | "kexec"
            | "emergency"
            | "rescue"
            | "shutdown"
            | "ctrl-alt-del"
            | "sleep"
            | "suspend"
            | "hibernate"
            | "hybrid-sleep"
            | "soft-reboot"
            | "final"
            | "exit"
    )
}

fn kill(_: &str, args: &[Arg]) -> Hit {
    let mut rest = args;
    // The signal: `-9`, `-KILL`, `-s KILL`, `-n 9`, `--signal KILL`.
    if let Some(first) = rest.first().and_then(|a| a.known()) {
        if matches!(first, "-s" | "-n" | "--signal") {
            rest = rest.get(2..).unwrap_or(&[]);
        } else if first.starts_with('-') && first != "--" && first.len() > 1 {
            rest = &rest[1..];
        }
    }
    if rest.first().is_some_and(|a| a.is("--")) {
        rest = &rest[1..];
    }
    for pid in rest {
        match pid.known() {
            Some(p @ ("-1" | "1")) => return Hit::Destructive(format!("kill of pid {p}")),
            Some(_) => {}
            None => return Hit::Unknown("kill of a pid chosen at run time".into()),
        }
    }
    Hit::Clear
}

fn pkill(program: &str, args: &[Arg]) -> Hit {
    let matches_all = |p: &str| {
        let p = p.trim_start_matches('^').trim_end_matches('$');
        matches!(p, "" | "." | ".*" | ".+" | "*")
    };
    for operand in operands(args) {
        match operand.known() {
            Some(pattern) if matches_all(pattern) => {
                return Hit::Destructive(format!("{program} {pattern:?} matches every process"));
            }
            Some(_) => {}
            None => return Hit::Unknown(format!("{program} of a pattern chosen at run time")),
        }
    }
    Hit::Clear
}

fn firewall(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    let hit = match program {
        "nft" => words.windows(2).any(|w| w == ["flush", "ruleset"]),
        "ufw" => words.contains(&"reset"),
        "firewall-cmd" => words.contains(&"--panic-on"),
        _ => {
            has_flag(args, &['F'], &["--flush"])
                || words
                    .windows(3)
                    .any(|w| matches!(w[0], "-P" | "--policy") && w[2] == "DROP")
        }
    };
    if hit {
        Hit::Destructive(format!("{program} {}", words.join(" ")))
    } else {
        Hit::Clear
    }
}

const ESSENTIAL: &[&str] = &[
    "libc6",
    "libc-bin",
    "linux",
    "glibc",
    "musl",
    "bash",
    "dash",
    "coreutils",
    "util-linux",
    "dpkg",
    "apt",
    "rpm",
    "dnf",
    "yum",
    "pacman",
    "apk-tools",
    "systemd",
    "systemd-sysv",
    "init",
    "sysvinit-core",
    "sudo",
    "openssh-server",
    "login",
    "passwd",
    "base-files",
    "base-passwd",
    "mount",
    "tar",
    "gzip",
    "findutils",
    "grep",
    "sed",
    "busybox",
    "libgcc-s1",
    "libstdc++6",
    "e2fsprogs",
];
const ESSENTIAL_PREFIXES: &[&str] = &[
    "linux-image",
    "kernel",
    "grub",
    "libpam",
    "libc6",
    "libsystemd",
    "shim",
];

fn packages(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    if words
        .iter()
        .any(|w| matches!(*w, "--force-remove-essential" | "--allow-remove-essential"))
    {
        return Hit::Destructive(format!("{program} removing essential packages on purpose"));
    }
    let removes = match program {
        "dpkg" => has_flag(args, &['r', 'P'], &["--remove", "--purge"]),
        "rpm" => has_flag(args, &['e'], &["--erase"]),
        "pacman" => args
            .iter()
            .filter_map(Arg::known)
            .any(|a| a.starts_with("-R")),
        "apk" => words.contains(&"del"),
        _ => words
            .iter()
            .any(|w| matches!(*w, "remove" | "purge" | "autoremove" | "erase" | "rm")),
    };
    if !removes {
        return Hit::Clear;
    }
    for operand in operands(args) {
        let Some(name) = operand.known() else {
            return Hit::Unknown(format!("{program} removing packages chosen at run time"));
        };
        let name = name.split([':', '=']).next().unwrap_or(name);
        if ESSENTIAL.contains(&name)
            || ESSENTIAL_PREFIXES.iter().any(|p| name.starts_with(p))
            || name.contains('*')
            || name == "~i"
        {
            return Hit::Destructive(format!("{program} removing {name}"));
        }
    }
    Hit::Clear
}

fn git(_: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    if words.contains(&"push")
        && (has_flag(args, &['f'], &["--force", "--force-with-lease", "--mirror"])
            || words
                .iter()
                .skip_while(|w| **w != "push")
                .any(|w| w.starts_with('+') || w.starts_with(":")))
    {
        return Hit::Destructive("git push --force".into());
    }
    if words.contains(&"clean") {
        let place = words
            .windows(2)
            .find(|w| w[0] == "-C")
            .map(|w| w[1])
            .or_else(|| words.iter().find_map(|w| w.strip_prefix("--work-tree=")));
        if let Some(place) = place
            && is_system_tree(place)
        {
            return Hit::Destructive(format!("git clean in {place}"));
        }
    }
    Hit::Clear
}

fn crontab(_: &str, args: &[Arg]) -> Hit {
    if has_flag(args, &['r'], &["--remove"]) {
        Hit::Destructive("crontab -r".into())
    } else {
        Hit::Clear
    }
}

fn databases(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<String> = args
        .iter()
        .filter_map(Arg::known)
        .map(str::to_ascii_lowercase)
        .collect();
    let hit = match program {
        "redis-cli" => words.iter().any(|w| w == "flushall" || w == "flushdb"),
        "mysqladmin" => words.iter().any(|w| w == "drop"),
        _ => true,
    };
    if hit {
        Hit::Destructive(format!("{program} {}", words.join(" ")))
    } else {
        Hit::Clear
    }
}

fn containers(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    let volumes = words
        .windows(2)
        .any(|w| w[0] == "volume" && matches!(w[1], "prune" | "rm"))
        || (words.windows(2).any(|w| w == ["system", "prune"]) && words.contains(&"--volumes"));
    if volumes {
        Hit::Destructive(format!("{program} {}", words.join(" ")))
    } else {
        Hit::Clear
    }
}

fn kubectl(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    if !words.contains(&"delete") {
        return Hit::Clear;
    }
    let namespace = words.iter().any(|w| {
        matches!(*w, "namespace" | "namespaces" | "ns")
            || w.starts_with("namespace/")
            || w.starts_with("ns/")
    });
    let everything = words
        .iter()
        .any(|w| matches!(*w, "--all" | "-A" | "--all-namespaces"));
    if namespace || everything {
        Hit::Destructive(format!("{program} {}", words.join(" ")))
    } else {
        Hit::Clear
    }
}

fn root_account(program: &str, args: &[Arg]) -> Hit {
    let words: Vec<&str> = args.iter().filter_map(Arg::known).collect();
    if !words.contains(&"root") {
        return Hit::Clear;
    }
    let hit = match program {
        "passwd" => has_flag(args, &['d', 'l'], &["--delete", "--lock"]),
        "usermod" => has_flag(args, &['L', 's'], &["--lock", "--expiredate"]),
        _ => true,
    };
    if hit {
        Hit::Destructive(format!("{program} of root"))
    } else {
        Hit::Clear
    }
}
