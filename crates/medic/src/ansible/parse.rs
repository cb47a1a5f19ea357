//! Reads an `ansible-playbook` run's stdout: which hosts failed, in which
//! task, with what message. Pure: text in, failures out.
//!
//! Two callbacks are understood: the `json` one (one JSON document, exact)
//! and the default one (`fatal: [host]: FAILED! => {…}` lines and the PLAY
//! RECAP, read line by line). A host stops at its first real failure, so
//! each failed host has exactly one: its last failed result. Ignored and
//! rescued failures come earlier, and the recap (or the `stats`) tells which
//! hosts really failed.

use std::collections::BTreeMap;

use serde_json::Value;

/// Which stdout callback wrote the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Callback {
    Default,
    Json,
}

/// One host's failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskFailure {
    pub host: String,
    /// The task's name; `?` when only the recap names the host.
    pub task: String,
    /// What ansible said, in one line (msg, and stderr when it has one).
    pub message: String,
    /// The host could not be reached at all.
    pub unreachable: bool,
    /// Every text field of the result, for classification.
    pub text: String,
}

/// What a playbook run's output says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlaybookOutput {
    pub callback: Callback,
    pub failures: Vec<TaskFailure>,
    /// The retry file ansible wrote (`to retry, use: --limit @FILE`), if any.
    pub retry_file: Option<String>,
}

/// Per-host counts from the PLAY RECAP or the json `stats`.
#[derive(Debug, Default, Clone, Copy)]
struct HostStats {
    failures: u64,
    unreachable: u64,
}

/// Reads a playbook's stdout; `None` when it is no playbook output ansible
/// got far enough to write (a syntax error, a missing inventory).
pub(crate) fn read(stdout: &str) -> Option<PlaybookOutput> {
    let retry_file = stdout
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("to retry, use: --limit @"))
        .map(|path| path.trim().to_string());
    let (callback, events, stats) = match json_document(stdout) {
        Some(document) => {
            let (events, stats) = read_json(&document);
            (Callback::Json, events, Some(stats))
        }
        None => {
            let (events, stats, seen) = read_default(stdout);
            if !seen {
                return None;
            }
            (Callback::Default, events, stats)
        }
    };
    Some(PlaybookOutput {
        callback,
        failures: terminal_failures(events, stats.as_ref()),
        retry_file,
    })
}

/// Each host's last failure, kept only when the counts say the host failed;
/// hosts the counts name without a failure line get one that says so.
fn terminal_failures(
    events: Vec<TaskFailure>,
    stats: Option<&BTreeMap<String, HostStats>>,
) -> Vec<TaskFailure> {
    let mut last: BTreeMap<String, TaskFailure> = BTreeMap::new();
    for event in events {
        last.insert(event.host.clone(), event);
    }
    let Some(stats) = stats else {
        return last.into_values().collect();
    };
    let mut failures = Vec::new();
    for (host, counts) in stats {
        if counts.failures == 0 && counts.unreachable == 0 {
            continue;
        }
        failures.push(last.remove(host).unwrap_or_else(|| {
            let unreachable = counts.failures == 0;
            let message = if unreachable {
                "unreachable (from the recap; its message was not in the output)"
            } else {
                "failed (from the recap; its message was not in the output)"
            };
            TaskFailure {
                host: host.clone(),
                task: "?".into(),
                message: message.into(),
                unreachable,
                text: String::new(),
            }
        }));
    }
    failures
}

/// The json callback's document: it starts on a line of its own, `{`.
fn json_document(stdout: &str) -> Option<Value> {
    let start = if stdout.starts_with('{') {
        0
    } else {
        stdout.find("\n{\n").map(|i| i + 1)?
    };
    let document = serde_json::Deserializer::from_str(&stdout[start..])
        .into_iter::<Value>()
        .next()?
        .ok()?;
    (document.get("plays").is_some() && document.get("stats").is_some()).then_some(document)
}

