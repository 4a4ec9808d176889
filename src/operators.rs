//! Operators: select sockets by room (`to`, `within`, `except`, `broadcast`), set delivery flags
//! (`local`, `volatile`, `compress`, `timeout`), then act (`emit`, `emit_with_ack`,
//! `fetch_sockets`, `sockets_join`, `sockets_leave`, `disconnect_sockets`, `rooms`,
//! `server_side_emit`, `server_side_emit_with_ack`, `server_count`).
//!
//! The same operators start from the `SocketIo` handle (namespace `/`), a
//! [`Namespace`](crate::Namespace) and a [`SocketRef`](crate::SocketRef); from a socket, `to`,
//! `within`, `except` and `broadcast` leave the socket itself out, as in the reference server.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_util::{Stream, StreamExt, stream::BoxStream};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    adapter::{
        AckError, AckResponse, AdapterError, BroadcastOptions, EmitError, EncodedPacket, IntoRooms,
        Room, SocketInfo,
    },
    protocol::{
        Packet, PacketData, RESERVED_EVENTS, args_value, to_args,
        value::{Value, from_value},
    },
    socket::{Namespace, NsInner, SocketRef},
};

/// Why a broadcast action failed.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The packet could not be built.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The adapter failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// The namespace is not registered (or no longer is): nothing was done.
    #[error("the namespace {0:?} is not registered")]
    NoNamespace(String),
}

/// A selection of sockets and delivery flags, then an action.
///
/// Built from the `SocketIo` handle (namespace `/`), a
/// [`Namespace`](crate::Namespace) or a [`SocketRef`](crate::SocketRef) by `to`, `within`,
/// `except`, `broadcast`, `local`, `volatile`, `compress` and `timeout`; then one action runs:
/// `emit`, `emit_with_ack`, `fetch_sockets`, `sockets_join`, `sockets_leave`,
/// `disconnect_sockets`, `rooms`. From a socket, `to`, `within`, `except` and `broadcast` leave
/// the socket itself out, as in the reference server.
///
/// ```no_run
/// # async fn f(io: tower_socketio::SocketIo) {
/// io.to(["room1", "room2"]).except("muted").emit("news", &"hello").await.ok();
/// # }
/// ```
#[derive(Clone)]
#[must_use = "an operator does nothing until an action (emit, …) runs"]
pub struct BroadcastOperator {
    /// The namespace, or the path of one that is not registered.
    ns: Result<Arc<NsInner>, Arc<str>>,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
    /// For a socket's operators: the socket, left out of any room selection, and the only
    /// target when no selection is made (`socket.volatile().emit(..)`).
    sender: Option<String>,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("ns", &self.path())
            .field("opts", &self.opts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NsInner>) -> Self {
        Self::with(Ok(ns))
    }

    /// The operator of a namespace that is not registered: its actions fail with
    /// [`BroadcastError::NoNamespace`].
    pub(crate) fn gone(path: &str) -> Self {
        Self::with(Err(path.into()))
    }

    fn with(ns: Result<Arc<NsInner>, Arc<str>>) -> Self {
        BroadcastOperator {
            ns,
            opts: BroadcastOptions::default(),
            timeout: None,
            sender: None,
        }
    }

    fn path(&self) -> &str {
        match &self.ns {
            Ok(ns) => &ns.path,
            Err(path) => path,
        }
    }

    /// The options an action runs with, and its namespace.
    fn target(self) -> Result<(Arc<NsInner>, Self), BroadcastError> {
        let this = self.finish();
        match &this.ns {
            Ok(ns) => Ok((ns.clone(), this)),
            Err(path) => Err(BroadcastError::NoNamespace(path.to_string())),
        }
    }

    /// A socket's operator: selections leave `sid` out; with none, `sid` alone is the target.
    pub(crate) fn for_socket(mut self, sid: &str) -> Self {
        self.sender = Some(sid.to_owned());
        self
    }

    /// A selection leaves the socket itself out (a socket's operators).
    fn select(mut self) -> Self {
        if let Some(sid) = self.sender.take() {
            self.opts.except.insert(sid);
        }
        self
    }

    /// The options an action runs with.
    fn finish(mut self) -> Self {
        if let Some(sid) = self.sender.take() {
            self.opts.rooms.insert(sid);
        }
        self
    }

