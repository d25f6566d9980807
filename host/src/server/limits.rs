//! What `cltd serve` bounds: body sizes, page sizes, time and the rate of writes.

use std::time::Duration;

/// Largest signed transition accepted (the runtime's own limit).
pub const MAX_TRANSITION: usize = cltd_runtime::MAX_TRANSITION_BYTES;
/// Largest bylaw upload accepted (the runtime's component limit).
pub const MAX_MODULE: usize = cltd_runtime::MAX_COMPONENT_BYTES;
/// Most log entries one page returns.
pub const MAX_PAGE: usize = 1000;

/// Limits `cltd serve` applies.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a read may take before `408 timeout`.
    pub read_timeout: Duration,
    /// Longest a write may take (uploads compile, previews replay the log).
    pub write_timeout: Duration,
    /// Sustained writes per second allowed from one client address.
    pub writes_per_second: u32,
    /// Writes one client may make in a burst above that rate.
    pub write_burst: u32,
    /// Longest a client may take to send a request's head (its request line and headers)
    /// before the connection is closed: a client that dribbles its headers, or never
    /// finishes its request line, holds nothing longer than this.
    pub header_timeout: Duration,
    /// Most connections one client address may hold open at once; more are closed as soon
    /// as they are accepted.
    pub connections_per_client: usize,
    /// Impact previews computed at once (each on its own thread, on a snapshot): previews
    /// never take the trust's write lock, so these bound the cores they may take.
    pub preview_workers: usize,
    /// Previews that may wait for a worker; more are answered 503 `busy`.
    pub preview_queue: usize,
    /// Longest one preview may run: it then stops and reports where (whatever the
    /// candidate, a preview costs at most this).
    pub preview_time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(120),
            writes_per_second: 20,
            write_burst: 40,
            header_timeout: Duration::from_secs(10),
            connections_per_client: 64,
            preview_workers: 1,
            preview_queue: 4,
            preview_time: Duration::from_secs(30),
        }
    }
}
