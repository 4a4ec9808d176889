//! [`State`].

use super::{ExtractError, FromSocket, StateCheck};
use crate::SocketRef;

/// App state given once with `SocketIoBuilder::with_state`,
/// cloned for each handler call (wrap large state in an `Arc`).
///
/// A handler that extracts a state that was not given is refused when it is registered, with
/// the type's name: a namespace's connect handler or middleware panics at registration (at
/// start-up); a handler registered on a socket (`SocketRef::on`, `on_disconnect`, …, once per
/// connection) is not registered, the error is logged at ERROR and the socket is disconnected
/// from its namespace. A handler is never skipped at run time for a missing state.
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromSocket for State<T> {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        socket
            .io_inner()
            .states
            .get::<T>()
            .map(State)
            .ok_or_else(|| ExtractError::new(missing::<T>()))
    }

    fn check(states: &StateCheck) -> Result<(), String> {
        if states.contains::<T>() {
            Ok(())
        } else {
            Err(missing::<T>())
        }
    }
}

fn missing<T>() -> String {
    format!(
        "State<{}> is extracted, but no such state was given to SocketIo::builder().with_state()",
        std::any::type_name::<T>()
    )
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
