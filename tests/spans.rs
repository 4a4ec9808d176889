//! The server's spans as a subscriber sees them: a layer of this test records every span with its
//! fields, the fields recorded later, and the spans each log line of the handlers is in, while
//! official JS clients (socket.io-client) connect, upgrade, emit and leave.

mod common;

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex},
};

use common::ops;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

/// A span's or an event's fields, as strings.
#[derive(Debug, Default, Clone)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// A log line: its target, its fields, and its spans from the innermost out (name, fields).
#[derive(Debug, Clone)]
struct Line {
    target: String,
    fields: Fields,
    scope: Vec<(String, Fields)>,
}

#[derive(Default)]
struct Seen {
    /// Every span created: name and fields at creation.
    created: Vec<(String, Fields)>,
    /// Fields recorded after creation: the span's name, its fields at creation, what changed.
    recorded: Vec<(String, Fields, Fields)>,
    lines: Vec<Line>,
}

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Seen>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collect {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let span = ctx.span(id).unwrap();
        span.extensions_mut().insert(fields.clone());
        let mut seen = self.0.lock().unwrap();
        seen.created.push((span.name().to_owned(), fields));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut change = Fields::default();
        values.record(&mut change);
        let mut ext = span.extensions_mut();
        let fields = ext.get_mut::<Fields>().unwrap();
        let before = fields.clone();
        fields.0.extend(change.0.clone());
        let mut seen = self.0.lock().unwrap();
        seen.recorded.push((span.name().to_owned(), before, change));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if target != "ops" && !target.starts_with("tower_socketio::violation") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|s| {
                        let f = s.extensions().get::<Fields>().cloned().unwrap_or_default();
                        (s.name().to_owned(), f)
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().lines.push(Line {
            target: target.to_owned(),
            fields,
            scope,
        });
    }
}

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.0.get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no field {name} in {f:?}"))
}

/// The log line `message` whose socket span has id `socket`.
fn line_of(seen: &Seen, message: &str, socket: &str) -> Line {
    seen.lines
        .iter()
        .find(|l| {
            l.fields.0.get("message").map(String::as_str) == Some(message)
                && l.scope.iter().any(|(n, f)| {
                    n == "socket" && f.0.get("id").map(String::as_str) == Some(socket)
                })
        })
        .unwrap_or_else(|| panic!("no line {message:?} in socket {socket}: {:?}", seen.lines))
        .clone()
}

/// Checks a handler's line: in `event` (named `event`, with its ack id), in `socket` (namespace
/// `/`, id `socket`), in `session` (`sid`, `transport`, the client's address).
fn check_scope(line: &Line, event: &str, socket: &str, sid: &str, transport: &str) {
    let names: Vec<&str> = line.scope.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["event", "socket", "session"], "{line:?}");
    let (e, s, session) = (&line.scope[0].1, &line.scope[1].1, &line.scope[2].1);
    assert_eq!(field(e, "event"), event);
    field(e, "ack").parse::<u64>().expect("an ack id");
    assert_eq!(field(s, "ns"), "/");
    assert_eq!(field(s, "id"), socket);
    assert_eq!(field(session, "sid"), sid);
    assert_eq!(field(session, "transport"), transport);
    assert!(
        field(session, "remote").starts_with("127.0.0.1:"),
        "{session:?}"
    );
}

#[tokio::test]
async fn sessions_sockets_and_events_have_spans() {
    let collect = Collect::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(collect.clone()))
        .expect("the first subscriber of this test binary");
    let (addr, _io, _seen) = ops::start(None).await;

    let mut client = ops::Client::spawn(addr, &["--upgrade", "1", "--polling", "1"]);
    let connected = client.line().await;
    let sockets = ops::strings(&connected["connected"]);
    let sids = ops::strings(&connected["sids"]);

    // A request the engine refuses: a violation, logged with its own target.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /socket.io/?EIO=4&transport=pigeon HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    client.leave().await;
    let seen = collect.0.lock().unwrap();
    // The handlers ran in their event's span, in their socket's, in their session's: the sync
    // `sum` and the async `ask` after its await (on another task) alike.
    let transports = ["websocket", "polling"];
    for ((socket, sid), transport) in sockets.iter().zip(&sids).zip(transports) {
        check_scope(
            &line_of(&seen, "sum handled", socket),
            "sum",
            socket,
            sid,
            transport,
        );
        check_scope(
            &line_of(&seen, "ask answered", socket),
            "ask",
            socket,
            sid,
            transport,
        );
    }
    // One span per session, opened on polling; the upgrade recorded the new transport.
    for sid in &sids {
        let sessions: Vec<_> = seen
            .created
            .iter()
            .filter(|(n, f)| n == "session" && f.0.get("sid") == Some(sid))
            .collect();
        assert_eq!(sessions.len(), 1, "{sessions:?}");
        assert_eq!(field(&sessions[0].1, "transport"), "polling");
    }
    let upgraded: Vec<_> = seen
        .recorded
        .iter()
        .filter(|(n, ..)| n == "session")
        .map(|(_, before, change)| (field(before, "sid"), field(change, "transport")))
        .collect();
    assert_eq!(upgraded, [(sids[0].as_str(), "websocket")]);
    // One span per socket.
    for socket in &sockets {
        let n = seen
            .created
            .iter()
            .filter(|(n, f)| n == "socket" && f.0.get("id") == Some(socket))
            .count();
        assert_eq!(n, 1);
    }
    assert!(
        seen.lines
            .iter()
            .any(|l| l.target == "tower_socketio::violation"
                && l.fields.0.get("message").map(String::as_str)
                    == Some("Engine.IO request refused")),
        "{:?}",
        seen.lines
    );
}
