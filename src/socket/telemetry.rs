//! The Socket.IO core's metrics, through the `metrics` facade: one set of handles per namespace,
//! registered when the namespace is created, so that an event costs an update of a handle (one
//! branch when no recorder is installed), never a lookup or a label allocation.
//!
//! The names are listed in the README ("Metrics").

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

/// Sockets connected, by namespace (gauge).
pub(crate) const SOCKETS: &str = "socketio_sockets";
/// Connections to a namespace refused by its middleware, by namespace (counter).
pub(crate) const CONNECTS_REFUSED: &str = "socketio_connects_refused_total";
/// Events received from clients, by namespace (counter).
pub(crate) const EVENTS_RECEIVED: &str = "socketio_events_received_total";
/// Events sent to clients (one per recipient of a broadcast), by namespace (counter).
pub(crate) const EVENTS_SENT: &str = "socketio_events_sent_total";
/// Time from an emit with an acknowledgement to the client's answer, by namespace
/// (histogram, seconds).
pub(crate) const ACK_DURATION: &str = "socketio_ack_duration_seconds";

/// The label of the children of dynamic namespaces: one series for all of them, rather than one
/// per path a client made up.
pub(crate) const DYNAMIC: &str = "dynamic";

/// One namespace's handles.
pub(crate) struct NsMetrics {
    pub(crate) sockets: Gauge,
    pub(crate) refused: Counter,
    pub(crate) received: Counter,
    pub(crate) sent: Counter,
    pub(crate) ack_duration: Histogram,
}

impl NsMetrics {
    /// The handles of namespace `path` (`dynamic`: a child of a dynamic namespace, labelled
    /// [`DYNAMIC`]).
    pub(crate) fn new(path: &str, dynamic: bool) -> NsMetrics {
        let label = if dynamic { DYNAMIC } else { path }.to_owned();
        NsMetrics {
            sockets: gauge!(SOCKETS, "namespace" => label.clone()),
            refused: counter!(CONNECTS_REFUSED, "namespace" => label.clone()),
            received: counter!(EVENTS_RECEIVED, "namespace" => label.clone()),
            sent: counter!(EVENTS_SENT, "namespace" => label.clone()),
            ack_duration: histogram!(ACK_DURATION, "namespace" => label),
        }
    }
}
