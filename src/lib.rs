#![doc = include_str!("../README.md")]
#![doc = ""]
#![doc = include_str!("../docs/guide.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ack;
pub mod adapter;
pub mod engine;
pub mod extract;
pub mod handler;
mod io;
mod operators;
pub mod service;
pub(crate) mod socket;

pub use ack::{AckError, IntoAck};
pub use io::{
    DisconnectReason, DynNamespace, NsPattern, SocketIo, SocketIoBuilder, SocketIoLayer,
    SocketIoService,
};
pub use operators::{AckStream, BroadcastError, BroadcastOperator, IntoRooms};
pub use socket::namespace::{Namespace, WeakNamespace};
pub use socket::socket::{EmitError, Extensions, Handshake, RESERVED_EVENTS, Socket, SocketRef};

/// Dynamic values with binary: what events carry.
pub mod value {
    pub use crate::socket::value::{Value, ValueError, from_value, to_value};
}

pub mod protocol {
    //! The wire formats, as pure functions over strings and bytes (no IO, no runtime):
    //! Socket.IO v5 packets here, Engine.IO v4 packets and polling payloads in [`engine_io`].
    //!
    //! The server uses these itself; they are public for those who must move packets outside
    //! it, such as [adapter](crate::adapter) authors shipping packets between nodes, and for
    //! benchmarks.
    //!
    //! A Socket.IO packet is `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`. A binary
    //! packet (BINARY_EVENT, BINARY_ACK) travels as a text packet in which each buffer is
    //! replaced by `{"_placeholder":true,"num":N}`, followed by its buffers, one binary message
    //! each:
    //!
    //! ```
    //! use bytes::Bytes;
    //! use tower_socketio::protocol::{self, DecodeLimits, Decoded, Packet, PacketData};
    //! use tower_socketio::value::Value;
    //!
    //! let packet = Packet {
    //!     ns: "/chat".into(),
    //!     data: PacketData::Event {
    //!         event: "file".into(),
    //!         args: vec![Value::from("a.txt"), Value::Bytes(Bytes::from_static(b"hello"))],
    //!     },
    //!     id: Some(7),
    //! };
    //! let encoded = protocol::encode(&packet);
    //! assert_eq!(
    //!     encoded.text,
    //!     r#"51-/chat,7["file","a.txt",{"_placeholder":true,"num":0}]"#
    //! );
    //!
    //! // Decoding gives a partial packet that takes the attachments in order.
    //! let limits = DecodeLimits::default();
    //! let Decoded::Partial(mut partial) = protocol::decode(&encoded.text, &limits)? else {
    //!     unreachable!("a binary packet waits for its attachments")
    //! };
    //! let mut attachments = encoded.attachments.into_iter();
    //! let decoded = loop {
    //!     let next = attachments.next().expect("an attachment");
    //!     if let Some(done) = partial.push(next)? {
    //!         break done;
    //!     }
    //! };
    //! assert_eq!(decoded, packet);
    //! # Ok::<(), protocol::ParseError>(())
    //! ```

    pub use crate::socket::packet::{
        DecodeLimits, Decoded, Encoded, Packet, PacketData, ParseError, PartialPacket, decode,
        encode,
    };

    pub mod engine_io {
        //! Engine.IO v4 packets (one per WebSocket frame) and polling payloads (packets joined by
        //! `\x1e`, binary ones as `b` + base64).
        //!
        //! Outgoing packets are [`Frame`](crate::engine::Frame)s, encoded once and cheap to clone;
        //! [`encode_payload`] joins them into a polling response. Incoming ones decode into
        //! [`Packet`]s:
        //!
        //! ```
        //! use bytes::{Bytes, BytesMut};
        //! use tower_socketio::engine::{Frame, Str};
        //! use tower_socketio::protocol::engine_io::{self, Packet};
        //!
        //! let mut payload = BytesMut::new();
        //! let frames = [Frame::text("hello"), Frame::binary(vec![1, 2, 3])];
        //! engine_io::encode_payload(&frames, &mut payload);
        //! assert_eq!(&payload[..], b"4hello\x1ebAQID");
        //!
        //! let packets = engine_io::decode_payload(payload.freeze())?;
        //! assert_eq!(
        //!     packets,
        //!     [
        //!         Packet::Message(Str::from("hello")),
        //!         Packet::Binary(Bytes::from_static(&[1, 2, 3])),
        //!     ]
        //! );
        //! let ping = engine_io::decode_text(Str::from("2probe"))?;
        //! assert_eq!(ping, Packet::Ping { probe: true });
        //! # Ok::<(), engine_io::PayloadError>(())
        //! ```

        pub use crate::engine::packet::{
            Packet, PacketError, PayloadError, decode_payload, decode_text, encode_payload,
        };
    }
}
