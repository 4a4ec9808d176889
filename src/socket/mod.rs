//! The Socket.IO core: the registry of namespaces, the client of each Engine.IO session (which
//! routes packets to namespaces through the server's parser), namespaces, sockets and their
//! acknowledgements. It stores handlers type-erased ([`erased`]); the handler and extractor
//! layers above implement them for user functions.

mod client;
mod erased;
mod namespace;
mod observer;
mod reason;
mod registry;
#[allow(clippy::module_inception)]
mod socket;
mod telemetry;

pub(crate) use self::client::IoHandler;
pub(crate) use self::erased::{
    BoxFuture, BoxedMiddleware, ErasedConnect, ErasedDisconnect, ErasedMessage, ErasedMiddleware,
    run_inline,
};
pub use self::erased::{
    ConnectError, ConnectParts, DisconnectParts, ExtractError, MessageParts, StateCheck,
};
pub(crate) use self::namespace::NsInner;
pub use self::namespace::{Namespace, WeakNamespace};
#[cfg(feature = "admin-ui")]
pub(crate) use self::observer::Observer;
pub use self::reason::DisconnectReason;
pub(crate) use self::registry::AdapterFactory;
pub(crate) use self::registry::{DynNs, IoConfig, IoInner, Matcher};
pub use self::socket::{Extensions, Socket, SocketRef};
