//! The engine's options that Node users rely on, with the official clients: HTTP compression of
//! polling responses, the sticky-session cookie, the session id generator, the
//! `initial_headers` / `headers` hooks; and the decoded handshake query.

mod common;

use std::{
    io::Read,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_socketio::{
    SocketIo, SocketIoBuilder, SocketRef,
    engine::{Cookie, SameSite},
    extract::Data,
};

/// What the `headers` hook saw of each transport response: the request's query, its `Cookie`
/// and `Accept-Encoding`, the response's status and `Content-Encoding`.
#[derive(Debug, Clone)]
struct Seen {
    query: String,
    cookie: Option<String>,
    content_encoding: Option<String>,
}

#[derive(Default)]
struct Log(Mutex<Vec<Seen>>);

impl Log {
    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

fn header_str(h: &http::HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn handlers(io: &SocketIo) {
    io.ns("/", |socket: SocketRef| {
        socket.on("query", |socket: SocketRef| {
            let h = socket.handshake();
            json!({
                "name": h.query_param("name"),
                "plus": h.query_param("plus"),
                "raw": h.raw_query(),
            })
        });
        socket.on("big", |Data(v): Data<Value>| v);
    });
}

/// A Socket.IO server with every handshake option set: the cookie `lb` (SameSite=Strict), ids
/// `custom-N`, an `x-initial` header on handshakes, an `x-every` header on every response
/// (whose hook records what it sees).
fn with_options(b: SocketIoBuilder, log: Arc<Log>) -> SocketIoBuilder {
    let n = Arc::new(AtomicUsize::new(0));
    b.cookie(Cookie::new("lb").same_site(Some(SameSite::Strict)))
        .session_id(move |parts| {
            // The generator sees the request: a header picks the prefix.
            let prefix = parts
                .headers
                .get("x-tenant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("custom");
            format!("{prefix}-{}", n.fetch_add(1, Ordering::Relaxed))
        })
        .initial_headers(|h, parts| {
            let transport = if parts.uri.query().unwrap_or("").contains("websocket") {
                "websocket"
            } else {
                "polling"
            };
            h.insert("x-initial", HeaderValue::from_static(transport));
        })
        .headers(move |h, parts| {
            h.insert("x-every", HeaderValue::from_static("yes"));
            log.0.lock().unwrap().push(Seen {
                query: parts.uri.query().unwrap_or("").to_owned(),
                cookie: header_str(&parts.headers, header::COOKIE),
                content_encoding: header_str(h, header::CONTENT_ENCODING),
            });
        })
}

struct Server {
    url: String,
    log: Arc<Log>,
}

async fn start(options: bool) -> Server {
    let log = Arc::new(Log::default());
    let mut b = SocketIo::builder().ping_interval(Duration::from_secs(5));
    if options {
        b = with_options(b, log.clone());
    }
    let (svc, io) = b.build_svc();
    handlers(&io);
    let addr = common::serve(svc).await;
    Server {
        url: format!("http://{addr}"),
        log,
    }
}

fn json_line(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {stdout}"))
}

async fn node(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["tests/clients/options_client.mjs", "--url", url];
    all.extend_from_slice(args);
    json_line(&common::run_client(&common::node(), &all, Duration::from_secs(20)).await)
}

async fn python(url: &str, transport: &str) -> Value {
    let args = [
        "tests/clients/options_client.py",
        "--url",
        url,
        "--transport",
        transport,
    ];
    json_line(&common::run_client(&common::python(), &args, Duration::from_secs(20)).await)
}

/// What a handler reads of the query the clients sent: `{name: "Jürgen", plus: "a+b c"}`.
fn assert_decoded(query: &Value) {
    assert_eq!(query["name"], "Jürgen", "{query}");
    assert_eq!(query["plus"], "a+b c", "{query}");
    // The raw query keeps the escapes.
    let raw = query["raw"].as_str().unwrap();
    assert!(raw.contains("name=J%C3%BCrgen"), "{raw}");
    assert!(!raw.contains("Jürgen"), "{raw}");
}

/// The responses the hook saw for the session `sid` (its polls and POSTs; the upgrade).
fn of_session(log: &Log, sid: &str) -> Vec<Seen> {
    let key = format!("sid={sid}");
    log.all()
        .into_iter()
        .filter(|s| s.query.split('&').any(|p| p == key))
        .collect()
}

// --- Handshake headers, as a Node client reads them -------------------------------------------

#[tokio::test]
async fn handshake_headers_cookie_and_id_as_node_reads_them() {
    let server = start(true).await;
    let out = node(&server.url, &["--scenario", "raw"]).await;
    let polling = &out["polling"];
    assert_eq!(polling["status"], 200);
    let body = polling["body"].as_str().unwrap();
    let open: Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
    let sid = open["sid"].as_str().unwrap();
    assert!(sid.starts_with("custom-"), "{sid}");
    assert_eq!(
        polling["headers"]["set-cookie"],
        json!([format!("lb={sid}; Path=/; HttpOnly; SameSite=Strict")])
    );
    assert_eq!(polling["headers"]["x-initial"], "polling");
    assert_eq!(polling["headers"]["x-every"], "yes");

    let ws = &out["websocket"];
    assert_eq!(ws["status"], 101);
    let cookie = ws["headers"]["set-cookie"][0].as_str().unwrap();
    assert!(
        cookie.starts_with("lb=custom-") && cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict"),
        "{cookie}"
    );
    assert_ne!(
        cookie,
        format!("lb={sid}; Path=/; HttpOnly; SameSite=Strict")
    );
    assert_eq!(ws["headers"]["x-initial"], "websocket");
    assert_eq!(ws["headers"]["x-every"], "yes");
}

#[tokio::test]
async fn no_cookie_and_no_extra_headers_by_default() {
    let server = start(false).await;
    let out = node(&server.url, &["--scenario", "raw"]).await;
    for side in ["polling", "websocket"] {
        let headers = &out[side]["headers"];
        let cookies = headers.get("set-cookie").cloned().unwrap_or(json!([]));
        assert_eq!(cookies, json!([]), "{side}: {headers}");
        assert!(headers.get("x-initial").is_none(), "{side}: {headers}");
        assert!(headers.get("x-every").is_none(), "{side}: {headers}");
    }
}

// --- The official Node client -------------------------------------------------------------------

/// The Node client's `Fetch` transport (Node's fetch asks for gzip and decodes it): the 4 KB
/// answer comes compressed, the client keeps the sticky cookie and sends it back, the id is the
/// generator's, the query decoded.
#[tokio::test]
async fn node_fetch_client_gets_compressed_polls_and_returns_the_cookie() {
    let server = start(true).await;
    let out = node(
        &server.url,
        &["--scenario", "client", "--transport", "fetch"],
    )
    .await;
    assert_decoded(&out["query"]);
    let sid = out["engineId"].as_str().unwrap();
    assert!(sid.starts_with("custom-"), "{sid}");
    assert!(out["bigBytes"].as_u64().unwrap() >= 3500);
    let seen = of_session(&server.log, sid);
    assert!(
        seen.iter()
            .any(|s| s.content_encoding.as_deref() == Some("gzip")),
        "no gzip poll: {seen:?}"
    );
    let cookie = format!("lb={sid}");
    assert!(
        seen.iter()
            .any(|s| s.cookie.as_deref().is_some_and(|c| c.contains(&cookie))),
        "the cookie never came back: {seen:?}"
    );
}

/// The Node client's default polling transport asks for no compression: nothing is compressed,
/// and the client works (polling, WebSocket, the upgrade).
#[tokio::test]
async fn node_client_without_accept_encoding_and_over_websocket() {
    let server = start(true).await;
    for transport in ["xhr", "websocket", "upgrade"] {
        let out = node(
            &server.url,
            &["--scenario", "client", "--transport", transport],
        )
        .await;
        assert_decoded(&out["query"]);
        let sid = out["engineId"].as_str().unwrap();
        assert!(sid.starts_with("custom-"), "{transport}: {sid}");
        let expected = if transport == "xhr" {
            "polling"
        } else {
            "websocket"
        };
        assert_eq!(out["transport"], expected, "{transport}");
        let seen = of_session(&server.log, sid);
        assert!(
            seen.iter().all(|s| s.content_encoding.is_none()),
            "{transport}: {seen:?}"
        );
        if transport == "xhr" {
            // The Node XHR transport keeps cookies with `withCredentials` too.
            assert!(
                seen.iter().any(|s| s
                    .cookie
                    .as_deref()
                    .is_some_and(|c| c.contains(&format!("lb={sid}")))),
                "{seen:?}"
            );
        }
    }
}

// --- The Python client ----------------------------------------------------------------------

/// python-socketio through requests (which asks for gzip and decodes it): the 4 KB answer comes
/// gzipped, the cookie goes back, the id is the generator's, the query decoded.
#[tokio::test]
async fn python_client_polling_compressed_with_cookie() {
    let server = start(true).await;
    let out = python(&server.url, "polling").await;
    assert_decoded(&out["query"]);
    let sid = out["sid"].as_str().unwrap();
    assert!(sid.starts_with("custom-"), "{sid}");
    assert!(
        out["encodings"]
            .as_array()
            .unwrap()
            .contains(&json!("gzip")),
        "{out}"
    );
    assert_eq!(
        out["set_cookie"],
        json!([format!("lb={sid}; Path=/; HttpOnly; SameSite=Strict")])
    );
    let seen = of_session(&server.log, sid);
    assert!(
        seen.iter().any(|s| s
            .cookie
            .as_deref()
            .is_some_and(|c| c.contains(&format!("lb={sid}")))),
        "{seen:?}"
    );
}

#[tokio::test]
async fn python_client_websocket_query_decoded() {
    let server = start(true).await;
    let out = python(&server.url, "websocket").await;
    assert_decoded(&out["query"]);
    assert!(out["sid"].as_str().unwrap().starts_with("custom-"), "{out}");
}

// --- Compression, byte for byte ---------------------------------------------------------------

type Svc = tower_socketio::SocketIoService<tower_socketio::service::NotFound>;

async fn call(
    svc: &Svc,
    method: Method,
    query: &str,
    accept: Option<&str>,
    body: &str,
) -> (http::response::Parts, Bytes) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/socket.io/?{query}"));
    if let Some(a) = accept {
        req = req.header(header::ACCEPT_ENCODING, a);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

/// A session connected to `/` by hand over polling; its id.
async fn connect(svc: &Svc) -> String {
    let (_, body) = call(svc, Method::GET, "EIO=4&transport=polling", None, "").await;
    let open: Value = serde_json::from_slice(&body[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    call(svc, Method::POST, &q, None, "40").await;
    let (_, body) = call(svc, Method::GET, &q, None, "").await;
    assert!(body.starts_with(b"40{"), "{body:?}");
    sid
}

fn decode(encoding: &str, data: &[u8]) -> String {
    let mut out = String::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(data).read_to_string(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(data).read_to_string(&mut out),
        e => panic!("unexpected encoding {e}"),
    }
    .unwrap();
    out
}

/// Asks for the 4 KB echo by ack and reads its poll with `accept`: the content encoding
/// answered and the decoded payload.
async fn big_poll(svc: &Svc, sid: &str, accept: Option<&str>) -> (Option<String>, usize, String) {
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let big = json!({"items": (0..48).map(|i| json!({"id": i, "name": format!("item number {i}"), "tags": ["alpha", "beta"]})).collect::<Vec<_>>()});
    let packet = format!("421[\"big\",{big}]");
    call(svc, Method::POST, &q, None, &packet).await;
    let (parts, body) = call(svc, Method::GET, &q, accept, "").await;
    let encoding = header_str(&parts.headers, header::CONTENT_ENCODING);
    let text = match &encoding {
        Some(e) => decode(e, &body),
        None => String::from_utf8(body.to_vec()).unwrap(),
    };
    assert_eq!(text, format!("431[{big}]"));
    (encoding, body.len(), text)
}

#[tokio::test]
async fn polling_responses_are_compressed_as_asked_above_the_threshold() {
    let (svc, io) = SocketIo::builder().build_svc();
    handlers(&io);
    let sid = connect(&svc).await;
    let (enc, wire, text) = big_poll(&svc, &sid, Some("gzip, deflate, br")).await;
    assert_eq!(enc.as_deref(), Some("gzip"));
    assert!(wire * 3 < text.len(), "{wire} of {}", text.len());
    let (enc, _, _) = big_poll(&svc, &sid, Some("deflate")).await;
    assert_eq!(enc.as_deref(), Some("deflate"));
    let (enc, _, _) = big_poll(&svc, &sid, Some("br")).await;
    assert_eq!(enc, None);
    let (enc, wire, text) = big_poll(&svc, &sid, None).await;
    assert_eq!(enc, None);
    assert_eq!(wire, text.len());
    // Below the threshold (a small ack): as it is, even when asked.
    let q = format!("EIO=4&transport=polling&sid={sid}");
    call(&svc, Method::POST, &q, None, "422[\"big\",1]").await;
    let (parts, body) = call(&svc, Method::GET, &q, Some("gzip"), "").await;
    assert!(!parts.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(&body[..], b"432[1]");
}

#[tokio::test]
async fn compression_off_or_a_higher_threshold() {
    for b in [
        SocketIo::builder().http_compression(None),
        SocketIo::builder().http_compression(Some(64 * 1024)),
    ] {
        let (svc, io) = b.build_svc();
        handlers(&io);
        let sid = connect(&svc).await;
        let (enc, _, _) = big_poll(&svc, &sid, Some("gzip")).await;
        assert_eq!(enc, None);
    }
    let (svc, io) = SocketIo::builder().http_compression(Some(1)).build_svc();
    handlers(&io);
    // Every polling answer of a byte or more, the handshake included.
    let (parts, body) = call(
        &svc,
        Method::GET,
        "EIO=4&transport=polling",
        Some("gzip"),
        "",
    )
    .await;
    assert_eq!(parts.headers[header::CONTENT_ENCODING], "gzip");
    let open = decode("gzip", &body);
    assert!(
        open.starts_with("0{") && open.contains("\"sid\":"),
        "{open}"
    );
}

/// A generator that gives an id unusable in URLs, or one already taken: the handshake is
/// refused (HTTP 500), nothing else is affected.
#[tokio::test]
async fn unusable_generated_ids_refuse_the_handshake() {
    let (svc, _io) = SocketIo::builder()
        .session_id(|_| "same".to_owned())
        .build_svc();
    let (parts, _) = call(&svc, Method::GET, "EIO=4&transport=polling", None, "").await;
    assert_eq!(parts.status, 200);
    let (parts, _) = call(&svc, Method::GET, "EIO=4&transport=polling", None, "").await;
    assert_eq!(parts.status, 500);
    for bad in ["", "a b", "a&b", "é"] {
        let (svc, _io) = SocketIo::builder()
            .session_id(move |_| bad.to_owned())
            .build_svc();
        let (parts, _) = call(&svc, Method::GET, "EIO=4&transport=polling", None, "").await;
        assert_eq!(parts.status, 500, "{bad:?}");
    }
}

// --- tower-http's CompressionLayer in front, instead ----------------------------------------

/// With the engine's compression off, tower-http's `CompressionLayer` in front of the service
/// compresses the polls (a long-poll once it is answered) and leaves the WebSocket upgrade
/// alone: the Node client over fetch gets gzipped polls, over polling-then-WebSocket upgrades.
#[tokio::test]
async fn tower_http_compression_in_front_works_too() {
    use tower_http::compression::{CompressionLayer, predicate::SizeAbove};

    let (svc, io) = SocketIo::builder().http_compression(None).build_svc();
    handlers(&io);
    let encodings = Arc::new(Mutex::new(Vec::<(u16, Option<String>)>::new()));
    let record = encodings.clone();
    let compressed = tower::ServiceBuilder::new()
        .map_response(move |res: http::Response<_>| {
            record.lock().unwrap().push((
                res.status().as_u16(),
                header_str(res.headers(), header::CONTENT_ENCODING),
            ));
            res
        })
        .layer(CompressionLayer::new().compress_when(SizeAbove::new(1024)))
        .service(svc);
    let url = format!("http://{}", common::serve(compressed).await);
    let out = node(&url, &["--scenario", "client", "--transport", "fetch"]).await;
    assert_decoded(&out["query"]);
    assert!(
        encodings
            .lock()
            .unwrap()
            .iter()
            .any(|(s, e)| *s == 200 && e.as_deref() == Some("gzip")),
        "{encodings:?}"
    );
    let out = node(&url, &["--scenario", "client", "--transport", "upgrade"]).await;
    assert_eq!(out["transport"], "websocket");
    let seen = encodings.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(s, e)| *s == 101 && e.is_none()),
        "{seen:?}"
    );
}
