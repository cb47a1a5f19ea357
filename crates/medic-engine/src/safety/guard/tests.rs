use proptest::prelude::*;

use super::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn the_refusal_names_the_rule_and_the_reason() {
    let refusal = check_command(&argv(&["rm", "-rf", "/"])).expect_err("refused");
    assert_eq!(refusal.rule, "delete-system");
    assert!(!refusal.unreadable);
    assert!(refusal.to_string().contains("rm -r of /"), "{refusal}");
    assert!(
        refusal.to_string().contains("destroys the host"),
        "{refusal}"
    );
}

#[test]
fn what_it_cannot_read_is_unreadable_not_destructive() {
    let refusal = check_command(&argv(&["sh", "-c", "$CMD -rf /"])).expect_err("refused");
    assert!(refusal.unreadable, "{refusal}");
    assert!(refusal.to_string().contains("risk = \"high\""), "{refusal}");
    let refusal = check_command(&argv(&["python3", "-c", "print(1)"])).expect_err("refused");
    assert_eq!(refusal.rule, "interpreter-code");
}

#[test]
fn here_documents_fed_to_a_shell_are_unreadable() {
    let script = "bash <<EOF\nrm -rf /\nEOF";
    assert!(check_command(&argv(&["sh", "-c", script])).is_err());
    let script = "cat <<EOF > /tmp/x\n$(rm -rf /)\nEOF";
    assert!(check_command(&argv(&["sh", "-c", script])).is_err());
}

#[test]
fn a_cd_carries_to_relative_paths() {
    assert!(check_command(&argv(&["sh", "-c", "cd / && rm -rf *"])).is_err());
    assert!(check_command(&argv(&["sh", "-c", "cd /srv/app/tmp && rm -rf *"])).is_ok());
    assert!(check_command(&argv(&["sh", "-c", "cd \"$D\" && rm -rf ./*"])).is_err());
}

#[test]
fn placeholders_may_not_become_code() {
    let refused: &[&[&str]] = &[
        &["sh", "-c", "echo noted: {{diagnosis.root_cause}} >> notes"],
        &["bash", "-c", "notify {{incident.title}}"],
        &["sudo", "sh", "-c", "echo {{target.name}}"],
        &["python3", "-c", "print('{{diagnosis.root_cause}}')"],
        &["perl", "-e", "print '{{incident.title}}'"],
        &["ssh", "host", "echo", "{{diagnosis.root_cause}}"],
        &["su", "app", "-c", "echo {{incident.title}}"],
        &["env", "-S", "echo {{incident.title}}"],
        &["watch", "echo", "{{target.name}}"],
        &["flock", "/tmp/l", "-c", "echo {{target.name}}"],
        &["docker", "exec", "web", "sh", "-c", "echo {{target.name}}"],
        &[
            "kubectl",
            "exec",
            "pod",
            "--",
            "sh",
            "-c",
            "echo {{target.name}}",
        ],
        &[
            "find",
            "/tmp",
            "-exec",
            "sh",
            "-c",
            "echo {{target.name}}",
            ";",
        ],
        &["{{diagnosis.root_cause}}"],
        &["script", "-c", "echo {{target.name}}", "/dev/null"],
    ];
    for command in refused {
        let refusal = check_command_template(&argv(command)).expect_err("refused");
        assert_eq!(
            refusal.rule, "placeholder-in-code",
            "{command:?}: {refusal}"
        );
        assert!(!refusal.unreadable, "never approvable: {command:?}");
        assert!(
            refusal.to_string().contains("MEDIC_ROOT_CAUSE"),
            "says how: {refusal}"
        );
    }
    let allowed: &[&[&str]] = &[
        &["notify-team", "{{diagnosis.root_cause}}"],
        &[
            "sh",
            "-c",
            "notify-team \"$1\"",
            "_",
            "{{diagnosis.root_cause}}",
        ],
        &["curl", "-d", "{{incident.title}}", "http://127.0.0.1/hook"],
        &["systemctl", "restart", "{{target.name}}"],
    ];
    for command in allowed {
        assert_eq!(
            check_command_template(&argv(command)),
            Ok(()),
            "{command:?}"
        );
    }
}

proptest! {
    #[test]
    fn never_panics_on_argv(words in proptest::collection::vec("\\PC{0,12}", 0..8)) {
        let _ = check_command(&words);
        let _ = check_command_template(&words);
    }

    #[test]
    fn never_panics_on_shell_text(script in "[a-z /$(){}|;&<>\"'`*.=\\\\-]{0,60}") {
        let _ = check_command(&["sh".to_string(), "-c".to_string(), script]);
    }
}
