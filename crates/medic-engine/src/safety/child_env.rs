//! The environment medic's children start with.
//!
//! An agent's environment holds its secrets (API keys, webhook secrets, cloud
//! credentials): a remedy that runs `env`, or a probe that logs its
//! environment, must not see them. So actions, exec probes, supervised
//! processes and `medic run` fixes start from an empty environment plus a
//! short allowlist, then what the configuration passes on purpose
//! (`pass_env = ["NAME"]`, `env = { K = "v" }`), then (for actions) the
//! incident's facts as `MEDIC_*` variables.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// Variables every child inherits from the agent, besides `LC_*`: what
/// programs need to find themselves, their home and their locale.
pub const INHERITED: &[&str] = &["PATH", "HOME", "LANG", "TZ", "USER"];

/// Whether the agent's variable `name` is passed to every child.
pub fn is_inherited(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    INHERITED.contains(&name) || name.starts_with("LC_")
}

/// Whether `name` can be an environment variable's name: a letter or `_`,
/// then letters, digits and `_` (what a POSIX shell accepts).
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `MEDIC_ALERT_` + the label's name upper-cased, every other character than
/// a letter or digit made `_` (`alertname` → `MEDIC_ALERT_ALERTNAME`,
/// `app.kubernetes.io/name` → `MEDIC_ALERT_APP_KUBERNETES_IO_NAME`).
pub fn alert_variable(label: &str) -> String {
    let mut name = String::from("MEDIC_ALERT_");
    name.extend(label.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    name
}

/// A value as an environment variable can hold it: NUL (which cannot be in
/// one) becomes U+FFFD.
pub fn env_value(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

/// The environment of a child: the allowlisted variables of `parent`, the
/// `pass_env` ones (when the agent has them), then `env`, which wins.
///
/// ```
/// use std::collections::BTreeMap;
/// use medic_engine::safety::child_env::child_env;
/// let parent = [("PATH", "/bin"), ("API_KEY", "hunter22"), ("DB_URL", "postgres://x"), ("LC_ALL", "C")]
///     .map(|(k, v)| (k.into(), v.into()));
/// let env = BTreeMap::from([("MODE".to_string(), "safe".to_string())]);
/// let child = child_env(parent, &["DB_URL".to_string()], &env);
/// let names: Vec<_> = child.keys().map(|k| k.to_str().unwrap()).collect();
/// assert_eq!(names, ["DB_URL", "LC_ALL", "MODE", "PATH"]);
/// ```
pub fn child_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    pass_env: &[String],
    env: &BTreeMap<String, String>,
) -> BTreeMap<OsString, OsString> {
    let mut child: BTreeMap<OsString, OsString> = parent
        .into_iter()
        .filter(|(name, _)| is_inherited(name) || pass_env.iter().any(|p| OsStr::new(p) == name))
        .collect();
    for (name, value) in env {
        child.insert(name.into(), env_value(value).into());
    }
    child
}

/// [`child_env`] of the agent's own environment.
pub fn from_agent(
    pass_env: &[String],
    env: &BTreeMap<String, String>,
) -> BTreeMap<OsString, OsString> {
    child_env(std::env::vars_os(), pass_env, env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shell_names() {
        for good in ["PATH", "_X", "a1", "LC_ALL"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A=B", "A B", "É"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_are_not_inherited_unless_passed() {
        let parent = [
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("HOME", "/root"),
            ("LC_CTYPE", "C"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let child = child_env(parent.clone(), &[], &BTreeMap::new());
        assert!(!child.contains_key(OsStr::new("AWS_SECRET_ACCESS_KEY")));
        assert_eq!(child.len(), 2);
        let passed = child_env(parent, &["AWS_SECRET_ACCESS_KEY".into()], &BTreeMap::new());
        assert!(passed.contains_key(OsStr::new("AWS_SECRET_ACCESS_KEY")));
    }

    #[test]
    fn alert_labels_become_variable_names() {
        assert_eq!(alert_variable("alertname"), "MEDIC_ALERT_ALERTNAME");
        assert_eq!(alert_variable("app.io/name"), "MEDIC_ALERT_APP_IO_NAME");
        assert!(is_valid_name(&alert_variable("é-1")));
        assert_eq!(env_value("a\0b"), "a\u{FFFD}b");
    }
}
