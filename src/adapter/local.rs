//! [`LocalAdapter`]: the in-memory adapter.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, RwLock, Weak},
    time::Duration,
};

use futures_util::{StreamExt, stream::FuturesUnordered};

use super::{
    AckResponse, Adapter, AdapterError, BoxFuture, BroadcastOptions, EncodedPacket, LocalNamespace,
    LocalNamespaceRef, LocalSocket, PersistedSession, Queued, RestoredSession, Room, SocketInfo,
    SocketTable, recovery::Log,
};
use crate::{
    protocol::{Packet, PacketData, value::Value},
    sync::{lock, read, write},
};

/// Rooms by name with their members, and the same the other way round. Each name is stored
/// once (an `Arc<str>` shared by both maps), and a set of one name (every socket's own room,
/// a socket in no other room) needs no table of its own.
#[derive(Default)]
struct Index {
    rooms: HashMap<Arc<str>, Names>,
    sids: HashMap<Arc<str>, Names>,
}

impl Index {
    /// The stored name equal to `name`, or a new one.
    fn name(&self, name: &str) -> Arc<str> {
        self.rooms
            .get_key_value(name)
            .or_else(|| self.sids.get_key_value(name))
            .map_or_else(|| Arc::from(name), |(k, _)| k.clone())
    }

    fn remove(map: &mut HashMap<Arc<str>, Names>, key: &str, name: &str) {
        if let Some(names) = map.get_mut(key) {
            names.remove(name);
            if names.is_empty() {
                map.remove(key);
            }
        }
    }
}

/// A set of names that holds one without allocating a table.
#[derive(Debug, Default)]
enum Names {
    #[default]
    Empty,
    One(Arc<str>),
    Many(HashSet<Arc<str>>),
}

impl Names {
    fn insert(&mut self, name: Arc<str>) {
        match self {
            Names::Empty => *self = Names::One(name),
            Names::One(one) if *one == name => {}
            Names::One(one) => {
                let one = one.clone();
                *self = Names::Many(HashSet::from([one, name]));
            }
            Names::Many(set) => {
                set.insert(name);
            }
        }
    }

