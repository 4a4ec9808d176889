//! The engine's heartbeat: one timer task for all sessions instead of a task per session.
//!
//! Every session has the same `ping_interval` and `ping_timeout`, so deadlines taken as "now plus
//! a constant" come out in the order they are made: two first-in first-out queues (pings due, and
//! pongs awaited) are a complete timer. The task sleeps until the earlier front, handles what is
//! due, and ends when both queues are empty; the next session starts a new one. A session in the
//! queues is held weakly: a closed session is skipped when its turn comes.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

use super::{
    DisconnectReason,
    session::{Inner, Session},
};

/// The timer of one engine's sessions.
pub(crate) struct Heartbeats {
    queues: Mutex<Queues>,
    /// Told when a ping is queued while the task may be sleeping past its deadline.
    wake: Notify,
    interval: Duration,
    timeout: Duration,
}

#[derive(Default)]
struct Queues {
    /// Sessions to ping, by deadline (ascending).
    pings: VecDeque<(Instant, Weak<Inner>)>,
    /// Pings awaiting their pong: deadline, session, the ping's number.
    pongs: VecDeque<(Instant, Weak<Inner>, u64)>,
    /// Engine.IO v3 sessions awaiting their client's next ping: deadline, session, the number
    /// of the ping (or handshake) that started the wait.
    client_pings: VecDeque<(Instant, Weak<Inner>, u64)>,
    /// Whether a task runs the queues.
    running: bool,
}

impl Heartbeats {
    pub(crate) fn new(interval: Duration, timeout: Duration) -> Arc<Heartbeats> {
        Arc::new(Heartbeats {
            queues: Mutex::default(),
            wake: Notify::new(),
            interval,
            timeout,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        // Never held across user code or a panic point.
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Schedules the session's next ping one `ping_interval` from now (at the start, and after
    /// each pong).
    pub(crate) fn schedule(self: &Arc<Self>, session: &Session) {
        let spawn = {
            let mut q = self.lock();
            let first = q.pings.is_empty();
            // Taken under the lock, so that the queue stays in deadline order.
            q.pings
                .push_back((Instant::now() + self.interval, Arc::downgrade(&session.0)));
            let spawn = !q.running;
            q.running = true;
            if first && !spawn {
                // The task may sleep until a later pong deadline.
                self.wake.notify_one();
            }
            spawn
        };
        if spawn {
            tokio::spawn(self.clone().run());
        }
    }

    /// Engine.IO v3: starts the wait for the client's next ping, `ping_interval +
    /// ping_timeout` from now (at the handshake, and after each ping), as the reference
    /// server does. A wait that a later ping replaced is skipped when its turn comes.
    pub(crate) fn expect_ping(self: &Arc<Self>, session: &Session) {
        let n = session.next_ping();
        let spawn = {
            let mut q = self.lock();
            let first = q.client_pings.is_empty();
            q.client_pings.push_back((
                Instant::now() + self.interval + self.timeout,
                Arc::downgrade(&session.0),
                n,
            ));
            let spawn = !q.running;
            q.running = true;
            if first && !spawn {
                self.wake.notify_one();
            }
            spawn
        };
        if spawn {
            tokio::spawn(self.clone().run());
        }
    }

    async fn run(self: Arc<Self>) {
        // Handler callbacks are contained (`session::guard`); should anything else panic here,
        // the next session starts a new task instead of finding this one marked running.
        let _unwinding = OnUnwind(&self);
        let mut due_pings = Vec::new();
        let mut due_pongs = Vec::new();
        let mut due_client_pings = Vec::new();
        loop {
            let next = {
                let mut q = self.lock();
                let now = Instant::now();
                while let Some((_, s)) = q.pings.front_mut().filter(|(at, _)| *at <= now) {
                    due_pings.push(std::mem::take(s));
                    q.pings.pop_front();
                }
                while let Some((_, s, n)) = q.pongs.front_mut().filter(|(at, ..)| *at <= now) {
                    due_pongs.push((std::mem::take(s), *n));
                    q.pongs.pop_front();
                }
                while let Some((_, s, n)) = q.client_pings.front_mut().filter(|(at, ..)| *at <= now)
                {
                    due_client_pings.push((std::mem::take(s), *n));
                    q.client_pings.pop_front();
                }
                let next = [
                    q.pings.front().map(|p| p.0),
                    q.pongs.front().map(|t| t.0),
                    q.client_pings.front().map(|t| t.0),
                ]
                .into_iter()
                .flatten()
                .min();
                if next.is_none()
                    && due_pings.is_empty()
                    && due_pongs.is_empty()
                    && due_client_pings.is_empty()
                {
                    q.running = false;
                    return;
                }
                next
            };
            self.ping(&mut due_pings);
            for (session, n) in due_pongs.drain(..) {
                if let Some(inner) = session.upgrade() {
                    let session = Session(inner);
                    if !session.answered(n) {
                        let _entered = session.span().enter();
                        super::session_warn!(
                            session,
                            "ping not answered in time, closing the session"
                        );
                        session.close_with(DisconnectReason::PingTimeout);
                    }
                }
            }
            for (session, n) in due_client_pings.drain(..) {
                if let Some(inner) = session.upgrade() {
                    let session = Session(inner);
                    if session.last_ping() == n {
                        super::session_warn!(
                            session,
                            "no ping from the v3 client in time, closing the session"
                        );
                        session.close_with(DisconnectReason::PingTimeout);
                    }
                }
            }
            if let Some(next) = next {
                tokio::select! {
                    () = tokio::time::sleep_until(next) => {}
                    () = self.wake.notified() => {}
                }
            }
        }
    }

    /// Pings the sessions (still open) and queues the wait for their pongs.
    fn ping(&self, due: &mut Vec<Weak<Inner>>) {
        if due.is_empty() {
            return;
        }
        let mut awaited = Vec::with_capacity(due.len());
        for weak in due.drain(..) {
            let Some(inner) = weak.upgrade() else {
                continue;
            };
            let session = Session(inner);
            session.sample_queue();
            let n = session.next_ping();
            if session.send_ping().is_ok() {
                awaited.push((weak, n));
            }
        }
        let mut q = self.lock();
        let deadline = Instant::now() + self.timeout;
        q.pongs
            .extend(awaited.into_iter().map(|(s, n)| (deadline, s, n)));
    }
}

/// Marks the timer as not running when its task unwinds.
struct OnUnwind<'a>(&'a Heartbeats);

impl Drop for OnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().running = false;
        }
    }
}
