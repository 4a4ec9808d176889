//! The engine's metrics, through the `metrics` facade: handles registered once per engine, so
//! that what a message costs is an update of a handle (one branch when no recorder is
//! installed), never a lookup, a label allocation or a formatted string.
//!
//! The recorder must be installed before the engine is built: handles registered without one
//! stay no-ops. The names are listed in the README ("Metrics").

use std::{
    any::Any,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use super::TransportKind;

/// Engine.IO sessions open, by transport (gauge).
pub(crate) const SESSIONS: &str = "socketio_sessions";
/// Engine.IO sessions opened, by the transport they opened with (counter).
pub(crate) const SESSIONS_OPENED: &str = "socketio_sessions_opened_total";
/// Sessions upgraded from polling to WebSocket (counter).
pub(crate) const UPGRADES: &str = "socketio_upgrades_total";
/// Bytes received from clients, by transport (counter).
pub(crate) const RECEIVED_BYTES: &str = "socketio_received_bytes_total";
/// Bytes sent to clients, by transport (counter).
pub(crate) const SENT_BYTES: &str = "socketio_sent_bytes_total";
/// Frames in a session's outgoing queue, sampled at each heartbeat ping (histogram).
pub(crate) const QUEUE_FRAMES: &str = "socketio_queue_frames";
/// Bytes in a session's outgoing queue, sampled at each heartbeat ping (histogram).
pub(crate) const QUEUE_BYTES: &str = "socketio_queue_bytes";
/// Packets dropped (`action="dropped"`) or clients disconnected (`action="disconnected"`)
/// because an outgoing queue was full (counter).
pub(crate) const QUEUE_OVERFLOWS: &str = "socketio_queue_overflows_total";
/// Handler panics contained by the server (counter).
pub(crate) const HANDLER_PANICS: &str = "socketio_handler_panics_total";

/// Per-transport handles: `[polling, websocket]`.
#[derive(Debug)]
pub(crate) struct ByTransport<T>([T; 2]);

impl<T> ByTransport<T> {
    fn new(make: impl Fn(&'static str) -> T) -> Self {
        ByTransport([make("polling"), make("websocket")])
    }

    pub(crate) fn get(&self, transport: TransportKind) -> &T {
        match transport {
            TransportKind::Polling => &self.0[0],
            TransportKind::WebSocket => &self.0[1],
        }
    }
}

/// Bytes by transport, and their total over both kept by the engine itself once something
/// asks for it ([`track`](Self::track): the Admin UI's stats), whatever recorder is installed.
/// Until then the total is not kept: every session's task would otherwise write the same
/// atomic at each wake-up.
#[derive(Debug)]
pub(crate) struct ByteCounters {
    per: ByTransport<Counter>,
    tracking: AtomicBool,
    total: AtomicU64,
}

impl ByteCounters {
    fn new(name: &'static str) -> Self {
        ByteCounters {
            per: ByTransport::new(|t| counter!(name, "transport" => t)),
            tracking: AtomicBool::new(false),
            total: AtomicU64::new(0),
        }
    }

    /// The counter of one transport.
    pub(crate) fn get(&self, transport: TransportKind) -> ByteCounter<'_> {
        ByteCounter {
            counter: self.per.get(transport),
            counters: self,
        }
    }

    /// Keeps the total from now on.
    pub(crate) fn track(&self) {
        self.tracking.store(true, Ordering::Relaxed);
    }

    /// The bytes counted since [`track`](Self::track), over both transports.
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// The bytes of one transport: its metric and the engine's total.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteCounter<'a> {
    counter: &'a Counter,
    counters: &'a ByteCounters,
}

impl ByteCounter<'_> {
    pub(crate) fn increment(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.counter.increment(bytes);
        if self.counters.tracking.load(Ordering::Relaxed) {
            self.counters.total.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

/// One engine's handles.
#[derive(Debug)]
pub(crate) struct EngineMetrics {
    pub(crate) sessions: ByTransport<Gauge>,
    pub(crate) opened: ByTransport<Counter>,
    pub(crate) upgrades: Counter,
    pub(crate) received: ByteCounters,
    pub(crate) sent: ByteCounters,
    pub(crate) queue_frames: Histogram,
    pub(crate) queue_bytes: Histogram,
    pub(crate) dropped: Counter,
    pub(crate) disconnected: Counter,
}

impl EngineMetrics {
    pub(crate) fn new() -> EngineMetrics {
        EngineMetrics {
            sessions: ByTransport::new(|t| gauge!(SESSIONS, "transport" => t)),
            opened: ByTransport::new(|t| counter!(SESSIONS_OPENED, "transport" => t)),
            upgrades: counter!(UPGRADES),
            received: ByteCounters::new(RECEIVED_BYTES),
            sent: ByteCounters::new(SENT_BYTES),
            queue_frames: histogram!(QUEUE_FRAMES),
            queue_bytes: histogram!(QUEUE_BYTES),
            dropped: counter!(QUEUE_OVERFLOWS, "action" => "dropped"),
            disconnected: counter!(QUEUE_OVERFLOWS, "action" => "disconnected"),
        }
    }
}

/// What a panic's payload says: its message, when it is a string.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}

/// Counts a contained handler panic (rare: registered where it happens).
pub(crate) fn handler_panicked() {
    counter!(HANDLER_PANICS).increment(1);
}