    fn remove(&mut self, name: &str) {
        match self {
            Names::One(one) if &**one == name => *self = Names::Empty,
            Names::Many(set) => {
                set.remove(name);
                if set.len() == 1 {
                    let last = set.iter().next().cloned();
                    *self = last.map_or(Names::Empty, Names::One);
                }
            }
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Names::Empty => true,
            Names::One(_) => false,
            Names::Many(set) => set.is_empty(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Names::Empty => (None, None),
            Names::One(one) => (Some(&**one), None),
            Names::Many(set) => (None, Some(set.iter().map(|n| &**n))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// The in-memory adapter: one node, rooms in a map. The default.
pub struct LocalAdapter {
    ns: Weak<dyn LocalNamespace>,
    path: Arc<str>,
    index: RwLock<Index>,
    /// The stored events and the disconnected sockets' states, with connection state
    /// recovery on. Taken before the index's lock: stored events are numbered and delivered
    /// under it, in one order.
    log: Option<Mutex<Log>>,
}

impl fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idx = read(&self.index);
        f.debug_struct("LocalAdapter")
            .field("ns", &self.path)
            .field("rooms", &idx.rooms.len())
            .field("sockets", &idx.sids.len())
            .finish()
    }
}

/// A socket's identity for the selection: the address of its entry in the namespace's table,
/// stable while the table's lock is held.
fn address(s: &dyn LocalSocket) -> usize {
    std::ptr::from_ref(s).cast::<()>() as usize
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl LocalAdapter {
    /// The in-memory adapter of a namespace (from the `WeakNamespace` an adapter factory
    /// receives). A remote adapter builds one for the local work (the rooms index, delivery to
    /// this node's sockets) and adds the messaging between nodes.
    pub fn new(ns: impl Into<LocalNamespaceRef>) -> Self {
        let ns = ns.into();
        LocalAdapter {
            path: ns.path,
            ns: ns.inner,
            index: RwLock::default(),
            log: ns.recovery.map(|config| Mutex::new(Log::new(config))),
        }
    }

    /// The local sockets an action targets, chosen under the index lock: a join or leave that
    /// races with the action either happened before it or does not count.
    fn select(&self, opts: &BroadcastOptions) -> Vec<Box<dyn LocalSocket>> {
        let mut out = Vec::new();
        self.visit(opts, |s| out.push(s.boxed()));
        out
    }

    /// Calls `f` on each local socket an action targets, once each, under the index and the
    /// namespace's socket locks: `f` must not call user code nor take those locks.
    fn visit(&self, opts: &BroadcastOptions, mut f: impl FnMut(&dyn LocalSocket)) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        let idx = read(&self.index);
        ns.with_sockets(&mut |sockets: &dyn SocketTable| {
            // The sockets left out, by address: comparing addresses reads nothing of each
            // recipient (its id would be one more cache miss per recipient).
            let except: Vec<usize> = opts
                .except
                .iter()
                .filter_map(|r| idx.rooms.get(r.as_str()))
                .flat_map(Names::iter)
                .filter_map(|sid| sockets.get(sid))
                .map(address)
                .collect();
            // Usually one socket or a few (a sender left out): compare them directly; a set
            // past a handful.
            let except_set: Option<HashSet<usize>> =
                (except.len() > 8).then(|| except.iter().copied().collect());
            let excepted = |s: &dyn LocalSocket| match &except_set {
                Some(set) => set.contains(&address(s)),
                None => except.contains(&address(s)),
            };
            if opts.rooms.is_empty() {
                sockets.for_each(&mut |s| {
                    if !excepted(s) {
                        f(s);
                    }
                });
                return;
            }
            let mut seen = HashSet::new();
            for sid in opts
                .rooms
                .iter()
                .filter_map(|r| idx.rooms.get(r.as_str()))
                .flat_map(Names::iter)
            {
                if let Some(s) = sockets.get(sid)
                    && !excepted(s)
                    && seen.insert(address(s))
                {
                    f(s);
                }
            }
        });
    }

    /// [`Adapter::broadcast_with_ack`], with the number of sockets the packet went to (what a
    /// remote adapter tells the requesting node first).
    pub(crate) fn broadcast_with_ack_counted(
        &self,
        packet: &EncodedPacket,
        ack_id: u64,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (usize, futures_util::stream::BoxStream<'static, AckResponse>) {
        let waiting: FuturesUnordered<_> = self
            .select(opts)
            .into_iter()
            .map(|socket| {
                let answer = socket.emit_with_ack(packet, ack_id, opts.volatile, timeout);
                let id = socket.id().to_owned();
                async move { (id, answer.await) }
            })
            .collect();
        if !waiting.is_empty()
            && let Some(ns) = self.ns.upgrade()
        {
            ns.count_sent(waiting.len());
        }
        (waiting.len(), waiting.boxed())
    }

    /// Whether a socket of this node is in `room`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn has_room(&self, room: &str) -> bool {
        read(&self.index).rooms.contains_key(room)
    }

    /// The packet with `offset` as its last argument, when it is an event of this server
    /// (`None` otherwise: a packet from another node is not stored): spliced into its frames
    /// when the parser can, encoded again otherwise.
    fn with_offset(&self, packet: &EncodedPacket, offset: String) -> Option<EncodedPacket> {
        let (event, args) = packet.event()?;
        let ns = self.ns.upgrade()?;
        let spliced = ns.append_str_arg(packet.frames(), &offset);
        let mut args = args.to_vec();
        args.push(Value::from(offset));
        let (frames, args) = match spliced {
            Some(frames) => (frames, args),
            None => {
                let packet = Packet {
                    ns: self.path.to_string().into(),
                    data: PacketData::Event {
                        event: event.to_owned(),
                        args,
                    },
                    id: None,
                };
                let frames = ns.encode(&packet);
                let PacketData::Event { args, .. } = packet.data else {
                    return None;
                };
                (frames, args)
            }
        };
        Some(EncodedPacket::event_packet(frames, event.to_owned(), args))
    }

    /// Queues a packet on the selected sockets, then runs what may call user code.
    fn deliver(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Vec<(Box<dyn LocalSocket>, Queued)> {
        let mut after = Vec::new();
        let mut sent = 0;
        self.visit(opts, |socket| {
            let queued = socket.queue(packet, opts.volatile);
            if matches!(queued, Queued::Done | Queued::Listeners) {
                sent += 1;
            }
            if matches!(queued, Queued::Listeners | Queued::Full) {
                after.push((socket.boxed(), queued));
            }
        });
        if sent > 0
            && let Some(ns) = self.ns.upgrade()
        {
            ns.count_sent(sent);
        }
        after
    }

    fn info(&self, s: &dyn LocalSocket) -> SocketInfo {
        SocketInfo {
            id: s.id().to_owned(),
            ns: self.path.to_string(),
            rooms: self.socket_rooms(s.id()),
            handshake: s.handshake().clone(),
            data: s.data(),
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: &str, rooms: &[Room]) {
        let mut idx = write(&self.index);
        let sid = idx.name(sid);
        for room in rooms {
            let room = if **room == *sid {
                sid.clone()
            } else {
                idx.name(room)
            };
            idx.rooms
                .entry(room.clone())
                .or_default()
                .insert(sid.clone());
            idx.sids.entry(sid.clone()).or_default().insert(room);
        }
    }

    fn del(&self, sid: &str, room: &str) {
        let mut idx = write(&self.index);
        Index::remove(&mut idx.rooms, room, sid);
        Index::remove(&mut idx.sids, sid, room);
    }

    fn del_all(&self, sid: &str) {
        let mut idx = write(&self.index);
        let rooms = idx.sids.remove(sid).unwrap_or_default();
        for room in rooms.iter() {
            Index::remove(&mut idx.rooms, room, sid);
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        let idx = read(&self.index);
        let mut rooms: Vec<Room> = idx
            .sids
            .get(sid)
            .map(|r| r.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    fn room_count(&self) -> Option<usize> {
        Some(read(&self.index).rooms.len())
    }

    fn rooms(&self, _: BroadcastOptions) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        let idx = read(&self.index);
        let mut rooms: Vec<Room> = idx.rooms.keys().map(|r| r.to_string()).collect();
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
        let mut packet = packet;
        let after = match &self.log {
            // A stored event: numbered, logged and delivered under the log's lock, so that
            // every socket gets the stored events in the log's order.
            Some(log) if !opts.volatile && packet.event().is_some() => {
                let mut log = lock(log);
                if let Some(stored) = self.with_offset(&packet, log.next_offset()) {
                    packet = stored;
                    // The frames alone: what the bound counts, and all a replay sends.
                    log.push(EncodedPacket::new(packet.frames().to_vec()), &opts);
                }
                self.deliver(&packet, &opts)
            }
            _ => self.deliver(&packet, &opts),
        };
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
        let (_, answers) = self.broadcast_with_ack_counted(&packet, ack_id, &opts, timeout);
        ready(Ok(answers))
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        // Described after the selection: `info` takes the index lock again.
        let infos = self.select(&opts).iter().map(|s| self.info(&**s)).collect();
        ready(Ok(infos))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for s in self.select(&opts) {
            self.add_all(s.id(), &rooms);
            s.rooms_changed(&rooms, true);
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
            s.rooms_changed(&rooms, false);
        }
        ready(Ok(()))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for s in self.select(&opts) {
            s.disconnect(close);
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

    fn persist_session(&self, session: PersistedSession) {
        if let Some(log) = &self.log {
            lock(log).persist(session);
        }
    }

    fn restore_session(
        &self,
        pid: String,
        offset: Option<String>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let restored = self
            .log
            .as_ref()
            .and_then(|log| lock(log).restore(&pid, offset.as_deref()));
        ready(Ok(restored))
    }

    fn resume_session(&self, session: &RestoredSession, resume: &mut dyn FnMut(&[EncodedPacket])) {
        match &self.log {
            Some(log) => {
                let log = lock(log);
                resume(&log.missed(session));
            }
            None => resume(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nowhere;
    impl LocalNamespace for Nowhere {
        fn with_sockets(&self, _: &mut dyn FnMut(&dyn SocketTable)) {}
        fn encode(&self, _: &crate::protocol::Packet) -> Vec<crate::protocol::Frame> {
            Vec::new()
        }
        fn append_str_arg(
            &self,
            _: &[crate::protocol::Frame],
            _: &str,
        ) -> Option<Vec<crate::protocol::Frame>> {
            None
        }
        fn next_ack_id(&self) -> u64 {
            0
        }
        fn server_side(&self, _: &str, _: Vec<Value>) -> Option<Vec<Value>> {
            None
        }
    }

    /// A handle on no namespace.
    fn detached(path: &str) -> LocalNamespaceRef {
        LocalNamespaceRef::new(path.into(), Weak::<Nowhere>::new(), None)
    }

    fn sorted<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        let mut v: Vec<_> = names.collect();
        v.sort();
        v
    }

    #[test]
    fn a_set_of_names_grows_and_shrinks_through_one() {
        let mut names = Names::default();
        assert!(names.is_empty());
        names.insert("a".into());
        names.insert("a".into());
        assert!(matches!(names, Names::One(_)));
        names.insert("b".into());
        names.insert("c".into());
        assert_eq!(sorted(names.iter()), ["a", "b", "c"]);
        names.remove("b");
        names.remove("zz");
        assert_eq!(sorted(names.iter()), ["a", "c"]);
        names.remove("a");
        assert!(matches!(names, Names::One(_)));
        assert_eq!(sorted(names.iter()), ["c"]);
        names.remove("c");
        assert!(names.is_empty());
        assert_eq!(names.iter().count(), 0);
    }

    #[test]
    fn the_index_shares_names_and_drops_empty_rooms() {
        let adapter = LocalAdapter::new(detached("/"));
        adapter.add_all("s1", &["s1".into(), "r".into()]);
        adapter.add_all("s2", &["s2".into(), "r".into()]);
        assert_eq!(adapter.socket_rooms("s1"), ["r", "s1"]);
        {
            let idx = adapter.index.read().unwrap();
            // One allocation per name: the socket's own room is its id.
            let (key, _) = idx.rooms.get_key_value("s1").unwrap();
            let (sid, _) = idx.sids.get_key_value("s1").unwrap();
            assert!(Arc::ptr_eq(key, sid));
            assert_eq!(sorted(idx.rooms["r"].iter()), ["s1", "s2"]);
        }
        assert!(adapter.has_room("r") && !adapter.has_room("nope"));
        adapter.del("s1", "r");
        assert_eq!(adapter.socket_rooms("s1"), ["s1"]);
        adapter.del_all("s2");
        assert!(adapter.socket_rooms("s2").is_empty());
        let idx = adapter.index.read().unwrap();
        let mut rooms: Vec<_> = idx.rooms.keys().map(|k| &**k).collect();
        rooms.sort();
        assert_eq!(rooms, ["s1"], "empty rooms disappear");
        assert_eq!(idx.sids.len(), 1);
    }
}
