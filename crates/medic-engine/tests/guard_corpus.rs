//! The guard against two corpora: every destructive command refused (or held
//! for a human), every everyday remedy allowed. Both rates are printed.

use medic_engine::safety::check_command;

/// Splits a corpus line into argv the way a shell would, without expanding
/// anything: quotes group, a backslash escapes (inside double quotes only
/// before `"`, `\`, `$` and a backquote).
fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.extend(chars.next());
                        }
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn corpus(name: &str) -> Vec<(String, Vec<String>)> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| (line.to_string(), split(line)))
        .collect()
}

#[test]
fn every_destructive_command_is_refused_or_held() {
    let commands = corpus("destructive.txt");
    assert!(
        commands.len() >= 150,
        "the corpus has {} commands",
        commands.len()
    );
    let (mut refused, mut held, mut passed) = (0, 0, Vec::new());
    for (line, argv) in &commands {
        match check_command(argv) {
            Err(refusal) if refusal.unreadable => held += 1,
            Err(_) => refused += 1,
            Ok(()) => passed.push(line.as_str()),
        }
    }
    println!(
        "destructive corpus: {} commands, {refused} refused, {held} held for approval, {} allowed",
        commands.len(),
        passed.len()
    );
    assert!(passed.is_empty(), "allowed: {passed:#?}");
}

#[test]
fn every_everyday_remedy_is_allowed() {
    let commands = corpus("benign.txt");
    assert!(
        commands.len() >= 100,
        "the corpus has {} commands",
        commands.len()
    );
    let refused: Vec<String> = commands
        .iter()
        .filter_map(|(line, argv)| check_command(argv).err().map(|r| format!("{line}: {r}")))
        .collect();
    println!(
        "benign corpus: {} commands, {} allowed",
        commands.len(),
        commands.len() - refused.len()
    );
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

#[test]
fn the_splitter_reads_quotes_like_a_shell() {
    assert_eq!(
        split(r#"sh -c "X=/; rm -rf \"$X\"" 'a b' c\ d"#),
        ["sh", "-c", "X=/; rm -rf \"$X\"", "a b", "c d"]
    );
}
