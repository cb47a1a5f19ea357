//! The IO edge between the scheduler and the probes: anything that can look
//! at a target and say what it saw.

use std::future::Future;
use std::pin::Pin;

use medic_model::Signal;

/// The future a [`Check`] returns: boxed so checks of different kinds can sit
/// side by side in one scheduler (`Arc<dyn Check>`).
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Signal> + Send + 'a>>;

/// Looks at a target once.
///
/// A failed check is data, not an error: it resolves to an unhealthy
/// [`Signal`] saying why. Implementations bound themselves in time (the real
/// probes use their configured `timeout`), because the scheduler does not
/// know how long a check may take.
///
/// The real probes implement it, and tests implement it with scripted or
/// recording fakes.
pub trait Check: Send + Sync + 'static {
    /// Checks `target` once.
    fn check<'a>(&'a self, target: &'a str) -> CheckFuture<'a>;
}