    /// Every socket of the namespace but the sender (a socket's `broadcast`).
    pub(crate) fn all_but_sender(self) -> Self {
        self.select()
    }

    /// Targets the sockets in these rooms (added to the rooms already selected).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self = self.select();
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`BroadcastOperator::to`](crate::BroadcastOperator::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self = self.select();
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// This server only, even with a remote adapter.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// Drops the packet for sockets that cannot take it right now instead of queueing it.
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// A compression hint; see [`BroadcastOptions::compress`].
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.compress = compress;
        self
    }

    /// How long [`BroadcastOperator::emit_with_ack`](crate::BroadcastOperator::emit_with_ack) waits for each answer (default: the
    /// configured ack timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn encode<T: Serialize + ?Sized>(
        ns: &NsInner,
        event: &str,
        data: &T,
        id: Option<u64>,
    ) -> Result<EncodedPacket, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let args = to_args(data)?;
        let packet = Packet {
            ns: ns.name.clone(),
            data: PacketData::Event {
                event: event.to_owned(),
                args,
            },
            id,
        };
        // Encoded once, shared by every recipient.
        let frames = ns.parser.encode(&packet).collect();
        Ok(match packet.data {
            PacketData::Event { event, args } => EncodedPacket::event_packet(frames, event, args),
            _ => EncodedPacket::new(frames),
        })
    }

    /// Emits an event to the selected sockets; the packet is serialized once.
    pub async fn emit<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> Result<(), BroadcastError> {
        let (ns, this) = self.target()?;
        let packet = Self::encode(&ns, event, data, None)?;
        ns.adapter().broadcast(packet, this.opts).await?;
        Ok(())
    }

    /// Emits an event that each selected socket acknowledges; the answers arrive as a stream of
    /// `(socket id, result)`, each bounded by the timeout.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> Result<AckStream, BroadcastError> {
        let (ns, this) = self.target()?;
        let timeout = ack_timeout(this.timeout, &ns);
        let id = ns.next_ack_id();
        let packet = Self::encode(&ns, event, data, Some(id))?;
        let stream = ns
            .adapter()
            .broadcast_with_ack(packet, id, this.opts, timeout)
            .await?;
        Ok(AckStream(stream))
    }

    /// Describes the selected sockets.
    pub async fn fetch_sockets(self) -> Result<Vec<SocketInfo>, BroadcastError> {
        let (ns, this) = self.target()?;
        Ok(ns.adapter().fetch_sockets(this.opts).await?)
    }

    /// Makes the selected sockets join rooms.
    pub async fn sockets_join(self, rooms: impl IntoRooms) -> Result<(), BroadcastError> {
        let (ns, this) = self.target()?;
        Ok(ns
            .adapter()
            .add_sockets(this.opts, rooms.into_rooms())
            .await?)
    }

    /// Makes the selected sockets leave rooms.
    pub async fn sockets_leave(self, rooms: impl IntoRooms) -> Result<(), BroadcastError> {
        let (ns, this) = self.target()?;
        Ok(ns
            .adapter()
            .del_sockets(this.opts, rooms.into_rooms())
            .await?)
    }

    /// Disconnects the selected sockets from the namespace; with `close`, every socket of their
    /// connections is disconnected too, then the connections close (as the reference server:
    /// each client sees "io server disconnect").
    pub async fn disconnect_sockets(self, close: bool) -> Result<(), BroadcastError> {
        let (ns, this) = self.target()?;
        Ok(ns.adapter().disconnect_sockets(this.opts, close).await?)
    }

    /// The rooms of the namespace that have sockets, sorted (each socket's own room included).
    pub async fn rooms(self) -> Result<Vec<Room>, BroadcastError> {
        let (ns, this) = self.target()?;
        Ok(ns.adapter().rooms(this.opts).await?)
    }

    /// Sends an event to the other servers of the cluster (see
    /// [`Adapter::server_side_emit`](crate::adapter::Adapter::server_side_emit)).
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
    ) -> Result<(), BroadcastError> {
        let (ns, _) = self.target()?;
        let args = to_args(data).map_err(EmitError::from)?;
        Ok(ns
            .adapter()
            .server_side_emit(event.to_owned(), args)
            .await?)
    }

    /// Sends an event to the other servers of the cluster and gathers their answers, each
    /// deserialized into `R` (from the only argument when there is one, from the array of
    /// arguments otherwise): those that arrive within the timeout (the operator's, else the
    /// configured ack timeout). A single server gets no answer.
    pub async fn server_side_emit_with_ack<T, R>(
        self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Result<R, AckError>>, BroadcastError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let (ns, this) = self.target()?;
        let timeout = ack_timeout(this.timeout, &ns);
        let args = to_args(data).map_err(EmitError::from)?;
        let answers = ns
            .adapter()
            .server_side_emit_with_ack(event.to_owned(), args, timeout)
            .await?;
        Ok(answers
            .into_iter()
            .map(|args| from_value(args_value(args)).map_err(AckError::from))
            .collect())
    }

    /// How many servers share the namespace.
    pub async fn server_count(self) -> Result<u16, BroadcastError> {
        let (ns, _) = self.target()?;
        Ok(ns.adapter().server_count().await?)
    }
}

