//! The two wire protocols, spoken by hand: Engine.IO v4 / Socket.IO v5 over WebSocket
//! ("sio") and the bench-raw protocol ("raw"). The receive path never parses JSON: it looks at
//! the packet prefix and reads one decimal number.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use futures_util::{FutureExt, SinkExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// Which protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// Engine.IO v4 / Socket.IO v5 over WebSocket only.
    Sio,
    /// The raw protocol of bench-raw.
    Raw,
}

impl Proto {
    /// Parses `sio` or `raw`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sio" | "socketio" => Ok(Proto::Sio),
            "raw" => Ok(Proto::Raw),
            _ => Err(format!("--proto must be sio or raw, not {s:?}")),
        }
    }
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Sio => "sio",
            Proto::Raw => "raw",
        }
    }
    /// The usual URL of a server of this protocol on 127.0.0.1:port.
    pub fn default_url(self, port: u16) -> String {
        match self {
            Proto::Sio => format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
            Proto::Raw => format!("ws://127.0.0.1:{port}/ws"),
        }
    }
}

/// Where to connect and how to speak.
#[derive(Debug, Clone)]
pub struct Target {
    /// TCP address (loopback only).
    pub addr: SocketAddrV4,
    /// The full ws:// URL (for the upgrade request).
    pub url: String,
    /// The protocol.
    pub proto: Proto,
    /// First loopback source address: connection i binds 127.0.0.(base + i / per_source).
    pub source_base: u8,
    /// Connections per source address (each address has ~28k ephemeral ports).
    pub per_source: usize,
    /// tungstenite read buffer: it is zero-filled up to this size before every read(2), so it
    /// is kept small (the default of 128 KiB costs microseconds per read).
    pub read_buf: usize,
    /// Timeout of one connection attempt (TCP + upgrade + Socket.IO CONNECT).
    pub connect_timeout: Duration,
}