fn read_json(document: &Value) -> (Vec<TaskFailure>, BTreeMap<String, HostStats>) {
    let mut events = Vec::new();
    let plays = document["plays"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for play in plays {
        let tasks = play["tasks"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for task in tasks {
            let name = task["task"]["name"].as_str().unwrap_or("?");
            let Some(hosts) = task["hosts"].as_object() else {
                continue;
            };
            for (host, result) in hosts {
                let unreachable = result["unreachable"] == Value::Bool(true);
                if unreachable || result["failed"] == Value::Bool(true) {
                    events.push(failure(host, name, result, unreachable));
                }
            }
        }
    }
    let mut stats = BTreeMap::new();
    if let Some(hosts) = document["stats"].as_object() {
        for (host, counts) in hosts {
            let count = |key: &str| counts[key].as_u64().unwrap_or(0);
            stats.insert(
                host.clone(),
                HostStats {
                    failures: count("failures"),
                    unreachable: count("unreachable"),
                },
            );
        }
    }
    (events, stats)
}

/// The default callback, line by line. Returns the failure lines, the recap
/// (if the output reached it) and whether this looked like playbook output.
fn read_default(stdout: &str) -> (Vec<TaskFailure>, Option<BTreeMap<String, HostStats>>, bool) {
    let mut events: Vec<TaskFailure> = Vec::new();
    let mut recap: Option<BTreeMap<String, HostStats>> = None;
    let mut seen = false;
    let mut task = String::from("?");
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            seen = true;
            task = rest.rfind(']').map_or(rest, |end| &rest[..end]).to_string();
        } else if line.starts_with("PLAY RECAP") {
            seen = true;
            recap = Some(BTreeMap::new());
        } else if line.starts_with("PLAY [") {
            seen = true;
        } else if line.trim() == "...ignoring" {
            events.pop();
        } else if let Some(event) = failure_line(line, &task) {
            seen = true;
            events.push(event);
        } else if let Some(recap) = recap.as_mut()
            && let Some((host, counts)) = recap_line(line)
        {
            recap.insert(host, counts);
        }
    }
    (events, recap, seen)
}

/// `fatal: [host]: FAILED! => {…}`, `fatal: [host]: UNREACHABLE! => {…}`,
/// and a loop item's `failed: [host] (item=x) => {…}`.
fn failure_line(line: &str, task: &str) -> Option<TaskFailure> {
    let rest = line
        .strip_prefix("fatal: [")
        .or_else(|| line.strip_prefix("failed: ["))?;
    let (target, rest) = rest.split_once(']')?;
    // A delegated task names `host -> delegate`: the host is what failed.
    let host = target.split(" -> ").next().unwrap_or(target).trim();
    let (status, result) = rest.split_once("=>").unwrap_or((rest, ""));
    let unreachable = status.contains("UNREACHABLE!");
    let result = result.trim();
    let event = match serde_json::from_str::<Value>(result) {
        Ok(value) => failure(host, task, &value, unreachable),
        // Not JSON (a YAML result format): keep the text as it is.
        Err(_) => TaskFailure {
            host: host.to_string(),
            task: task.to_string(),
            message: result.to_string(),
            unreachable,
            text: result.to_string(),
        },
    };
    Some(event)
}

/// `web1   : ok=3  changed=2  unreachable=0  failed=1  skipped=0 …`
fn recap_line(line: &str) -> Option<(String, HostStats)> {
    let (host, counts) = line.split_once(" : ")?;
    let mut stats = HostStats::default();
    let mut any = false;
    for pair in counts.split_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.parse().unwrap_or(0);
        match key {
            "failed" => stats.failures = value,
            "unreachable" => stats.unreachable = value,
            "ok" => {}
            _ => continue,
        }
        any = true;
    }
    any.then(|| (host.trim().to_string(), stats))
}

/// The fields of a result that say what went wrong.
const TEXT_FIELDS: [&str; 6] = [
    "msg",
    "stderr",
    "module_stderr",
    "module_stdout",
    "stdout",
    "response",
];

fn failure(host: &str, task: &str, result: &Value, unreachable: bool) -> TaskFailure {
    // A loop's result says only "One or more items failed": the failed
    // items say why.
    let items: Vec<&Value> = result["results"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|item| item["failed"] == Value::Bool(true))
                .collect()
        })
        .unwrap_or_default();
    let detail = items.last().copied().unwrap_or(result);
    let mut message = first_line(&detail["msg"]).unwrap_or_else(|| "failed".into());
    let stderr = first_line(&detail["stderr"]).or_else(|| first_line(&detail["module_stderr"]));
    if let Some(stderr) = stderr.filter(|s| *s != message) {
        message = format!("{message}: {stderr}");
    }
    if let Some(item) = detail.get("_ansible_item_label").or(detail.get("item")) {
        let label = item
            .as_str()
            .map_or_else(|| item.to_string(), str::to_string);
        message = format!("(item={label}) {message}");
    }
    let mut text = String::new();
    for value in std::iter::once(result).chain(items) {
        for field in TEXT_FIELDS {
            if let Some(s) = value[field].as_str().filter(|s| !s.is_empty()) {
                text.push_str(s);
                text.push('\n');
            }
        }
    }
    TaskFailure {
        host: host.to_string(),
        task: task.to_string(),
        message,
        unreachable,
        text,
    }
}

