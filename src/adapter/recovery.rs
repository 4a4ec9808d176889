//! Connection state recovery: the settings, what an adapter stores of a disconnected socket,
//! and the in-memory log of the [`LocalAdapter`](super::LocalAdapter).
//!
//! Every stored event (an event without ack, not volatile, broadcast or emitted to one socket)
//! is given an *offset* when the adapter delivers it: a string appended as the event's last
//! argument, which the official clients keep and send back with their private id (`pid`) when
//! they reconnect. The local adapter makes offsets as `<tag>.<n>`: `tag` is random per
//! namespace and server run, `n` a sequence number that grows by one per stored event. Offsets
//! are ordered, so an offset whose event has left the log still tells which later events the
//! client missed.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

use super::{BroadcastOptions, EncodedPacket, Room, SocketInfo};

/// The settings of connection state recovery (see
/// `SocketIoBuilder::connection_state_recovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionStateRecovery {
    /// How long a disconnected socket's state (id, rooms, data) and the events it misses are
    /// kept: a client that comes back later gets a new socket. Also how long an event stays in
    /// the log. Default 2 minutes, as the reference server.
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace's middlewares (default `true`, as the
    /// reference server). When they run, the missed events are sent only once they pass.
    pub skip_middlewares: bool,
    /// The most bytes of stored events each namespace keeps (default 8 MiB): past it, the
    /// oldest events leave the log, whatever their age.
    pub max_log_bytes: usize,
}

impl Default for ConnectionStateRecovery {
    fn default() -> Self {
        ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_log_bytes: 8 * 1024 * 1024,
        }
    }
}

/// A disconnected socket's state, as the core hands it to
/// [`Adapter::persist_session`](super::Adapter::persist_session).
#[derive(Debug, Clone)]
pub struct PersistedSession {
    /// The socket's private id (the `pid` of its CONNECT reply).
    pub pid: String,
    /// The socket: its id, rooms (its own included) and data.
    pub info: SocketInfo,
}

/// A session taken back by [`Adapter::restore_session`](super::Adapter::restore_session): the
/// socket's state, and where the replay of what it missed starts.
#[derive(Debug, Clone)]
pub struct RestoredSession {
    /// The private id, kept by the recovered socket.
    pub pid: String,
    /// The socket's id, rooms and data.
    pub info: SocketInfo,
    /// Where the replay starts, in the adapter's own terms: read back by
    /// [`Adapter::resume_session`](super::Adapter::resume_session).
    pub cursor: String,
}

/// An event of the log.
struct Entry {
    seq: u64,
    rooms: HashSet<Room>,
    except: HashSet<Room>,
    packet: EncodedPacket,
    at: Instant,
    bytes: usize,
}

/// A disconnected socket's state in memory.
struct Stored {
    info: SocketInfo,
    at: Instant,
    /// The sequence number of the next event at the time of the disconnection.
    head: u64,
}

/// The local adapter's log and sessions of one namespace.
pub(crate) struct Log {
    config: ConnectionStateRecovery,
    tag: String,
    next_seq: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
    sessions: HashMap<String, Stored>,
    next_sweep: Instant,
}

/// Bytes counted per event beyond its frames: the selection and the entry itself.
const ENTRY_OVERHEAD: usize = 128;

impl Log {
    pub(crate) fn new(config: ConnectionStateRecovery) -> Self {
        let id = crate::protocol::new_id();
        Log {
            config,
            tag: id.get(..8).unwrap_or(&id).to_owned(),
            next_seq: 0,
            entries: VecDeque::new(),
            bytes: 0,
            sessions: HashMap::new(),
            next_sweep: Instant::now() + config.max_disconnection_duration,
        }
    }

    /// The offset of the next event to store; [`push`](Self::push) stores it.
    pub(crate) fn next_offset(&self) -> String {
        format!("{}.{}", self.tag, self.next_seq)
    }

