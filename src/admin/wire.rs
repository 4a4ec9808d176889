//! What the Admin UI reads, as the Node instrumentation writes it: dates as JavaScript prints
//! them, sockets as `SerializedSocket`s, and arguments spread over an event.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, ser::SerializeTuple};
use serde_json::{Map, Value as Json, json};

use crate::{Handshake, protocol::value::Value};

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The civil date (year, month 1–12, day 1–31) of a day counted from 1970-01-01 (Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u64,
}

fn parts(ms: u64) -> Parts {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil(days);
    Parts {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 4) % 7) as usize,
        hour: secs % 86_400 / 3600,
        minute: secs % 3600 / 60,
        second: secs % 60,
        millis: ms % 1000,
    }
}

/// A date as JSON writes a JavaScript `Date`: `2026-11-25T03:42:21.775Z`.
pub(crate) fn iso(ms: u64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// A date as JavaScript's `Date.toString()` prints it in UTC:
/// `Wed Nov 25 2026 03:42:21 GMT+0000 (Coordinated Universal Time)`.
pub(crate) fn js_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(ms);
    format!(
        "{} {} {:02} {:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[p.weekday],
        MONTHS[(p.month - 1) as usize],
        p.day,
        p.year,
        p.hour,
        p.minute,
        p.second
    )
}

/// Now, as [`iso`].
pub(crate) fn now_iso() -> String {
    iso(epoch_ms(SystemTime::now()))
}

/// Event arguments of any number, spread over the event (a tuple to the crate's emitters).
pub(crate) struct Spread(pub(crate) Vec<Value>);

impl Serialize for Spread {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut t = serializer.serialize_tuple(self.0.len())?;
        for v in &self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

/// The handshake as the UI shows it (Node's `socket.handshake` without `auth`).
pub(crate) fn handshake(h: &Handshake) -> Json {
    let headers = h.headers();
    let mut header_map = Map::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        header_map.insert(name.as_str().to_owned(), Json::from(values.join(", ")));
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .map(str::to_owned)
        .or_else(|| h.address().map(|a| a.ip().to_string()))
        .unwrap_or_default();
    let mut query = Map::new();
    for (k, v) in h.query() {
        query.insert(k.to_string(), Json::from(v.to_string()));
    }
    let issued = epoch_ms(h.issued());
    json!({
        "address": address,
        "headers": header_map,
        "query": query,
        "issued": issued,
        "secure": h.secure(),
        "time": js_date(issued),
        "url": h.url(),
        "xdomain": headers.contains_key(http::header::ORIGIN),
    })
}

/// The socket's data without the instrumentation's own `_admin` field.
pub(crate) fn user_data(data: Value) -> Json {
    match data.into_json() {
        Json::Object(mut m) => {
            m.remove("_admin");
            Json::Object(m)
        }
        other => other,
    }
}

/// A socket as the UI lists it (`SerializedSocket`).
pub(crate) struct SocketView<'a> {
    pub(crate) id: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) transport: &'a str,
    pub(crate) nsp: &'a str,
    pub(crate) data: Json,
    pub(crate) handshake: &'a Handshake,
    pub(crate) rooms: Vec<String>,
}

impl SocketView<'_> {
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "clientId": self.client_id,
            "transport": self.transport,
            "nsp": self.nsp,
            "data": self.data,
            "handshake": handshake(self.handshake),
            "rooms": self.rooms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_javascript_prints_them() {
        // 2026-11-25T03:42:21.775Z, a Wednesday (from the Node capture).
        let ms = 1_795_578_141_775;
        assert_eq!(iso(ms), "2026-11-25T03:42:21.775Z");
        assert_eq!(
            js_date(ms),
            "Wed Nov 25 2026 03:42:21 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            js_date(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // A leap day, and the end of a century year that is a leap year.
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso(978_307_199_999), "2000-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_handshake_reads_as_node_serializes_it() {
        let (mut request, ()) = http::Request::get("/socket.io/?who=A&EIO=4&transport=polling")
            .header("user-agent", "node")
            .header("x-forwarded-for", "10.0.0.7")
            .body(())
            .unwrap()
            .into_parts();
        request
            .extensions
            .insert(std::net::SocketAddr::from(([127, 0, 0, 1], 4000)));
        let h = Handshake::new(request, json!({"token": "secret"}), UNIX_EPOCH);
        let j = handshake(&h);
        assert_eq!(j["address"], "10.0.0.7", "the forwarded address first");
        assert_eq!(j["headers"]["user-agent"], "node");
        assert_eq!(j["query"]["who"], "A");
        assert_eq!(j["url"], "/socket.io/?who=A&EIO=4&transport=polling");
        assert_eq!(j["issued"], 0);
        assert_eq!(j["secure"], false);
        assert_eq!(j["xdomain"], false);
        assert!(j.get("auth").is_none(), "the auth object is not shown");
    }

    #[test]
    fn the_instrumentations_own_data_is_hidden() {
        let data = Value::from(json!({"_admin": {"clientId": "x"}, "nick": "alice"}));
        assert_eq!(user_data(data), json!({"nick": "alice"}));
    }
}
