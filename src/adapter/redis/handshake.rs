//! Sockets as the Node adapter describes them in a fetch reply:
//! `{id, handshake: {headers, time, address, xdomain, secure, issued, url, query, auth}, rooms,
//! data}`, both ways.

use std::time::{Duration, UNIX_EPOCH};

use crate::{
    adapter::{Handshake, SocketInfo},
    protocol::value::Value,
};

fn field(k: &str, v: Value) -> (String, Value) {
    (k.to_owned(), v)
}

/// A socket of this node, as a Node peer reads it.
pub(crate) fn socket_value(s: &SocketInfo) -> Value {
    let h = &s.handshake;
    let mut headers: Vec<(String, Value)> = Vec::new();
    for name in h.headers().keys() {
        let values: Vec<&str> = h
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.push(field(name.as_str(), Value::from(values.join(", "))));
    }
    let query: Value = h
        .query()
        .map(|(k, v)| (k.into_owned(), Value::from(v.as_ref())))
        .collect();
    let issued = h
        .issued()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let address = h.address().map(|a| a.ip().to_string()).unwrap_or_default();
    let handshake: Value = [
        field("headers", headers.into_iter().collect()),
        field("time", Value::from(js_date_string(issued))),
        field("address", Value::from(address)),
        field("xdomain", Value::from(h.headers().contains_key("origin"))),
        field("secure", Value::from(h.secure())),
        field("issued", Value::from(issued)),
        field("url", Value::from(h.url())),
        field("query", query),
        field("auth", Value::from(h.auth().clone())),
    ]
    .into_iter()
    .collect();
    [
        field("id", Value::from(s.id.as_str())),
        field("handshake", handshake),
        field(
            "rooms",
            s.rooms.iter().map(|r| Value::from(r.as_str())).collect(),
        ),
        field("data", s.data.clone()),
    ]
    .into_iter()
    .collect()
}

/// A socket of another node, from its description; `None` when it has no id.
pub(crate) fn socket_info(v: &Value, ns: &str) -> Option<SocketInfo> {
    let id = v.get("id")?.as_str()?.to_owned();
    let rooms = v
        .get("rooms")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|r| {
                    r.as_str()
                        .map(str::to_owned)
                        .or_else(|| r.as_number().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let empty = Value::Null;
    let h = v.get("handshake").unwrap_or(&empty);
    let url = h.get("url").and_then(Value::as_str).unwrap_or("/");
    let mut builder = http::Request::get(url);
    if let Some(headers) = h.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                builder = builder.header(name.as_str(), value);
            }
        }
    }
    let (mut parts, ()) = match builder.body(()) {
        Ok(r) => r.into_parts(),
        // An invalid URL or header: the socket without them.
        Err(_) => http::Request::new(()).into_parts(),
    };
    if let Some(ip) = h
        .get("address")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
    {
        parts.extensions.insert(std::net::SocketAddr::new(ip, 0));
    }
    let auth = h
        .get("auth")
        .cloned()
        .map(Value::into_json)
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
    let issued = h
        .get("issued")
        .and_then(Value::as_f64)
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map_or(UNIX_EPOCH, |ms| {
            UNIX_EPOCH + Duration::from_millis(ms.min(8.64e15) as u64)
        });
    Some(SocketInfo {
        id,
        ns: ns.to_owned(),
        rooms,
        handshake: Handshake::new(parts, auth, issued),
        data: v.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// JavaScript's `Date.prototype.toString` in UTC:
/// `Wed Nov 25 2026 03:43:12 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    // Days since 1970-01-01 to a civil date (eras of 400 years starting on March 1st).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{} {} {day:02} {year:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_node_writes_them() {
        // Captured from Node: issued 1795578192728.
        assert_eq!(
            js_date_string(1_795_578_192_728),
            "Wed Nov 25 2026 03:43:12 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn a_socket_survives_the_round_trip() {
        let (parts, ()) =
            http::Request::get("/socket.io/?EIO=4&transport=websocket&x=1&name=J%C3%BCrgen&q=a+b")
                .header("origin", "http://a")
                .body(())
                .unwrap()
                .into_parts();
        let info = SocketInfo {
            id: "abc".into(),
            ns: "/".into(),
            rooms: vec!["abc".into(), "r".into()],
            handshake: Handshake::new(
                parts,
                serde_json::json!({"token": "t"}),
                UNIX_EPOCH + Duration::from_millis(1_795_578_192_728),
            ),
            data: Value::from(serde_json::json!({"name": "B1"})),
        };
        let v = socket_value(&info);
        let h = v.get("handshake").unwrap();
        assert_eq!(h.get("xdomain").and_then(Value::as_bool), Some(true));
        assert_eq!(
            h.get("query")
                .and_then(|q| q.get("x"))
                .and_then(Value::as_str),
            Some("1")
        );
        // A Node peer reads `query` decoded (as Node parses it) and `url` as it came.
        let query = h.get("query").unwrap();
        assert_eq!(query.get("name").and_then(Value::as_str), Some("Jürgen"));
        assert_eq!(query.get("q").and_then(Value::as_str), Some("a b"));
        assert_eq!(
            h.get("url").and_then(Value::as_str),
            Some("/socket.io/?EIO=4&transport=websocket&x=1&name=J%C3%BCrgen&q=a+b")
        );
        let back = socket_info(&v, "/").unwrap();
        assert_eq!(back.id, "abc");
        assert_eq!(back.rooms, ["abc", "r"]);
        assert_eq!(back.handshake.query_param("x").as_deref(), Some("1"));
        assert_eq!(
            back.handshake.query_param("name").as_deref(),
            Some("Jürgen")
        );
        assert_eq!(back.handshake.auth()["token"], "t");
        assert_eq!(back.handshake.issued(), info.handshake.issued());
        assert_eq!(back.data, info.data);
        assert!(socket_info(&Value::from("x"), "/").is_none());
    }
}
