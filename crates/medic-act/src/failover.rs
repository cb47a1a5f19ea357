//! The `failover` action: which of a target's `endpoints` is active, moved
//! round robin. The state lives in memory: after a restart medic starts on
//! the first endpoint again, which probes then confirm or fail over from.

use std::collections::HashMap;
use std::sync::Mutex;

use medic_engine::config::Target;

use crate::outcome::ActionOutcome;

/// The active endpoint's index per target (absent: the first).
#[derive(Debug, Default)]
pub(crate) struct ActiveEndpoints {
    index_by_target: Mutex<HashMap<String, usize>>,
}

impl ActiveEndpoints {
    /// The target's active endpoint; `None` when it has no endpoints.
    pub(crate) fn active(&self, target: &Target) -> Option<String> {
        let index = self.index(&target.name);
        endpoint_at(target, index).map(str::to_string)
    }

    /// Makes the next endpoint active (after the last comes the first).
    pub(crate) fn advance(&self, target: &Target) -> ActionOutcome {
        let count = target.endpoints.len();
        if count < 2 {
            return ActionOutcome::failed(format!(
                "target {} has {count} endpoint(s); failover needs at least two",
                target.name
            ));
        }
        let (previous, next) = {
            let mut indices = self.lock();
            let index = indices.entry(target.name.clone()).or_insert(0);
            let previous = *index % count;
            *index = (previous + 1) % count;
            (previous, *index)
        };
        let (Some(from), Some(to)) = (endpoint_at(target, previous), endpoint_at(target, next))
        else {
            return ActionOutcome::failed("the endpoint list changed during failover");
        };
        ActionOutcome::succeeded().with_output(format!("active endpoint: {to} (was {from})"))
    }

    fn index(&self, target: &str) -> usize {
        self.lock().get(target).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // A map of plain integers cannot be left torn by a panic elsewhere.
        self.index_by_target
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The endpoint at `index`, wrapped into range (the list may have shrunk
/// since the index was stored).
fn endpoint_at(target: &Target, index: usize) -> Option<&str> {
    let count = target.endpoints.len();
    (count > 0)
        .then(|| target.endpoints.get(index % count))
        .flatten()
        .map(String::as_str)
}
