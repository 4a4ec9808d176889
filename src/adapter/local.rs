//! [`LocalAdapter`]: the in-memory adapter.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{RwLock, Weak},
    time::Duration,
};

use futures_util::{StreamExt, stream::FuturesUnordered};

use super::{
    AckResponse, Adapter, AdapterError, BoxFuture, BroadcastOptions, EncodedPacket, Room,
    SocketInfo,
};
use crate::{
    SocketRef,
    ack::AckError,
    socket::{namespace::NsInner, socket::Queued},
    value::Value,
};

#[derive(Default)]
struct Index {
    rooms: HashMap<Room, HashSet<String>>,
    sids: HashMap<String, HashSet<Room>>,
}

/// The in-memory adapter: one node, rooms in a map. The default.
pub struct LocalAdapter {
    ns: Weak<NsInner>,
    path: std::sync::Arc<str>,
    index: RwLock<Index>,
}

impl fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idx = self.index.read().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("LocalAdapter")
            .field("ns", &self.path)
            .field("rooms", &idx.rooms.len())
            .field("sockets", &idx.sids.len())
            .finish()
    }
}

/// A socket's identity for the selection: the address of its shared state.
fn address(s: &SocketRef) -> usize {
    std::sync::Arc::as_ptr(&s.0) as usize
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl LocalAdapter {
    /// The in-memory adapter of a namespace. A remote adapter builds one for the local work (the
    /// rooms index, delivery to this node's sockets) and adds the messaging between nodes.
    pub fn new(ns: crate::WeakNamespace) -> Self {
        LocalAdapter {
            path: ns.path().into(),
            ns: ns.inner,
            index: RwLock::default(),
        }
    }

    /// The local sockets an action targets, chosen under the index lock: a join or leave that
    /// races with the action either happened before it or does not count.
    pub(crate) fn select(&self, opts: &BroadcastOptions) -> Vec<SocketRef> {
        let mut out = Vec::new();
        self.visit(opts, |s| out.push(s.clone()));
        out
    }

    /// Calls `f` on each local socket an action targets, once each, under the index and the
    /// namespace's socket locks: `f` must not call user code nor take those locks.
    fn visit(&self, opts: &BroadcastOptions, mut f: impl FnMut(&SocketRef)) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        let idx = self.index.read().unwrap_or_else(|p| p.into_inner());
        let sockets = ns.sockets.read().unwrap_or_else(|p| p.into_inner());
        // The sockets left out, by address: comparing addresses reads nothing of each
        // recipient (its id would be one more cache miss per recipient).
        let except: Vec<usize> = opts
            .except
            .iter()
            .filter_map(|r| idx.rooms.get(r))
            .flatten()
            .filter_map(|sid| sockets.get(sid.as_str()))
            .map(address)
            .collect();
        // Usually one socket or a few (a sender left out): compare them directly; a set past a
        // handful.
        let except_set: Option<HashSet<usize>> =
            (except.len() > 8).then(|| except.iter().copied().collect());
        let excepted = |s: &SocketRef| match &except_set {
            Some(set) => set.contains(&address(s)),
            None => except.contains(&address(s)),
        };
        if opts.rooms.is_empty() {
            for s in sockets.values() {
                if !excepted(s) {
                    f(s);
                }
            }
            return;
        }
        let mut seen = HashSet::new();
        for sid in opts.rooms.iter().filter_map(|r| idx.rooms.get(r)).flatten() {
            if let Some(s) = sockets.get(sid.as_str())
                && !excepted(s)
                && seen.insert(address(s))
            {
                f(s);
            }
        }
    }

    fn info(&self, s: &SocketRef) -> SocketInfo {
        SocketInfo {
            id: s.id().to_owned(),
            ns: s.ns().to_owned(),
            rooms: self.socket_rooms(s.id()),
            handshake: s.handshake().clone(),
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: &str, rooms: &[Room]) {
        let mut idx = self.index.write().unwrap_or_else(|p| p.into_inner());
        for room in rooms {
            idx.rooms
                .entry(room.clone())
                .or_default()
                .insert(sid.to_owned());
            idx.sids
                .entry(sid.to_owned())
                .or_default()
                .insert(room.clone());
        }
    }

    fn del(&self, sid: &str, room: &str) {
        let mut idx = self.index.write().unwrap_or_else(|p| p.into_inner());
        if let Some(members) = idx.rooms.get_mut(room) {
            members.remove(sid);
            if members.is_empty() {
                idx.rooms.remove(room);
            }
        }
        if let Some(rooms) = idx.sids.get_mut(sid) {
            rooms.remove(room);
            if rooms.is_empty() {
                idx.sids.remove(sid);
            }
        }
    }

    fn del_all(&self, sid: &str) {
        let mut idx = self.index.write().unwrap_or_else(|p| p.into_inner());
        for room in idx.sids.remove(sid).unwrap_or_default() {
            if let Some(members) = idx.rooms.get_mut(&room) {
                members.remove(sid);
                if members.is_empty() {
                    idx.rooms.remove(&room);
                }
            }
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        let idx = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut rooms: Vec<Room> = idx
            .sids
            .get(sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    fn rooms(&self, _: BroadcastOptions) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        let idx = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut rooms: Vec<Room> = idx.rooms.keys().cloned().collect();
        rooms.sort();
        ready(Ok(rooms))
    }

    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        // The frames are queued under the locks (no copy of the selection, no reference count
        // touched per recipient); what may run user code comes after: outgoing listeners, and
        // the close of a socket whose queue is full.
        let mut after = Vec::new();
        self.visit(&opts, |socket| {
            let queued = socket.queue_packet(&packet, opts.volatile);
            if matches!(queued, Queued::Listeners | Queued::Full) {
                after.push((socket.clone(), queued));
            }
        });
        for (socket, queued) in after {
            socket.after_queue(&packet, queued);
        }
        ready(Ok(()))
    }

    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<futures_util::stream::BoxStream<'static, AckResponse>, AdapterError>>
    {
        let waiting: FuturesUnordered<_> = self
            .select(&opts)
            .into_iter()
            .map(|socket| {
                let rx = socket.register_ack(ack_id);
                let delivered = socket.deliver(&packet, opts.volatile);
                let id = socket.id().to_owned();
                async move {
                    if !delivered {
                        socket.forget_ack(ack_id);
                        return (id, Err(AckError::Disconnected));
                    }
                    let res = match tokio::time::timeout(timeout, rx).await {
                        Ok(Ok(args)) => Ok(args),
                        Ok(Err(_)) => Err(AckError::Disconnected),
                        Err(_) => {
                            socket.forget_ack(ack_id);
                            Err(AckError::Timeout)
                        }
                    };
                    (id, res)
                }
            })
            .collect();
        ready(Ok(waiting.boxed()))
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        let infos = self.select(&opts).iter().map(|s| self.info(s)).collect();
        ready(Ok(infos))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for s in self.select(&opts) {
            self.add_all(s.id(), &rooms);
        }
        ready(Ok(()))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for s in self.select(&opts) {
            for r in &rooms {
                self.del(s.id(), r);
            }
        }
        ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for s in self.select(&opts) {
            if close {
                s.engine_session().close();
            } else {
                s.disconnect();
            }
        }
        ready(Ok(()))
    }

    fn server_side_emit(
        &self,
        _event: String,
        _args: Vec<Value>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        // A single node has no other server to tell.
        ready(Ok(()))
    }

    fn server_side_emit_with_ack(
        &self,
        _event: String,
        _args: Vec<Value>,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        // No other server, so no answer.
        ready(Ok(Vec::new()))
    }

    fn server_count(&self) -> BoxFuture<'_, Result<u16, AdapterError>> {
        ready(Ok(1))
    }
}
