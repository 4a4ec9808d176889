//! Registering handlers: the methods of sockets and namespaces that take user functions and
//! store them type-erased, for the core to call.

use std::sync::Arc;

use super::{
    ConnectMiddleware, DisconnectBox, DisconnectHandler, MessageBox, MessageHandler, MiddlewareBox,
};
use crate::{
    protocol::RESERVED_EVENTS,
    socket::{Namespace, SocketRef},
};

/// Handlers registered on a socket: usually in its namespace's connect handler, so once per
/// connection. A handler that extracts a [`State`](crate::extract::State) never given to
/// `with_state` cannot run: it is not registered, the error (with the state's type) is logged
/// at ERROR, and the socket is disconnected from its namespace (the client sees
/// `io server disconnect`) rather than left connected without its handler.
impl SocketRef {
    /// Registers the handler of `event`, replacing any previous one. A handler whose state was
    /// not given is refused (see above).
    ///
    /// # Panics
    /// When `event` is reserved: a programming error, the same on every connection.
    pub fn on<H, M>(&self, event: impl Into<String>, handler: H)
    where
        H: MessageHandler<M>,
        M: 'static,
    {
        let event = event.into();
        assert!(
            !RESERVED_EVENTS.contains(&event.as_str()),
            "the event name {event:?} is reserved"
        );
        if let Err(e) = handler.check(&self.io_inner().states) {
            return self.refuse(&format!("handler of {event:?}"), &e);
        }
        self.set_handler(event, Arc::new(MessageBox(handler, Default::default())));
    }

    /// Registers a handler for events that have no handler of their own (`Event` extracts the
    /// name).
    pub fn on_fallback<H, M>(&self, handler: H)
    where
        H: MessageHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            return self.refuse("fallback handler", &e);
        }
        self.set_fallback(Arc::new(MessageBox(handler, Default::default())));
    }

    /// Registers a handler run when the socket disconnects, with the
    /// [`DisconnectReason`](crate::DisconnectReason).
    pub fn on_disconnect<H, M>(&self, handler: H)
    where
        H: DisconnectHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            return self.refuse("disconnect handler", &e);
        }
        self.add_disconnect_handler(Arc::new(DisconnectBox(handler, Default::default())), false);
    }

    /// Registers a handler run when the socket is about to disconnect, while its state is still
    /// readable.
    pub fn on_disconnecting<H, M>(&self, handler: H)
    where
        H: DisconnectHandler<M>,
        M: 'static,
    {
        if let Err(e) = handler.check(&self.io_inner().states) {
            return self.refuse("disconnecting handler", &e);
        }
        self.add_disconnect_handler(Arc::new(DisconnectBox(handler, Default::default())), true);
    }

    /// A handler that cannot run was not registered: says so and disconnects the socket.
    fn refuse(&self, what: &str, error: &str) {
        tracing::error!(
            sid = %self.id(),
            ns = %self.ns(),
            "{what} not registered: {error}; the socket is disconnected"
        );
        if self.connected() {
            self.disconnect();
        }
    }
}

impl Namespace {
    /// Adds a middleware, run in the order added before the connect handler. A middleware that
    /// returns `Err` refuses the connection with a CONNECT_ERROR `{message, data}`.
    ///
    /// # Panics
    /// When the middleware extracts a state that was not given at build time.
    pub fn with<H, M>(self, middleware: H) -> Self
    where
        H: ConnectMiddleware<M>,
        M: 'static,
    {
        if let Some(io) = self.0.io.upgrade()
            && let Err(e) = middleware.check(&io.states)
        {
            panic!("middleware of namespace {:?}: {e}", self.0.path);
        }
        self.0
            .add_middleware(Arc::new(MiddlewareBox(middleware, Default::default())));
        self
    }
}
