//! [`Extension`], [`MaybeExtension`] and [`HttpExtension`].

use super::{ExtractError, FromSocket};
use crate::SocketRef;

/// A clone of a value stored in the socket's extensions
/// ([`Socket::extensions`](crate::Socket::extensions)), typically by a middleware. Fails when
/// there is none.
#[derive(Debug, Clone)]
pub struct Extension<T>(pub T);

/// Like [`Extension`], but `None` instead of failing.
#[derive(Debug, Clone)]
pub struct MaybeExtension<T>(pub Option<T>);

/// A clone of a value in the extensions of the handshake's HTTP request: what a tower layer in
/// front (an auth layer, say) inserted. Fails when there is none.
#[derive(Debug, Clone)]
pub struct HttpExtension<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromSocket for Extension<T> {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        socket
            .extensions()
            .get::<T>()
            .map(Extension)
            .ok_or_else(|| {
                ExtractError::new(format!(
                    "no extension of type {} on the socket",
                    std::any::type_name::<T>()
                ))
            })
    }
}

impl<T: Clone + Send + Sync + 'static> FromSocket for MaybeExtension<T> {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        Ok(MaybeExtension(socket.extensions().get::<T>()))
    }
}

impl<T: Clone + Send + Sync + 'static> FromSocket for HttpExtension<T> {
    fn from_socket(socket: &SocketRef) -> Result<Self, ExtractError> {
        socket
            .req_parts()
            .extensions
            .get::<T>()
            .cloned()
            .map(HttpExtension)
            .ok_or_else(|| {
                ExtractError::new(format!(
                    "no HTTP request extension of type {}",
                    std::any::type_name::<T>()
                ))
            })
    }
}
