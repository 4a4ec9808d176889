//! The least of a Redis client, for the cross-node scenario: one command at a time on a fresh
//! loopback connection, to tell when the harness's `redis-server` is up (`PING`) and to count
//! the commands it served (`INFO commandstats`).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one command may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Sends one command and returns its reply: a simple or bulk string, or an integer as text.
pub async fn command(addr: SocketAddrV4, args: &[&str]) -> Result<String, String> {
    if !addr.ip().is_loopback() {
        return Err(format!("refusing non-loopback Redis {addr}"));
    }
    tokio::time::timeout(TIMEOUT, async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("redis {addr}: {e}"))?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("redis {addr}: {e}"))?;
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = s
                .read(&mut chunk)
                .await
                .map_err(|e| format!("redis {addr}: {e}"))?;
            if n == 0 {
                return Err(format!("redis {addr}: closed before a full reply"));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(r) = reply(&buf)? {
                return Ok(r);
            }
        }
    })
    .await
    .map_err(|_| format!("redis {addr}: no reply within {TIMEOUT:?}"))?
}

/// A complete reply in `buf`, or `None` while more is needed.
fn reply(buf: &[u8]) -> Result<Option<String>, String> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&buf[1..eol]).into_owned();
    match buf.first() {
        Some(b'+') | Some(b':') => Ok(Some(line)),
        Some(b'-') => Err(format!("redis error: {line}")),
        Some(b'$') => {
            let len: usize = line
                .parse()
                .map_err(|_| format!("redis: bad bulk length {line:?}"))?;
            let start = eol + 2;
            if buf.len() < start + len + 2 {
                return Ok(None);
            }
            Ok(Some(
                String::from_utf8_lossy(&buf[start..start + len]).into_owned(),
            ))
        }
        _ => Err(format!("redis: unexpected reply {line:?}")),
    }
}

/// Calls served so far, per command (`publish`, `ping`, ...), from `INFO commandstats`.
pub async fn calls(addr: SocketAddrV4) -> Result<BTreeMap<String, u64>, String> {
    let info = command(addr, &["INFO", "commandstats"]).await?;
    let mut out = BTreeMap::new();
    for l in info.lines() {
        // cmdstat_publish:calls=12,usec=34,usec_per_call=2.83,...
        let Some((name, rest)) = l.strip_prefix("cmdstat_").and_then(|r| r.split_once(':')) else {
            continue;
        };
        let n = rest
            .split(',')
            .find_map(|kv| kv.strip_prefix("calls="))
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = n {
            out.insert(name.to_ascii_lowercase(), n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::reply;

    #[test]
    fn replies() {
        assert_eq!(reply(b"+PONG\r\n").unwrap().as_deref(), Some("PONG"));
        assert_eq!(reply(b":12\r\n").unwrap().as_deref(), Some("12"));
        assert_eq!(reply(b"$3\r\nab").unwrap(), None);
        assert_eq!(reply(b"$3\r\nabc\r\n").unwrap().as_deref(), Some("abc"));
        assert!(reply(b"-ERR no\r\n").is_err());
    }
}
