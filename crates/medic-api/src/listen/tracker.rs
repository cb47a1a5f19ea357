//! The table of open connections and what each is doing, so the accept
//! loop can make room at the cap by closing the oldest connection that is
//! idle or still waiting for its headers — never one with a request in
//! flight (the event stream is one for as long as it is open).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Every open connection, up to a cap.
pub(crate) struct Tracker {
    cap: usize,
    epoch: Instant,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    open: HashMap<u64, Arc<Connection>>,
}

/// What one connection is doing.
pub(crate) struct Connection {
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Milliseconds since the tracker's epoch of the last request start or end.
    last_active_ms: AtomicU64,
    epoch: Instant,
    /// Told once, when the connection is evicted.
    evicted: Notify,
    /// Told when a request starts or ends, so the deadline is recomputed.
    changed: Notify,
}

/// A connection's place in the table; leaving it frees the place.
pub(crate) struct Slot {
    tracker: Arc<Tracker>,
    id: u64,
    connection: Arc<Connection>,
}

/// A request in flight on a connection; dropping it ends the request.
pub(crate) struct InFlight(Arc<Connection>);

/// The two waits a connection with nothing in flight is allowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Before the first request's headers are in.
    pub(crate) header: Duration,
    /// Between requests.
    pub(crate) idle: Duration,
}

impl Tracker {
    /// A table for at most `cap` connections (at least 1).
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.lock().open.len()
    }

    /// A place for a new connection; at the cap, the oldest evictable
    /// connection is told to close and its place taken. `None` when every
    /// open connection has a request in flight.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.open.len() >= self.cap {
            let oldest = inner
                .open
                .iter()
                .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.last_active_ms.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(evicted) = inner.open.remove(&oldest) {
                evicted.evicted.notify_one();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let connection = Arc::new(Connection {
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_active_ms: AtomicU64::new(0),
            epoch: self.epoch,
            evicted: Notify::new(),
            changed: Notify::new(),
        });
        connection.touch();
        inner.open.insert(id, connection.clone());
        Some(Slot {
            tracker: self.clone(),
            id,
            connection,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slot {
    /// The connection this place holds.
    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.tracker.lock().open.remove(&self.id);
    }
}

impl Connection {
    /// Marks a request as started; it ends when the guard is dropped.
    pub(crate) fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.touch();
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// When the connection should be closed if nothing happens before;
    /// `None` while a request is in flight.
    pub(crate) fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let wait = if self.requests.load(Ordering::Acquire) == 0 {
            timeouts.header
        } else {
            timeouts.idle
        };
        let last = Duration::from_millis(self.last_active_ms.load(Ordering::Acquire));
        Some(self.epoch + last + wait)
    }

    /// Resolves when the accept loop evicts this connection.
    pub(crate) async fn evicted(&self) {
        self.evicted.notified().await;
    }

    /// Resolves when a request starts or ends.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active_ms.store(ms, Ordering::Release);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
        self.0.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let tracker = Tracker::new(2);
        let first = tracker.admit().expect("room");
        std::thread::sleep(Duration::from_millis(5));
        let second = tracker.admit().expect("room");
        let third = tracker.admit().expect("the oldest idle one is evicted");
        assert_eq!(tracker.open(), 2);
        drop(first);
        assert_eq!(tracker.open(), 2, "the evicted place was already freed");
        drop((second, third));
        assert_eq!(tracker.open(), 0);
    }

    #[test]
    fn a_connection_with_a_request_in_flight_is_never_evicted() {
        let tracker = Tracker::new(1);
        let busy = tracker.admit().expect("room");
        let request = busy.connection().start_request();
        assert!(tracker.admit().is_none(), "nothing evictable");
        assert!(busy.connection().deadline(timeouts()).is_none());
        drop(request);
        assert!(busy.connection().deadline(timeouts()).is_some());
        assert!(tracker.admit().is_some(), "idle now, so evictable");
    }

    #[test]
    fn the_first_request_gets_the_header_timeout_later_ones_the_idle_timeout() {
        let tracker = Tracker::new(4);
        let slot = tracker.admit().expect("room");
        let connection = slot.connection();
        let before = connection.deadline(timeouts()).expect("idle");
        drop(connection.start_request());
        let after = connection.deadline(timeouts()).expect("idle");
        assert!(after - before >= Duration::from_secs(50));
    }

    fn timeouts() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}
