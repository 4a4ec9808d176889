//! Warnings an operator can use without a client flooding them: protocol violations and limits
//! hit are logged at WARN with the session id and the remote address, at most
//! [`WARNINGS_PER_SECOND`] a second per engine; what is held back is counted and reported in one
//! line when the next second's first warning goes out.
//!
//! They all have the target [`VIOLATION_TARGET`], so that an operator can keep them alone
//! (`RUST_LOG=tower_socketio::violation=warn`) or silence them.

use std::{
    fmt,
    net::SocketAddr,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use tokio::time::Instant;

/// The target of every protocol violation and limit hit logged on a connection.
pub(crate) const VIOLATION_TARGET: &str = "tower_socketio::violation";

/// The most warnings one engine logs in a second.
pub(crate) const WARNINGS_PER_SECOND: u32 = 20;

/// A per-engine budget of warnings: a fixed one-second window.
#[derive(Debug)]
pub(crate) struct WarnLimit {
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Option<Instant>,
    logged: u32,
    held_back: u64,
}

impl WarnLimit {
    pub(crate) fn new() -> WarnLimit {
        WarnLimit {
            window: Mutex::new(Window {
                start: None,
                logged: 0,
                held_back: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // Never held across user code or a panic point.
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether one more warning may be logged now. The first of a new window first reports,
    /// at WARN, how many the last windows held back.
    pub(crate) fn allow(&self) -> bool {
        let now = Instant::now();
        let (allowed, held_back) = {
            let mut w = self.lock();
            let mut held_back = 0;
            if w.start
                .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
            {
                w.start = Some(now);
                w.logged = 0;
                held_back = std::mem::take(&mut w.held_back);
            }
            if w.logged < WARNINGS_PER_SECOND {
                w.logged += 1;
                (true, held_back)
            } else {
                w.held_back += 1;
                (false, held_back)
            }
        };
        if held_back > 0 {
            tracing::warn!(
                target: VIOLATION_TARGET,
                held_back,
                "warnings held back (more than {WARNINGS_PER_SECOND} a second)"
            );
        }
        allowed
    }
}

/// A remote address as logged: the address, or `-` when the request did not carry one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remote(pub(crate) Option<SocketAddr>);

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// Logs a protocol violation or a limit hit on a session at WARN, within the engine's budget:
/// `session_warn!(session, field = value, ..., "message")`.
macro_rules! session_warn {
    ($session:expr, $($rest:tt)+) => {{
        let session: &$crate::engine::Session = &$session;
        if session.engine().warn_limit().allow() {
            tracing::warn!(
                target: $crate::engine::VIOLATION_TARGET,
                sid = %session.id(),
                remote = %session.remote(),
                $($rest)+
            );
        }
    }};
}
pub(crate) use session_warn;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_most_so_many_a_second() {
        let limit = WarnLimit::new();
        let allowed = (0..100).filter(|_| limit.allow()).count();
        assert_eq!(allowed, WARNINGS_PER_SECOND as usize);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limit.allow());
        assert_eq!(limit.lock().held_back, 0);
    }
}
