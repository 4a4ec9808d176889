//! `bench-raw`: the benchmark's physical limit, a bare WebSocket server on tokio-tungstenite with
//! no Socket.IO or Engine.IO framing, on tokio's multi-thread runtime.
//!
//! Run with
//! `cargo run --release --manifest-path benches/servers/Cargo.toml --bin bench-raw -- --port 0`
//! (optional `--ping-interval-ms N`; `--ping-timeout-ms` is accepted and unused); it prints
//! `LISTENING <port>` when ready. It accepts WebSocket upgrades on any path (e.g. `/ws`), one task
//! per connection, text frames only:
//! - a frame starting with `e` goes back to its sender as it is;
//! - a frame starting with `b` goes to every other connection (the same buffer, shared);
//! - every ping interval each connection gets the text frame `2` (the client answers `3`, which is
//!   ignored), like Engine.IO's heartbeat.
//!
//! Each connection has a bounded queue of 4096 frames (the default queue of `tower-socketio`); a
//! connection whose queue is full when a broadcast reaches it is disconnected.
//!
//! As the physical limit it does the least work the contract allows: echoes are written as the
//! frames that are already readable are handled, and flushed once (one write for a burst); the
//! read buffer starts at 4 KiB (as `tower-socketio` and socketioxide configure theirs) instead of
//! tungstenite's 128 KiB, which would cost every idle connection 128 KiB of resident memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes, protocol::WebSocketConfig};
use tower_socketio_bench_servers::{Options, announce};

/// Frames a connection's queue holds before the connection is dropped.
const QUEUE: usize = 4096;

/// Every open connection's queue, by connection id.
type Registry = Arc<Mutex<HashMap<u64, mpsc::Sender<Utf8Bytes>>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = Options::from_env();
    if opts.redis.is_some() {
        eprintln!("bench-raw: --redis is not supported (raw WebSocket has no cluster)");
        std::process::exit(2);
    }
    if opts.metrics {
        eprintln!("bench-raw: --metrics is not supported");
        std::process::exit(2);
    }
    let listener = opts.bind()?;
    announce(&listener)?;
    let registry = Registry::default();
    let mut next_id = 0u64;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or similar: give the system a moment instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        tokio::spawn(connection(
            stream,
            registry.clone(),
            next_id,
            opts.ping_interval,
        ));
    }
}

/// Serves one connection: its frames, its queue of broadcasts, its heartbeat.
async fn connection(stream: TcpStream, registry: Registry, id: u64, ping: Duration) {
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(QUEUE);
    registry.lock().unwrap().insert(id, tx);
    let mut heartbeat = interval_at(Instant::now() + ping, ping);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let ping_frame = Utf8Bytes::from_static("2");
    loop {
        tokio::select! {
            frame = ws.next() => {
                // This frame and those already readable, then one flush for their echoes.
                let mut frame = frame;
                loop {
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            let fed = match text.as_bytes().first() {
                                Some(b'e') => ws.feed(Message::Text(text)).await,
                                Some(b'b') => {
                                    broadcast(&registry, id, text);
                                    Ok(())
                                }
                                _ => Ok(()),
                            };
                            if fed.is_err() {
                                break;
                            }
                        }
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                            registry.lock().unwrap().remove(&id);
                            return;
                        }
                        Some(Ok(_)) => {}
                    }
                    match ws.next().now_or_never() {
                        Some(next) => frame = next,
                        None => break,
                    }
                }
                if ws.flush().await.is_err() {
                    break;
                }
            }
            queued = rx.recv() => {
                // `None`: a broadcast found the queue full and dropped this connection.
                let Some(text) = queued else { break };
                if ws.feed(Message::Text(text)).await.is_err() {
                    break;
                }
                // Write what else is queued, then flush once.
                let mut failed = false;
                while let Ok(text) = rx.try_recv() {
                    if ws.feed(Message::Text(text)).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
            }
            _ = heartbeat.tick() => {
                if ws.send(Message::Text(ping_frame.clone())).await.is_err() {
                    break;
                }
            }
        }
    }
    registry.lock().unwrap().remove(&id);
}

/// Queues `text` for every connection but `from`; drops the connections whose queue is full.
fn broadcast(registry: &Registry, from: u64, text: Utf8Bytes) {
    let mut conns = registry.lock().unwrap();
    let mut full = Vec::new();
    for (&id, tx) in conns.iter() {
        if id != from && tx.try_send(text.clone()).is_err() {
            full.push(id);
        }
    }
    for id in full {
        conns.remove(&id);
    }
}
