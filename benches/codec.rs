//! Codec throughput: Socket.IO packets ([`tower_socketio::protocol`]) and the Engine.IO packets
//! and polling payloads that carry them ([`tower_socketio::protocol::engine_io`]).
//!
//! Five messages, each as the server sends and receives it:
//! - `short`: a chat message of a few dozen bytes;
//! - `text_4k`: an event whose argument is about 4 KB of JSON (an array of small objects);
//! - `string_4k`: an event whose argument is one 4 KB ASCII string (the load generator's 4 KB
//!   echo payload);
//! - `binary_3x1k`: an event with three 1 KB buffers (BINARY_EVENT, three attachments);
//! - `text_500k`: an event whose argument is about 500 KB of JSON.
//!
//! For each, these benchmarks:
//! - `sio_encode` / `sio_decode`: Socket.IO packet to text (+ attachments) and back, attachments
//!   fed to the partial packet;
//! - `sio_decode_shared`: the decode the server runs on a received message (`decode_shared`:
//!   long strings without escapes share the message);
//! - `sio_echo`: what an echo costs in the codec: the received message decoded (shared) and its
//!   arguments encoded back as the ACK (strings read without escapes are written without a
//!   scan);
//! - `eio_packet_encode` / `eio_packet_decode`: the Socket.IO text as an Engine.IO message
//!   (`4…`, one WebSocket frame) plus the attachments as binary frames, and the decode of the
//!   message (a client's text frame);
//! - `eio_payload_encode` / `eio_payload_decode`: the same frames as one polling payload
//!   (`\x1e`-separated, binary as `b` + base64) and back.
//!
//! With the `msgpack` feature, a `parser/<case>` group compares the two parsers through the
//! `Parser` trait, as the server uses them: `json_encode` / `json_decode` and `msgpack_encode` /
//! `msgpack_decode` (packet to Engine.IO frames and back).
//!
//! Throughput is in bytes of the encoded form the benchmark writes or reads. Run with
//! `cargo bench --bench codec`; add a filter (`cargo bench --bench codec -- text_4k`) to run
//! part of it.

use std::{hint::black_box, time::Duration};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tower_socketio::{
    engine::{Frame, Str},
    protocol::{
        self, DecodeLimits, DecodeState, Decoded, JsonParser, Packet, PacketData, Parser, engine_io,
    },
    value::Value,
};

/// One benchmarked message: the packet and its encoded forms.
struct Case {
    name: &'static str,
    packet: Packet,
    /// The Socket.IO text packet.
    text: String,
    /// Its binary attachments.
    attachments: Vec<Bytes>,
    /// The Engine.IO frames: `4` + text, then the attachments.
    frames: Vec<Frame>,
    /// The text as a client's Engine.IO message (`4` + text).
    eio_text: Str,
    /// The frames as a polling payload.
    payload: Bytes,
}

/// `[{"id":0,"user":"user-0","text":"…","tags":["a","b"]}, …]` of about `size` bytes of JSON.
fn messages(size: usize) -> Value {
    let mut items = Vec::new();
    let mut len = 2;
    let mut i: u64 = 0;
    while len < size {
        let item = serde_json::json!({
            "id": i,
            "user": format!("user-{i}"),
            "text": "Lorem ipsum dolor sit amet, \"consectetur\" adipiscing elit.",
            "tags": ["news", "sport"],
            "score": i as f64 * 1.5,
        });
        len += item.to_string().len() + 1;
        items.push(item);
        i += 1;
    }
    Value::from(serde_json::Value::Array(items))
}

fn event(name: &str, args: Vec<Value>) -> Packet {
    Packet {
        ns: "/".into(),
        data: PacketData::Event {
            event: name.into(),
            args,
        },
        id: None,
    }
}

fn case(name: &'static str, packet: Packet) -> Case {
    let encoded = protocol::encode(&packet);
    let mut frames = vec![Frame::text(&encoded.text)];
    frames.extend(encoded.attachments.iter().cloned().map(Frame::binary));
    let mut payload = BytesMut::new();
    engine_io::encode_payload(&frames, &mut payload);
    Case {
        name,
        eio_text: Str::from(format!("4{}", encoded.text)),
        text: encoded.text,
        attachments: encoded.attachments,
        frames,
        payload: payload.freeze(),
        packet,
    }
}

