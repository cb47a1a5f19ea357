//! Answers by fingerprint: a repeated failure does not ask the model again.
//!
//! Bounded (oldest out first) and with a time to live, so a model that
//! changes (or a config whose remedies change) is asked again eventually.
//! The key includes the allowed remedy names: the same failure on a target
//! with other remedies is another question.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::answer::Answer;

/// The cache key of a fingerprint and an allowlist.
pub(crate) fn key(fingerprint: &str, allowed: &[String]) -> String {
    let mut names: Vec<&str> = allowed.iter().map(String::as_str).collect();
    names.sort_unstable();
    format!("{fingerprint}\u{0}{}", names.join("\u{0}"))
}

#[derive(Debug)]
pub(crate) struct Cache {
    capacity: usize,
    ttl: Duration,
    entries: HashMap<String, (Instant, Answer)>,
    order: VecDeque<String>,
}

impl Cache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(crate) fn get(&mut self, key: &str, now: Instant) -> Option<Answer> {
        let (at, answer) = self.entries.get(key)?;
        if now.duration_since(*at) < self.ttl {
            return Some(answer.clone());
        }
        self.entries.remove(key);
        self.order.retain(|k| k != key);
        None
    }

    pub(crate) fn put(&mut self, key: String, answer: Answer, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key.clone(), (now, answer)).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Answer {
        Answer {
            category: None,
            remedy: None,
            confidence: 0.5,
            root_cause: String::new(),
            rationale: String::new(),
            notes: vec![],
        }
    }

    #[test]
    fn bounded_and_expiring() {
        let now = Instant::now();
        let mut cache = Cache::new(2, Duration::from_secs(10));
        cache.put("a".into(), answer(), now);
        cache.put("b".into(), answer(), now);
        cache.put("c".into(), answer(), now);
        assert!(cache.get("a", now).is_none(), "the oldest went out");
        assert!(cache.get("b", now).is_some());
        assert!(cache.get("c", now + Duration::from_secs(11)).is_none());
    }

    #[test]
    fn the_allowlist_is_part_of_the_key() {
        let one = key("db:1", &["b".into(), "a".into()]);
        assert_eq!(one, key("db:1", &["a".into(), "b".into()]));
        assert_ne!(one, key("db:1", &["a".into()]));
    }
}