    /// The sequence number an offset of this log carries.
    fn parse(&self, offset: &str) -> Option<u64> {
        offset
            .strip_prefix(self.tag.as_str())?
            .strip_prefix('.')?
            .parse()
            .ok()
    }

    /// Stores the event given the offset [`next_offset`](Self::next_offset) made, then drops
    /// what is past the bounds in time and bytes.
    pub(crate) fn push(&mut self, packet: EncodedPacket, opts: &BroadcastOptions) {
        self.push_at(Instant::now(), packet, opts);
    }

    fn push_at(&mut self, now: Instant, packet: EncodedPacket, opts: &BroadcastOptions) {
        let bytes = packet.frames().iter().map(|f| f.len()).sum::<usize>()
            + opts
                .rooms
                .iter()
                .chain(&opts.except)
                .map(String::len)
                .sum::<usize>()
            + ENTRY_OVERHEAD;
        self.entries.push_back(Entry {
            seq: self.next_seq,
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
            packet,
            at: now,
            bytes,
        });
        self.next_seq += 1;
        self.bytes += bytes;
        let max_age = self.config.max_disconnection_duration;
        while let Some(first) = self.entries.front() {
            let too_old = now.saturating_duration_since(first.at) > max_age;
            if !too_old && self.bytes <= self.config.max_log_bytes {
                break;
            }
            self.bytes -= first.bytes;
            self.entries.pop_front();
        }
        self.sweep(now);
    }

    /// Drops the expired sessions, at most once per `max_disconnection_duration`.
    fn sweep(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        let max_age = self.config.max_disconnection_duration;
        self.sessions
            .retain(|_, s| now.saturating_duration_since(s.at) <= max_age);
        self.next_sweep = now + max_age;
    }

    pub(crate) fn persist(&mut self, session: PersistedSession) {
        self.persist_at(Instant::now(), session);
    }

    fn persist_at(&mut self, now: Instant, session: PersistedSession) {
        self.sweep(now);
        self.sessions.insert(
            session.pid,
            Stored {
                info: session.info,
                at: now,
                head: self.next_seq,
            },
        );
    }

    /// Takes a session back, if it has not expired. The replay starts after the client's
    /// offset when it is one of this log's; otherwise (no offset, or a user's string the client
    /// took for one) at the disconnection: nothing stored before it is replayed.
    pub(crate) fn restore(&mut self, pid: &str, offset: Option<&str>) -> Option<RestoredSession> {
        self.restore_at(Instant::now(), pid, offset)
    }

    fn restore_at(
        &mut self,
        now: Instant,
        pid: &str,
        offset: Option<&str>,
    ) -> Option<RestoredSession> {
        let stored = self.sessions.remove(pid)?;
        if now.saturating_duration_since(stored.at) > self.config.max_disconnection_duration {
            return None;
        }
        let from = offset
            .and_then(|o| self.parse(o))
            .map_or(stored.head, |seq| seq.saturating_add(1).min(stored.head));
        Some(RestoredSession {
            pid: pid.to_owned(),
            info: stored.info,
            cursor: from.to_string(),
        })
    }

    /// The stored events a restored socket missed, in order: from its cursor on, addressed to
    /// one of its rooms (or to all) and not excepting any.
    pub(crate) fn missed(&self, session: &RestoredSession) -> Vec<EncodedPacket> {
        let Ok(from) = session.cursor.parse::<u64>() else {
            return Vec::new();
        };
        let rooms = &session.info.rooms;
        let start = self.entries.partition_point(|e| e.seq < from);
        self.entries
            .iter()
            .skip(start)
            .filter(|e| {
                (e.rooms.is_empty() || rooms.iter().any(|r| e.rooms.contains(r)))
                    && !rooms.iter().any(|r| e.except.contains(r))
            })
            .map(|e| e.packet.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Handshake;

    fn info(id: &str, rooms: &[&str]) -> SocketInfo {
        SocketInfo {
            id: id.into(),
            ns: "/".into(),
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            handshake: Handshake::for_socket(
                std::sync::Arc::new(http::Request::new(()).into_parts().0),
                None,
            ),
            data: crate::protocol::value::Value::from("d"),
        }
    }

    fn packet(n: u64) -> EncodedPacket {
        EncodedPacket::from_parts(n.to_string().into(), Vec::new())
    }

    fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
            except: except.iter().map(|r| (*r).to_owned()).collect(),
            ..BroadcastOptions::default()
        }
    }