fn cases() -> Vec<Case> {
    let short = event(
        "chat",
        vec![Value::from(
            serde_json::json!({"room": "lobby", "text": "hello there"}),
        )],
    );
    let text_4k = event("messages", vec![messages(4 * 1024)]);
    let string: String = (0..4096u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let string_4k = event("echo", vec![Value::from(string)]);
    let buffers: Vec<Value> = (0..3u8)
        .map(|i| Value::Bytes(Bytes::from(vec![i; 1024])))
        .collect();
    let binary = event(
        "upload",
        vec![
            Value::from("photos.tar"),
            Value::from(buffers),
            Value::from(3u64),
        ],
    );
    let text_500k = event("messages", vec![messages(500 * 1024)]);
    vec![
        case("short", short),
        case("text_4k", text_4k),
        case("string_4k", string_4k),
        case("binary_3x1k", binary),
        case("text_500k", text_500k),
    ]
}

/// Decodes a Socket.IO text packet and feeds it its attachments.
fn sio_decode(text: &str, attachments: &[Bytes], limits: &DecodeLimits) -> Packet {
    complete(
        protocol::decode(text, limits).expect("a valid packet"),
        attachments,
    )
}

/// Decodes a received Socket.IO message as the server does, and feeds it its attachments.
fn sio_decode_shared(text: &Str, attachments: &[Bytes], limits: &DecodeLimits) -> Packet {
    complete(
        protocol::decode_shared(text, limits).expect("a valid packet"),
        attachments,
    )
}

/// An echo: the received event decoded, its arguments encoded back as the ACK.
fn sio_echo(text: &Str, attachments: &[Bytes], limits: &DecodeLimits) -> protocol::Encoded {
    let packet = sio_decode_shared(text, attachments, limits);
    let PacketData::Event { args, .. } = packet.data else {
        panic!("an event")
    };
    protocol::encode(&Packet {
        ns: packet.ns,
        data: PacketData::Ack(args),
        id: Some(1),
    })
}

/// A packet through a parser: its frames, and the packet decoded from them.
fn through(parser: &dyn Parser, frames: &[Frame], limits: &DecodeLimits) -> Packet {
    let mut state = DecodeState::default();
    let mut done = None;
    for f in frames {
        done = match f {
            Frame::Text(t) => {
                let msg = Str::from(t.clone());
                let msg = msg.get(1..msg.len()).expect("a message frame");
                parser.decode_text(msg, &mut state, limits)
            }
            Frame::Binary(b) => parser.decode_binary(b.clone(), &mut state, limits),
        }
        .expect("a valid packet");
    }
    done.expect("a complete packet")
}

fn complete(decoded: Decoded, attachments: &[Bytes]) -> Packet {
    match decoded {
        Decoded::Complete(p) => p,
        Decoded::Partial(mut partial) => {
            let mut done = None;
            for a in attachments {
                done = partial.push(a.clone()).expect("a valid attachment");
            }
            done.expect("all attachments given")
        }
    }
}

fn bench_codec(c: &mut Criterion) {
    let limits = DecodeLimits::default();
    for case in cases() {
        // Sanity: what is benchmarked round-trips.
        assert_eq!(
            sio_decode(&case.text, &case.attachments, &limits),
            case.packet
        );
        let sio_len =
            (case.text.len() + case.attachments.iter().map(Bytes::len).sum::<usize>()) as u64;
        let frames_len = case.frames.iter().map(Frame::len).sum::<usize>() as u64;

        let mut group = c.benchmark_group(format!("codec/{}", case.name));
        group.throughput(Throughput::Bytes(sio_len));
        group.bench_function("sio_encode", |b| {
            b.iter(|| protocol::encode(black_box(&case.packet)))
        });
        group.bench_function("sio_decode", |b| {
            b.iter(|| sio_decode(black_box(&case.text), &case.attachments, &limits))
        });
        let shared = Str::from(case.text.clone());
        group.bench_function("sio_decode_shared", |b| {
            b.iter(|| sio_decode_shared(black_box(&shared), &case.attachments, &limits))
        });
        group.bench_function("sio_echo", |b| {
            b.iter(|| sio_echo(black_box(&shared), &case.attachments, &limits))
        });

        group.throughput(Throughput::Bytes(frames_len));
        group.bench_function("eio_packet_encode", |b| {
            b.iter(|| {
                let mut frames = Vec::with_capacity(1 + case.attachments.len());
                frames.push(Frame::text(black_box(&case.text)));
                frames.extend(case.attachments.iter().cloned().map(Frame::binary));
                frames
            })
        });
        group.throughput(Throughput::Bytes(case.eio_text.len() as u64));
        group.bench_function("eio_packet_decode", |b| {
            b.iter(|| engine_io::decode_text(black_box(case.eio_text.clone())).expect("valid"))
        });

        group.throughput(Throughput::Bytes(case.payload.len() as u64));
        group.bench_function("eio_payload_encode", |b| {
            b.iter(|| {
                let mut out = BytesMut::with_capacity(case.payload.len());
                engine_io::encode_payload(black_box(&case.frames), &mut out);
                out
            })
        });
        group.bench_function("eio_payload_decode", |b| {
            b.iter(|| engine_io::decode_payload(black_box(case.payload.clone())).expect("valid"))
        });
        group.finish();
        bench_parsers(c, &case, &limits);
    }
}

/// The two parsers side by side, through the `Parser` trait.
fn bench_parsers(c: &mut Criterion, case: &Case, limits: &DecodeLimits) {
    let mut parsers: Vec<(&str, Box<dyn Parser>)> = vec![("json", Box::new(JsonParser))];
    #[cfg(feature = "msgpack")]
    parsers.push(("msgpack", Box::new(protocol::MsgpackParser)));
    let mut group = c.benchmark_group(format!("parser/{}", case.name));
    for (name, parser) in &parsers {
        let frames: Vec<Frame> = parser.encode(&case.packet).collect();
        // Sanity: the frames decode to a packet that encodes to the same frames (msgpack writes an
        // integral float as an integer, as JavaScript has one number type).
        let back: Vec<Frame> = parser
            .encode(&through(&**parser, &frames, limits))
            .collect();
        assert_eq!(back, frames);
        group.throughput(Throughput::Bytes(
            frames.iter().map(Frame::len).sum::<usize>() as u64,
        ));
        group.bench_function(format!("{name}_encode"), |b| {
            b.iter(|| parser.encode(black_box(&case.packet)).count())
        });
        group.bench_function(format!("{name}_decode"), |b| {
            b.iter(|| through(&**parser, black_box(&frames), limits))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // 4 cases x 6 benchmarks, about 3 s each: the file runs in a little over a minute.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_codec
}
criterion_main!(benches);
