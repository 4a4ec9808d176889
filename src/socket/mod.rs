//! The Socket.IO v5 layer: packets, clients, namespaces and sockets.

pub(crate) mod client;
pub(crate) mod json;
pub(crate) mod namespace;
pub(crate) mod packet;
#[allow(clippy::module_inception)]
pub(crate) mod socket;
pub(crate) mod value;