    fn texts(p: &[EncodedPacket]) -> Vec<String> {
        p.iter().map(|p| p.text().to_owned()).collect()
    }

    #[test]
    fn missed_events_follow_the_rooms_and_the_offset() {
        let mut log = Log::new(ConnectionStateRecovery::default());
        let first = log.next_offset();
        log.push(packet(0), &opts(&[], &[]));
        log.persist(PersistedSession {
            pid: "p".into(),
            info: info("s", &["s", "r"]),
        });
        log.push(packet(1), &opts(&[], &[]));
        log.push(packet(2), &opts(&["r"], &[]));
        log.push(packet(3), &opts(&["other"], &[]));
        log.push(packet(4), &opts(&[], &["r"]));
        log.push(packet(5), &opts(&["s"], &[]));
        let restored = log.restore("p", Some(&first)).unwrap();
        assert_eq!(restored.info.id, "s");
        assert_eq!(texts(&log.missed(&restored)), ["1", "2", "5"]);
        assert!(log.restore("p", Some(&first)).is_none(), "restored once");
    }

    #[test]
    fn a_foreign_or_missing_offset_replays_from_the_disconnection() {
        let mut log = Log::new(ConnectionStateRecovery::default());
        log.push(packet(0), &opts(&[], &[]));
        for pid in ["a", "b", "c"] {
            log.persist(PersistedSession {
                pid: pid.into(),
                info: info("s", &["s"]),
            });
        }
        log.push(packet(1), &opts(&[], &[]));
        for (pid, offset) in [
            ("a", None),
            ("b", Some("just-a-string")),
            ("c", Some("x.0")),
        ] {
            let restored = log.restore(pid, offset).unwrap();
            assert_eq!(texts(&log.missed(&restored)), ["1"]);
        }
    }

    #[test]
    fn a_swept_offset_still_restores_without_duplicates() {
        let mut log = Log::new(ConnectionStateRecovery {
            max_log_bytes: 3 * (ENTRY_OVERHEAD + 1),
            ..ConnectionStateRecovery::default()
        });
        let first = log.next_offset();
        log.push(packet(0), &opts(&[], &[]));
        for n in 1..5 {
            log.push(packet(n), &opts(&["elsewhere"], &[]));
        }
        log.persist(PersistedSession {
            pid: "p".into(),
            info: info("s", &["s"]),
        });
        log.push(packet(9), &opts(&[], &[]));
        assert!(log.entries.len() <= 3, "bounded in bytes");
        let restored = log.restore("p", Some(&first)).unwrap();
        assert_eq!(texts(&log.missed(&restored)), ["9"]);
    }

    #[test]
    fn sessions_and_events_expire() {
        let mut log = Log::new(ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(10),
            ..ConnectionStateRecovery::default()
        });
        let t0 = Instant::now();
        let later = |s| t0 + Duration::from_secs(s);
        log.persist_at(
            t0,
            PersistedSession {
                pid: "p".into(),
                info: info("s", &["s"]),
            },
        );
        log.push_at(t0, packet(0), &opts(&[], &[]));
        log.push_at(later(11), packet(1), &opts(&[], &[]));
        assert_eq!(log.entries.len(), 1, "the old event left the log");
        assert!(
            log.restore_at(later(11), "p", None).is_none(),
            "the session expired"
        );
        log.persist_at(
            later(11),
            PersistedSession {
                pid: "q".into(),
                info: info("s", &["s"]),
            },
        );
        log.push_at(later(30), packet(2), &opts(&[], &[]));
        assert!(log.sessions.is_empty(), "swept");
    }
}
