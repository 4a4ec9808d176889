//! What the core stores of handlers, and what it hands them: the type-erased handler traits,
//! the parts each kind of handler's extractors read, and the errors of extraction and
//! connection refusal. The handler and extractor layers above implement these for user
//! functions; the core calls them without knowing their types.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Waker},
};

use futures_util::FutureExt;

use super::{DisconnectReason, SocketRef};
use crate::protocol::value::Value;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs a future's first step right now, on the caller's task, and the rest (if any) on a new
/// task. What a handler does before its first await therefore happens in the order the events
/// arrived, as in the reference server.
pub(crate) fn run_inline<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        // The spawned task polls again at once with a real waker, so no wake-up is lost. A
        // panic in the rest is contained as one in the first step is (by the engine): counted
        // and logged, the task ends.
        tokio::spawn(async move {
            if let Err(panic) = std::panic::AssertUnwindSafe(fut).catch_unwind().await {
                crate::engine::handler_panicked();
                let message = crate::engine::panic_message(&*panic);
                tracing::error!(%message, "an async handler panicked");
            }
        });
    }
}

/// A message handler, type-erased: what a socket stores per event.
pub(crate) trait ErasedMessage: Send + Sync {
    fn call(&self, parts: MessageParts);
}
pub(crate) type BoxedMessage = Arc<dyn ErasedMessage>;

/// A connect handler, type-erased: extracts its arguments, then its future runs the body.
pub(crate) trait ErasedConnect: Send + Sync {
    fn call(&self, parts: ConnectParts) -> Result<BoxFuture<()>, ExtractError>;
}
pub(crate) type BoxedConnect = Arc<dyn ErasedConnect>;

/// A namespace middleware, type-erased.
pub(crate) trait ErasedMiddleware: Send + Sync {
    fn call(&self, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>>;
}
pub(crate) type BoxedMiddleware = Arc<dyn ErasedMiddleware>;

/// A disconnect handler, type-erased.
pub(crate) trait ErasedDisconnect: Send + Sync {
    fn call(&self, parts: DisconnectParts) -> BoxFuture<()>;
}
pub(crate) type BoxedDisconnect = Arc<dyn ErasedDisconnect>;

/// Why an extractor could not produce its value. The event is not handled; the failure is
/// logged, and a client that asked for an acknowledgement gets `{"message": …}` back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ExtractError(pub(crate) String);

impl ExtractError {
    /// An extraction failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ExtractError(message.into())
    }

    pub(crate) fn log(&self, what: &str) {
        tracing::warn!(error = %self.0, "{what}: extraction failed");
    }
}

/// What an event handler's extractors read: the event, its arguments and its ack id.
#[derive(Debug)]
pub struct MessageParts {
    pub(crate) socket: SocketRef,
    pub(crate) event: String,
    pub(crate) args: Option<Vec<Value>>,
    pub(crate) ack: Option<u64>,
    /// The event's span (`event`, with the event's name and ack id).
    pub(crate) span: tracing::Span,
}

impl MessageParts {
    /// The spans an async handler's future runs in, outermost first: the socket's, the event's.
    pub(crate) fn spans(&self) -> (tracing::Span, tracing::Span) {
        (self.socket.span().clone(), self.span.clone())
    }
}

/// What connect handlers' and middleware's extractors read: the socket and the auth object.
#[derive(Debug)]
pub struct ConnectParts {
    pub(crate) socket: SocketRef,
    pub(crate) auth: Option<Value>,
}

/// What disconnect handlers' extractors read.
#[derive(Debug)]
pub struct DisconnectParts {
    pub(crate) socket: SocketRef,
    pub(crate) reason: DisconnectReason,
}

/// Refuses a connection in a namespace middleware: the client gets a CONNECT_ERROR packet with
/// `{"message": …, "data": …}`. Any `Display` error converts into one (message only).
pub struct ConnectError {
    pub(crate) message: String,
    pub(crate) data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds the `data` the client receives beside the message.
    #[must_use]
    pub fn with_data(mut self, data: impl serde::Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectError")
            .field("message", &self.message)
            .field("data", &self.data)
            .finish()
    }
}

impl<E: fmt::Display> From<E> for ConnectError {
    fn from(e: E) -> Self {
        ConnectError::new(e.to_string())
    }
}

/// The app states given at build time, by type.
#[derive(Clone, Default)]
pub struct StateCheck(pub(crate) Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl fmt::Debug for StateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("States")
            .field("count", &self.0.len())
            .finish()
    }
}

impl StateCheck {
    pub(crate) fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Whether a state of type `T` was given.
    pub fn contains<T: 'static>(&self) -> bool {
        self.0.contains_key(&TypeId::of::<T>())
    }
}
