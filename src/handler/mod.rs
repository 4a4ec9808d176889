//! Handlers: plain functions, sync or async, whose arguments are extractors.
//!
//! One macro implements each handler trait for functions of 0 to 16 extractors. A marker type
//! parameter (`(Sync, T…)` or `(Async, T…)`) tells sync functions from async ones; users never
//! name it.

mod register;

use std::{future::Future, sync::Arc};

use tracing::Instrument;

use crate::{
    extract::{
        ConnectError, ConnectParts, DisconnectParts, ExtractError, FromConnect, FromDisconnect,
        FromMessage, IntoAck, MessageParts, StateCheck,
    },
    socket::{
        BoxFuture, ErasedConnect, ErasedDisconnect, ErasedMessage, ErasedMiddleware, run_inline,
    },
};

/// Marks a synchronous handler. Not meant to be named.
#[derive(Debug)]
pub struct Sync;
/// Marks an asynchronous handler. Not meant to be named.
#[derive(Debug)]
pub struct Async;

/// A function that handles an event: `socket.on("event", handler)`.
///
/// Implemented for sync and async functions of up to 16 extractors ([`FromMessage`]) whose
/// result ([`IntoAck`]) answers the client's acknowledgement when it asked for one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid event handler",
    note = "an event handler is a sync or async function whose arguments are extractors (SocketRef, Data<T>, TryData<T>, AckSender, Event, State<T>, …) and whose result is serializable or `()`"
)]
pub trait MessageHandler<M>: Send + std::marker::Sync + 'static {
    /// Runs the handler for one event.
    fn call(&self, parts: MessageParts);
    /// Checks at registration that every state the handler extracts exists.
    fn check(&self, states: &StateCheck) -> Result<(), String>;
}

/// A function run when a socket connects to a namespace: `io.ns("/", handler)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid connect handler",
    note = "a connect handler is a sync or async function returning `()` whose arguments are extractors (SocketRef, Data<Auth>, TryData<T>, State<T>, HttpExtension<T>, …)"
)]
pub trait ConnectHandler<M>: Send + std::marker::Sync + 'static {
    /// Extracts the arguments for one connection; the returned future runs the handler's body.
    /// A failed extraction refuses the connection.
    fn call(self: Arc<Self>, parts: ConnectParts) -> Result<BoxFuture<()>, ExtractError>;
    /// Checks at registration that every state the handler extracts exists.
    fn check(&self, states: &StateCheck) -> Result<(), String>;
}

/// A namespace middleware: runs before the connect handler and may refuse the connection by
/// returning `Err` (anything that converts into a [`ConnectError`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid namespace middleware",
    note = "a middleware is a sync or async function of extractors returning `Result<(), E>` where E converts into ConnectError (any Display type does)"
)]
pub trait ConnectMiddleware<M>: Send + std::marker::Sync + 'static {
    /// Runs the middleware for one connection attempt.
    fn call(&self, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>>;
    /// Checks at registration that every state the middleware extracts exists.
    fn check(&self, states: &StateCheck) -> Result<(), String>;
}

/// A function run when a socket disconnects (or is about to): `socket.on_disconnect(handler)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid disconnect handler",
    note = "a disconnect handler is a sync or async function returning `()` whose arguments are extractors (SocketRef, DisconnectReason, State<T>, …)"
)]
pub trait DisconnectHandler<M>: Send + std::marker::Sync + 'static {
    /// Runs the handler.
    fn call(&self, parts: DisconnectParts) -> BoxFuture<()>;
    /// Checks at registration that every state the handler extracts exists.
    fn check(&self, states: &StateCheck) -> Result<(), String>;
}

// The type-erased forms the core stores.
pub(crate) struct MessageBox<H, M>(pub(crate) H, pub(crate) std::marker::PhantomData<fn(M)>);
impl<H: MessageHandler<M>, M: 'static> ErasedMessage for MessageBox<H, M> {
    fn call(&self, parts: MessageParts) {
        self.0.call(parts)
    }
}
pub(crate) struct ConnectBox<H, M>(
    pub(crate) Arc<H>,
    pub(crate) std::marker::PhantomData<fn(M)>,
);
impl<H: ConnectHandler<M>, M: 'static> ErasedConnect for ConnectBox<H, M> {
    fn call(&self, parts: ConnectParts) -> Result<BoxFuture<()>, ExtractError> {
        self.0.clone().call(parts)
    }
}
pub(crate) struct MiddlewareBox<H, M>(pub(crate) H, pub(crate) std::marker::PhantomData<fn(M)>);
impl<H: ConnectMiddleware<M>, M: 'static> ErasedMiddleware for MiddlewareBox<H, M> {
    fn call(&self, parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
        self.0.call(parts)
    }
}
pub(crate) struct DisconnectBox<H, M>(pub(crate) H, pub(crate) std::marker::PhantomData<fn(M)>);
impl<H: DisconnectHandler<M>, M: 'static> ErasedDisconnect for DisconnectBox<H, M> {
    fn call(&self, parts: DisconnectParts) -> BoxFuture<()> {
        self.0.call(parts)
    }
}