/// The timeout of an action with acknowledgements: the operator's, else the configured one.
fn ack_timeout(timeout: Option<Duration>, ns: &NsInner) -> Duration {
    match (timeout, ns.io.upgrade()) {
        (Some(t), _) => t,
        (None, Some(io)) => io.config.ack_timeout,
        (None, None) => Duration::from_secs(5),
    }
}

/// The answers to a broadcast with acknowledgements: `(socket id, result)` as they arrive.
pub struct AckStream(BoxStream<'static, AckResponse>);

impl std::fmt::Debug for AckStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckStream")
    }
}

impl Stream for AckStream {
    type Item = AckResponse;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AckResponse>> {
        self.0.poll_next_unpin(cx)
    }
}

impl AckStream {
    /// Waits for every answer (or timeout), each deserialized into `T` (from the only argument
    /// when there is one, from the array of arguments otherwise).
    pub async fn collect_all<T: DeserializeOwned>(self) -> Vec<(String, Result<T, AckError>)> {
        self.0
            .map(|(id, res)| {
                let typed = res.and_then(|args: Vec<Value>| {
                    from_value(args_value(args)).map_err(AckError::from)
                });
                (id, typed)
            })
            .collect()
            .await
    }
}

// The operators of a socket: `to`, `within`, `except` and `broadcast` leave it out; the flags
// alone target the socket itself.
impl SocketRef {
    /// This socket's operator: a room selection leaves the socket out; without one, the socket
    /// itself is the target.
    fn me(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns.clone()).for_socket(self.id())
    }

    fn others(&self) -> BroadcastOperator {
        self.me().all_but_sender()
    }

    /// The sockets in these rooms, this one left out.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.others().to(rooms)
    }

    /// Same as [`SocketRef::to`].
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.others().within(rooms)
    }

    /// Every socket of the namespace but those in these rooms and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.others().except(rooms)
    }

    /// Every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.others()
    }

    /// This socket, on this server only (see [`BroadcastOperator::local`](BroadcastOperator::local)).
    /// Like every flag, it can be followed by `to`/`except`, which then leave this socket out.
    pub fn local(&self) -> BroadcastOperator {
        self.me().local()
    }

    /// This socket, dropping the packet if its queue cannot take it now.
    pub fn volatile(&self) -> BroadcastOperator {
        self.me().volatile()
    }

    /// This socket, with a compression hint.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.me().compress(compress)
    }

    /// This socket, with an ack timeout for `emit_with_ack` (a stream of one answer).
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.me().timeout(timeout)
    }
}

impl Namespace {
    fn op(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone())
    }
}

