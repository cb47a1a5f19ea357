//! The breaker's states, and how state and generation share one atomic word.

use std::fmt;

/// Where a circuit breaker is in its cycle.
///
/// ```
/// use medic_resilience::breaker::State;
/// assert_eq!(State::HalfOpen.to_string(), "half_open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Calls flow; outcomes are counted.
    Closed,
    /// Calls are rejected until the open duration passes.
    Open,
    /// A few trial calls decide whether to close or open again.
    HalfOpen,
    /// Opened by hand; stays open until reset.
    ForcedOpen,
}

impl State {
    pub(crate) const fn code(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
        }
    }

    pub(crate) const fn from_code(code: u64) -> Self {
        match code & 0b11 {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            _ => State::ForcedOpen,
        }
    }

    /// The snake_case name used in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State and generation packed into one `u64`: the low two bits are the state,
/// the rest counts transitions. A permit remembers the word it was issued
/// under, so an outcome that arrives after a transition is recognised as stale
/// with a single comparison and cannot disturb the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Phase(pub u64);

impl Phase {
    pub(crate) fn state(self) -> State {
        State::from_code(self.0)
    }

    pub(crate) fn next(self, state: State) -> Phase {
        Phase(((self.0 >> 2).wrapping_add(1) << 2) | state.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_phase_changes_generation_and_sets_state() {
        let p = Phase(State::Closed.code());
        let q = p.next(State::Open);
        assert_eq!(q.state(), State::Open);
        assert_ne!(p, q);
        assert_ne!(q, q.next(State::Open));
        for s in [
            State::Closed,
            State::Open,
            State::HalfOpen,
            State::ForcedOpen,
        ] {
            assert_eq!(State::from_code(s.code()), s);
        }
    }
}