macro_rules! all_the_tuples {
    ($name:ident) => {
        $name!();
        $name!(T1);
        $name!(T1, T2);
        $name!(T1, T2, T3);
        $name!(T1, T2, T3, T4);
        $name!(T1, T2, T3, T4, T5);
        $name!(T1, T2, T3, T4, T5, T6);
        $name!(T1, T2, T3, T4, T5, T6, T7);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
        $name!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
        $name!(
            T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
        );
        $name!(
            T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16
        );
    };
}

/// Implements every handler trait, sync and async, for one arity.
macro_rules! impl_handlers {
    ($($T:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, R, $($T,)*> MessageHandler<(Sync, $($T,)*)> for F
        where
            F: Fn($($T),*) -> R + Send + std::marker::Sync + 'static,
            R: IntoAck,
            $($T: FromMessage,)*
        {
            fn call(&self, mut parts: MessageParts) {
                $(
                    let $T = match $T::from_message(&mut parts) {
                        Ok(v) => v,
                        Err(e) => return parts.reject(e),
                    };
                )*
                let res = (self)($($T),*);
                parts.into_acker().answer(res);
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, $($T,)*> MessageHandler<(Async, $($T,)*)> for F
        where
            F: Fn($($T),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoAck,
            $($T: FromMessage,)*
        {
            fn call(&self, mut parts: MessageParts) {
                $(
                    let $T = match $T::from_message(&mut parts) {
                        Ok(v) => v,
                        Err(e) => return parts.reject(e),
                    };
                )*
                let fut = (self)($($T),*);
                let (socket_span, event_span) = parts.spans();
                let acker = parts.into_acker();
                run_inline(
                    async move { acker.answer(fut.await) }
                        .instrument(event_span)
                        .instrument(socket_span),
                );
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, $($T,)*> ConnectHandler<(Sync, $($T,)*)> for F
        where
            F: Fn($($T),*) + Send + std::marker::Sync + 'static,
            $($T: FromConnect,)*
        {
            fn call(self: Arc<Self>, mut parts: ConnectParts) -> Result<BoxFuture<()>, ExtractError> {
                $( let $T = $T::from_connect(&mut parts)?; )*
                Ok(Box::pin(async move { (self)($($T),*) }))
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, $($T,)*> ConnectHandler<(Async, $($T,)*)> for F
        where
            F: Fn($($T),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($T: FromConnect,)*
        {
            fn call(self: Arc<Self>, mut parts: ConnectParts) -> Result<BoxFuture<()>, ExtractError> {
                $( let $T = $T::from_connect(&mut parts)?; )*
                Ok(Box::pin((self)($($T),*)))
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, E, $($T,)*> ConnectMiddleware<(Sync, $($T,)*)> for F
        where
            F: Fn($($T),*) -> Result<(), E> + Send + std::marker::Sync + 'static,
            E: Into<ConnectError>,
            $($T: FromConnect,)*
        {
            fn call(&self, mut parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
                $(
                    let $T = match $T::from_connect(&mut parts) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(std::future::ready(Err(ConnectError::new(e.to_string())))),
                    };
                )*
                Box::pin(std::future::ready((self)($($T),*).map_err(Into::into)))
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, E, $($T,)*> ConnectMiddleware<(Async, $($T,)*)> for F
        where
            F: Fn($($T),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = Result<(), E>> + Send + 'static,
            E: Into<ConnectError>,
            $($T: FromConnect,)*
        {
            fn call(&self, mut parts: ConnectParts) -> BoxFuture<Result<(), ConnectError>> {
                $(
                    let $T = match $T::from_connect(&mut parts) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(std::future::ready(Err(ConnectError::new(e.to_string())))),
                    };
                )*
                let fut = (self)($($T),*);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, $($T,)*> DisconnectHandler<(Sync, $($T,)*)> for F
        where
            F: Fn($($T),*) + Send + std::marker::Sync + 'static,
            $($T: FromDisconnect,)*
        {
            fn call(&self, mut parts: DisconnectParts) -> BoxFuture<()> {
                $(
                    let $T = match $T::from_disconnect(&mut parts) {
                        Ok(v) => v,
                        Err(e) => { e.log("disconnect handler"); return Box::pin(std::future::ready(())); }
                    };
                )*
                (self)($($T),*);
                Box::pin(std::future::ready(()))
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, $($T,)*> DisconnectHandler<(Async, $($T,)*)> for F
        where
            F: Fn($($T),*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($T: FromDisconnect,)*
        {
            fn call(&self, mut parts: DisconnectParts) -> BoxFuture<()> {
                $(
                    let $T = match $T::from_disconnect(&mut parts) {
                        Ok(v) => v,
                        Err(e) => { e.log("disconnect handler"); return Box::pin(std::future::ready(())); }
                    };
                )*
                Box::pin((self)($($T),*))
            }
            fn check(&self, states: &StateCheck) -> Result<(), String> {
                $( $T::check(states)?; )*
                Ok(())
            }
        }
    };
}

all_the_tuples!(impl_handlers);