/// Adds the operator entry points to a type with an `fn op(&self) -> BroadcastOperator`.
macro_rules! operator_entry_points {
    ($ty:ty) => {
        impl $ty {
            /// Selects the sockets in these rooms. See [`BroadcastOperator::to`](crate::BroadcastOperator::to).
            pub fn to(&self, rooms: impl $crate::IntoRooms) -> $crate::BroadcastOperator {
                self.op().to(rooms)
            }
            /// Same as `to`. See [`BroadcastOperator::within`](crate::BroadcastOperator::within).
            pub fn within(&self, rooms: impl $crate::IntoRooms) -> $crate::BroadcastOperator {
                self.op().within(rooms)
            }
            /// Leaves out the sockets in these rooms. See [`BroadcastOperator::except`](crate::BroadcastOperator::except).
            pub fn except(&self, rooms: impl $crate::IntoRooms) -> $crate::BroadcastOperator {
                self.op().except(rooms)
            }
            /// This server only. See [`BroadcastOperator::local`](crate::BroadcastOperator::local).
            pub fn local(&self) -> $crate::BroadcastOperator {
                self.op().local()
            }
            /// Drops packets that cannot be queued now. See [`BroadcastOperator::volatile`](crate::BroadcastOperator::volatile).
            pub fn volatile(&self) -> $crate::BroadcastOperator {
                self.op().volatile()
            }
            /// A compression hint. See [`BroadcastOperator::compress`](crate::BroadcastOperator::compress).
            pub fn compress(&self, compress: bool) -> $crate::BroadcastOperator {
                self.op().compress(compress)
            }
            /// The ack timeout of `emit_with_ack`. See [`BroadcastOperator::timeout`](crate::BroadcastOperator::timeout).
            pub fn timeout(&self, timeout: std::time::Duration) -> $crate::BroadcastOperator {
                self.op().timeout(timeout)
            }
        }
    };
}

/// Adds the actions, applied to every socket, to a type with an `fn op(&self)`.
macro_rules! operator_actions {
    ($ty:ty) => {
        impl $ty {
            /// Emits to every socket of the namespace; the packet is serialized once.
            pub async fn emit<T: serde::Serialize + ?Sized>(
                &self,
                event: &str,
                data: &T,
            ) -> Result<(), $crate::BroadcastError> {
                self.op().emit(event, data).await
            }
            /// Emits to every socket and streams their acknowledgements.
            pub async fn emit_with_ack<T: serde::Serialize + ?Sized>(
                &self,
                event: &str,
                data: &T,
            ) -> Result<$crate::AckStream, $crate::BroadcastError> {
                self.op().emit_with_ack(event, data).await
            }
            /// Describes every socket of the namespace.
            pub async fn fetch_sockets(
                &self,
            ) -> Result<Vec<$crate::adapter::SocketInfo>, $crate::BroadcastError> {
                self.op().fetch_sockets().await
            }
            /// Makes every socket join rooms.
            pub async fn sockets_join(
                &self,
                rooms: impl $crate::IntoRooms,
            ) -> Result<(), $crate::BroadcastError> {
                self.op().sockets_join(rooms).await
            }
            /// Makes every socket leave rooms.
            pub async fn sockets_leave(
                &self,
                rooms: impl $crate::IntoRooms,
            ) -> Result<(), $crate::BroadcastError> {
                self.op().sockets_leave(rooms).await
            }
            /// Disconnects every socket; with `close`, their whole connection.
            pub async fn disconnect_sockets(
                &self,
                close: bool,
            ) -> Result<(), $crate::BroadcastError> {
                self.op().disconnect_sockets(close).await
            }
            /// The rooms that have sockets, sorted (sockets' own rooms included).
            pub async fn rooms(
                &self,
            ) -> Result<Vec<$crate::adapter::Room>, $crate::BroadcastError> {
                self.op().rooms().await
            }
            /// How many servers share the namespace.
            pub async fn server_count(&self) -> Result<u16, $crate::BroadcastError> {
                self.op().server_count().await
            }
            /// Sends an event to the other servers of the cluster.
            pub async fn server_side_emit<T: serde::Serialize + ?Sized>(
                &self,
                event: &str,
                data: &T,
            ) -> Result<(), $crate::BroadcastError> {
                self.op().server_side_emit(event, data).await
            }
            /// Sends an event to the other servers of the cluster and gathers their answers.
            pub async fn server_side_emit_with_ack<T, R>(
                &self,
                event: &str,
                data: &T,
            ) -> Result<Vec<Result<R, $crate::AckError>>, $crate::BroadcastError>
            where
                T: serde::Serialize + ?Sized,
                R: serde::de::DeserializeOwned,
            {
                self.op().server_side_emit_with_ack(event, data).await
            }
        }
    };
}

pub(crate) use {operator_actions, operator_entry_points};

operator_entry_points!(Namespace);
operator_actions!(Namespace);
