//! `medic templates`: one jsonl row per input line, in order, grouped the
//! way fingerprints are; a summary in text.

use super::medic;

const LOG: &str = "sshd[411]: Failed password for invalid user admin from 10.0.0.7 port 52113 ssh2\n\
                   sshd[9]: Failed password for invalid user deploy from 10.9.1.2 port 4022 ssh2\n\
                   kernel: Out of memory: Killed process 812 (java)\n";

#[test]
fn jsonl_has_a_row_per_line_and_groups_the_same_message() {
    let out = medic(&["templates", "--format", "jsonl", "-"], &[], Some(LOG));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["line"], 1);
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(rows[0]["group"], rows[1]["group"]);
    assert_ne!(rows[0]["group"], rows[2]["group"]);
    assert_eq!(
        rows[0]["template"],
        "sshd[<*>]: failed password for invalid user <*> from <*> port <*>"
    );
}

#[test]
fn text_summarises_and_repeat_reports_lines_per_second() {
    let out = medic(&["templates", "--repeat", "10", "-"], &[], Some(LOG));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("lines: 3\ngroups: 2\n"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("30 lines in") && stderr.contains("lines/s"),
        "{stderr}"
    );
}
