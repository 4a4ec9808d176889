//! The observer seam: what an instrumentation above the core (the Admin UI's, feature
//! `admin-ui`) is told of sockets. One observer per server at most, set once; without the
//! feature every call site compiles to nothing, and with it a server nobody instruments pays one
//! atomic load per connect, disconnect and room change (events are observed through the sockets'
//! own `on_any`/`on_any_outgoing` listeners, which cost nothing when none is added).

use super::{DisconnectReason, SocketRef};

/// Told of every socket's life, in every namespace. Called inline, outside the core's locks: an
/// observer must only record or queue (it must not block, nor disconnect the socket).
#[cfg_attr(not(feature = "admin-ui"), allow(dead_code))]
pub(crate) trait Observer: Send + Sync + 'static {
    /// The socket is connected and in its own room; its connect handler has not run yet.
    fn connected(&self, socket: &SocketRef);
    /// The socket is leaving: still in its rooms (what it leaves), its disconnect handlers not
    /// run yet.
    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason);
    /// The socket joined (`joined`) or left rooms, by itself or through an adapter's
    /// `add_sockets`/`del_sockets`.
    fn rooms(&self, socket: &SocketRef, rooms: &[String], joined: bool);
}