impl Target {
    /// Parses a `ws://127.x.y.z:port/...` URL. Only loopback targets are accepted.
    pub fn new(url: &str, proto: Proto) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| format!("only ws:// URLs are supported, not {url:?}"))?;
        let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| format!("the URL needs an explicit port: {url:?}"))?;
        let ip: Ipv4Addr = if host == "localhost" {
            Ipv4Addr::LOCALHOST
        } else {
            host.parse()
                .map_err(|_| format!("host must be an IPv4 loopback address: {host:?}"))?
        };
        if !ip.is_loopback() {
            return Err(format!(
                "refusing non-loopback target {ip}: loadgen only aims at 127.0.0.0/8"
            ));
        }
        let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
        Ok(Self {
            addr: SocketAddrV4::new(ip, port),
            url: url.to_string(),
            proto,
            source_base: 1,
            per_source: 20_000,
            read_buf: 4096,
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// Source address of connection `i`.
    pub fn source_ip(&self, i: usize) -> Result<Ipv4Addr, String> {
        let host = self.source_base as usize + i / self.per_source.max(1);
        if host > 254 {
            return Err(format!(
                "connection {i} would need source address 127.0.0.{host}: too many connections \
                 for --per-source {} from base {}",
                self.per_source, self.source_base
            ));
        }
        Ok(Ipv4Addr::new(127, 0, 0, host as u8))
    }
}

/// The pong (`3`) both protocols answer a ping (`2`) with.
pub fn pong() -> Message {
    Message::Text(Utf8Bytes::from_static("3"))
}

/// Text of a message, or `None` for frames the harness ignores (binary, ping, pong).
/// Close and errors are reported as `Err`.
pub fn text_of(m: &Message) -> Result<Option<&str>, String> {
    match m {
        Message::Text(t) => Ok(Some(t.as_str())),
        Message::Close(c) => Err(format!("closed by server: {c:?}")),
        _ => Ok(None),
    }
}

/// Reads the next message with a timeout; end of stream and errors become `Err`.
pub async fn next_msg(ws: &mut Ws, within: Duration) -> Result<Message, String> {
    match tokio::time::timeout(within, ws.next()).await {
        Err(_) => Err(format!("no frame within {within:?}")),
        Ok(None) => Err("connection closed".into()),
        Ok(Some(Err(e))) => Err(format!("websocket: {e}")),
        Ok(Some(Ok(m))) => Ok(m),
    }
}

/// The next message if one is ready without waiting (already buffered or readable now).
pub fn ready_msg(ws: &mut Ws) -> Option<Result<Message, String>> {
    match ws.next().now_or_never() {
        None => None,
        Some(None) => Some(Err("connection closed".into())),
        Some(Some(Err(e))) => Some(Err(format!("websocket: {e}"))),
        Some(Some(Ok(m))) => Some(Ok(m)),
    }
}

async fn send(ws: &mut Ws, s: &'static str) -> Result<(), String> {
    ws.send(Message::Text(Utf8Bytes::from_static(s)))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// Opens one connection: TCP from `src` (bound before connect), WebSocket upgrade, and for
/// Socket.IO the Engine.IO OPEN + Socket.IO CONNECT exchange. Returns a fully connected socket.
pub async fn connect(t: &Target, src: Ipv4Addr) -> Result<Ws, String> {
    let fut = async {
        let sock = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        // Lets bind(2) pick ports still in TIME_WAIT from an earlier run.
        let _ = sock.set_reuseaddr(true);
        // Choose the source port at connect(2), by the 4-tuple, not at bind(2): bind's port
        // search grows with the ports in use and made the harness itself the bottleneck when
        // opening 10,000 connections.
        crate::sys::bind_address_no_port(&sock);
        sock.bind(SocketAddr::from((src, 0)))
            .map_err(|e| format!("bind {src}: {e}"))?;
        let stream = sock
            .connect(SocketAddr::V4(t.addr))
            .await
            .map_err(|e| format!("connect {}: {e}", t.addr))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let cfg = WebSocketConfig::default().read_buffer_size(t.read_buf);
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(t.url.as_str(), stream, Some(cfg))
                .await
                .map_err(|e| format!("upgrade: {e}"))?;
        if t.proto == Proto::Sio {
            sio_handshake(&mut ws, t.connect_timeout).await?;
        }
        Ok::<_, String>(ws)
    };
    match tokio::time::timeout(t.connect_timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("connect timed out after {:?}", t.connect_timeout)),
    }
}

/// Waits for the Engine.IO OPEN packet (`0{...}`), sends CONNECT (`40`) and waits for the
/// CONNECT answer (`40{"sid":...}`).
async fn sio_handshake(ws: &mut Ws, within: Duration) -> Result<(), String> {
    loop {
        let m = next_msg(ws, within).await?;
        match text_of(&m)? {
            Some("2") => send(ws, "3").await?,
            Some(t) if t.starts_with('0') => break,
            Some(t) => return Err(format!("expected the Engine.IO OPEN packet, got {t:.80}")),
            None => {}
        }
    }
    send(ws, "40").await?;
    loop {
        let m = next_msg(ws, within).await?;
        match text_of(&m)? {
            Some("2") => send(ws, "3").await?,
            Some(t) if t.starts_with("40") => return Ok(()),
            Some(t) if t.starts_with("44") => return Err(format!("CONNECT refused: {t:.200}")),
            Some(_) | None => {}
        }
    }
}

/// Outcome of [`connect_many`].
#[derive(Debug, Default)]
pub struct ConnectReport {
    /// Connections fully open.
    pub ok: usize,
    /// Attempts that failed.
    pub failed: usize,
    /// Wall time from the first attempt to the last completion.
    pub elapsed: Duration,
    /// The first few distinct error messages.
    pub errors: Vec<String>,
}

/// Opens `n` connections with at most `concurrency` attempts in flight, handing each open
/// socket to `on_open(index, ws)` as soon as it is ready. Bounded: every attempt has its own
/// timeout and the whole phase gives up at `deadline`.
pub async fn connect_many<F>(
    t: &Target,
    n: usize,
    concurrency: usize,
    deadline: Duration,
    mut on_open: F,
) -> ConnectReport
where
    F: FnMut(usize, Ws),
{
    let start = Instant::now();
    let mut rep = ConnectReport::default();
    let mut attempts = stream::iter(0..n)
        .map(|i| async move {
            let r = match t.source_ip(i) {
                Ok(src) => connect(t, src).await,
                Err(e) => Err(e),
            };
            (i, r)
        })
        .buffer_unordered(concurrency.max(1));
    let give_up = tokio::time::sleep(deadline);
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            next = attempts.next() => match next {
                None => break,
                Some((i, Ok(ws))) => {
                    rep.ok += 1;
                    on_open(i, ws);
                }
                Some((_, Err(e))) => {
                    rep.failed += 1;
                    if rep.errors.len() < 5 && !rep.errors.contains(&e) {
                        rep.errors.push(e);
                    }
                }
            },
            _ = &mut give_up => {
                let e = format!("connect phase gave up after {deadline:?}");
                rep.failed = n - rep.ok;
                rep.errors.push(e);
                break;
            }
        }
    }
    rep.elapsed = start.elapsed();
    rep
}

/// Appends the decimal form of `v`.
pub fn push_u64(s: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        s.push(b as char);
    }
}

/// Reads the decimal number at the start of `b`; `None` if there is no digit.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    let mut any = false;
    for &c in b {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as u64);
        any = true;
    }
    any.then_some(v)
}

/// Number of decimal digits of `v`.
pub fn digits(v: u64) -> usize {
    let mut n = 1;
    let mut x = v;
    while x >= 10 {
        x /= 10;
        n += 1;
    }
    n
}

/// An ASCII payload of `len` bytes that needs no JSON escaping.
pub fn ascii_payload(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut s = String::new();
        push_u64(&mut s, 0);
        s.push(',');
        push_u64(&mut s, 1234567890123);
        assert_eq!(s, "0,1234567890123");
        assert_eq!(parse_u64(b"123[\"x\"]"), Some(123));
        assert_eq!(parse_u64(b"[1]"), None);
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(123456), 6);
    }

    #[test]
    fn targets() {
        let t = Target::new(
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket",
            Proto::Sio,
        )
        .unwrap();
        assert_eq!(t.addr.port(), 3000);
        assert!(Target::new("ws://10.0.0.1:80/ws", Proto::Raw).is_err());
        assert!(Target::new("ws://localhost:81/ws", Proto::Raw).is_ok());
        let mut t = Target::new("ws://127.0.0.1:1/ws", Proto::Raw).unwrap();
        t.per_source = 10;
        assert_eq!(t.source_ip(25).unwrap(), Ipv4Addr::new(127, 0, 0, 3));
    }
}