fn first_line(value: &Value) -> Option<String> {
    value
        .as_str()?
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output captured from the real ansible-playbook (ansible-core 2.14)
    /// running the playbooks in tests/fixtures/ansible.
    fn output(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/ansible/output/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read_both(case: &str) -> [PlaybookOutput; 2] {
        let default = read(&output(&format!("{case}.default"))).expect("default output");
        let json = read(&output(&format!("{case}.json"))).expect("json output");
        assert_eq!(default.callback, Callback::Default);
        assert_eq!(json.callback, Callback::Json);
        [default, json]
    }

    fn one(result: &PlaybookOutput) -> &TaskFailure {
        assert_eq!(result.failures.len(), 1, "{:?}", result.failures);
        &result.failures[0]
    }

    #[test]
    fn a_failed_task_names_its_host_task_and_message_in_both_callbacks() {
        for result in read_both("flaky") {
            let failure = one(&result);
            assert_eq!(failure.host, "web2");
            assert_eq!(failure.task, "download the artifact");
            assert_eq!(
                failure.message,
                "Request failed: <urlopen error [Errno 111] Connection refused>"
            );
            assert!(!failure.unreachable);
        }
    }

    #[test]
    fn an_unreachable_host_is_marked_and_the_reachable_one_is_not_a_failure() {
        for result in read_both("unreachable") {
            let failure = one(&result);
            assert_eq!(failure.host, "gone");
            assert!(failure.unreachable);
            assert!(
                failure.message.contains("Connection refused"),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn module_stderr_joins_the_message_and_the_text() {
        for result in read_both("become") {
            let failure = one(&result);
            assert_eq!(
                failure.message,
                "MODULE FAILURE: sudo: a password is required"
            );
            assert!(failure.text.contains("sudo: a password is required"));
        }
        for (case, says) in [
            ("permission", "Permission denied"),
            (
                "package",
                "No package matching 'medic-test-no-such-package'",
            ),
            ("service", "Could not find the requested service"),
        ] {
            for result in read_both(case) {
                let failure = one(&result);
                assert_eq!(failure.host, "web1");
                assert!(failure.message.contains(says), "{case}: {failure:?}");
            }
        }
    }

    #[test]
    fn ignored_and_rescued_failures_are_not_failures_and_a_loop_says_why() {
        for result in read_both("mixed") {
            let failure = one(&result);
            assert_eq!(failure.task, "fetch each mirror");
            assert_eq!(
                failure.message,
                "(item=mirror-b.invalid) non-zero return code: curl: (6) Could not resolve host: mirror-b.invalid"
            );
            assert!(
                failure
                    .text
                    .contains("Could not resolve host: mirror-b.invalid")
            );
        }
    }

    #[test]
    fn the_retry_file_ansible_wrote_is_found() {
        let result = read(&output("unreachable-retry-file.default")).expect("output");
        assert_eq!(result.retry_file.as_deref(), Some("/tmp/ans/ping.retry"));
        assert_eq!(
            read(&output("unreachable.default")).and_then(|r| r.retry_file),
            None
        );
    }

    #[test]
    fn a_recap_without_its_failure_line_still_names_the_host() {
        // The output's head was lost (only the tail was kept).
        let full = output("flaky.default");
        let tail = &full[full.find("PLAY RECAP").expect("recap")..];
        let result = read(tail).expect("recap output");
        let failure = one(&result);
        assert_eq!(
            (failure.host.as_str(), failure.task.as_str()),
            ("web2", "?")
        );
    }

    #[test]
    fn bad_or_foreign_input_is_none_or_empty_never_a_panic() {
        assert_eq!(read(""), None);
        assert_eq!(read("ERROR! the playbook: x.yml could not be found"), None);
        assert_eq!(
            read("{\n\"plays\": [1, {\"tasks\": 7}], \"stats\": []}\n").map(|r| r.failures.len()),
            Some(0)
        );
        let odd = "TASK [x]\nfatal: [h]: FAILED! => not json\nfatal: [\nfailed: [h2 -> d] (item=1) => {\"results\": 3}\n";
        let result = read(odd).expect("playbook-like");
        let hosts: Vec<&str> = result.failures.iter().map(|f| f.host.as_str()).collect();
        assert_eq!(hosts, ["h", "h2"]);
        assert_eq!(result.failures[0].message, "not json");
    }
}
