//! Registering handlers: the methods of sockets and namespaces that take user functions and
//! store them type-erased, for the core to call.

use std::sync::Arc;

use super::{
    ConnectMiddleware, DisconnectBox, DisconnectHandler, MessageBox, MessageHandler, MiddlewareBox,
};
use crate::{
    protocol::RESERVED_EVENTS,
    socket::{Namespace, Socket},
};

impl Socket {
    /// Registers the handler of `event`, replacing any previous one.
    ///
    /// # Panics
    /// When `event` is reserved, or the handler extracts a [`State`](crate::extract::State) that
    /// was not given at build time: both are programming errors.
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
            panic!("handler of {event:?}: {e}");
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
            panic!("fallback handler: {e}");
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
            panic!("disconnect handler: {e}");
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
            panic!("disconnecting handler: {e}");
        }
        self.add_disconnect_handler(Arc::new(DisconnectBox(handler, Default::default())), true);
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
