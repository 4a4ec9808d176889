//! [`Handshake`]: what a client sent when it connected. An adapter describes sockets with it
//! ([`SocketInfo`](super::SocketInfo)), local or rebuilt from another node.

use std::{borrow::Cow, sync::Arc, time::SystemTime};

use crate::protocol::value::Value;

/// What the client sent when it connected: the HTTP request that opened the connection
/// (headers, URL, query, address), the auth object of its CONNECT packet, and the time.
///
/// The request is shared with the Engine.IO session and with the client's other namespaces, so
/// a socket costs no copy of it.
#[derive(Debug, Clone)]
pub struct Handshake {
    request: Arc<http::request::Parts>,
    auth: serde_json::Value,
    issued: SystemTime,
}

impl Handshake {
    /// A handshake record from its parts: for adapters that rebuild a socket seen on another
    /// node. `auth` is the client's auth object (`{}` when it sent none).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_socketio::Handshake;
    ///
    /// let (request, ()) = http::Request::get("/socket.io/?EIO=4&transport=websocket&room=a")
    ///     .header("x-forwarded-proto", "https")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let h = Handshake::new(request, serde_json::json!({ "token": "t" }), SystemTime::now());
    /// assert_eq!(h.query_param("room").as_deref(), Some("a"));
    /// assert_eq!(h.url(), "/socket.io/?EIO=4&transport=websocket&room=a");
    /// assert_eq!(h.auth()["token"], "t");
    /// assert!(h.secure());
    /// assert_eq!(h.address(), None);
    /// ```
    pub fn new(request: http::request::Parts, auth: serde_json::Value, issued: SystemTime) -> Self {
        Handshake {
            request: Arc::new(request),
            auth,
            issued,
        }
    }

    /// The handshake of a socket whose session came with `request`.
    pub(crate) fn for_socket(request: Arc<http::request::Parts>, auth: Option<&Value>) -> Self {
        Handshake {
            request,
            auth: auth
                .map(|a| a.clone().into_json())
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
            issued: SystemTime::now(),
        }
    }

    /// The headers of the HTTP request that opened the connection.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.request.headers
    }

    /// The request's URL: path and query, e.g. `/socket.io/?EIO=4&transport=polling&t=x`.
    pub fn url(&self) -> &str {
        self.request
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
    }

    /// The whole HTTP request head (method, URI, headers, extensions set by layers in front).
    pub fn request(&self) -> &http::request::Parts {
        &self.request
    }

    /// The query parameters, in order, decoded as a form's (`application/x-www-form-urlencoded`,
    /// as browsers and the official clients encode them): percent-escapes decoded as UTF-8
    /// (invalid sequences become U+FFFD), `+` read as a space. A value with nothing to decode
    /// is borrowed from the URL. [`raw_query`](Self::raw_query) is the query as it came.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_socketio::Handshake;
    ///
    /// let (request, ()) = http::Request::get("/socket.io/?EIO=4&name=J%C3%BCrgen&q=a+b%2Bc")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let h = Handshake::new(request, serde_json::json!({}), SystemTime::now());
    /// assert_eq!(h.query_param("name").as_deref(), Some("Jürgen"));
    /// assert_eq!(h.query_param("q").as_deref(), Some("a b+c"));
    /// assert_eq!(h.raw_query(), "EIO=4&name=J%C3%BCrgen&q=a+b%2Bc");
    /// let keys: Vec<_> = h.query().map(|(k, _)| k.into_owned()).collect();
    /// assert_eq!(keys, ["EIO", "name", "q"]);
    /// ```
    pub fn query(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(self.raw_query().as_bytes())
    }

    /// The value of query parameter `key`, decoded (the first one; see [`query`](Self::query)).
    pub fn query_param(&self, key: &str) -> Option<Cow<'_, str>> {
        self.query().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The query string as the client sent it, not decoded (`""` when there is none).
    pub fn raw_query(&self) -> &str {
        self.request.uri.query().unwrap_or("")
    }

    /// The auth object the client sent with CONNECT (`{}` when none).
    pub fn auth(&self) -> &serde_json::Value {
        &self.auth
    }

    /// The client's address, when the server put a `std::net::SocketAddr` in the request's
    /// extensions (as `tests/common` and the examples do for plain hyper), or axum's
    /// `ConnectInfo` was mapped to one by a layer.
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.request
            .extensions
            .get::<std::net::SocketAddr>()
            .copied()
    }

    /// Whether the request came over TLS (an `https` URL or `X-Forwarded-Proto: https`).
    pub fn secure(&self) -> bool {
        self.request.uri.scheme_str() == Some("https")
            || self
                .request
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
    }

    /// When the socket connected.
    pub fn issued(&self) -> SystemTime {
        self.issued
    }
}
