//! The counts in the API (issue 15, point 3): live sessions, sockets per namespace and in all,
//! rooms of a namespace, as raw WebSocket clients connect, join rooms and leave.

mod common;

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{WebSocketStream, client_async, tungstenite::Message};
use tower_socketio::{SocketIo, SocketRef, extract::Data};

type Ws = WebSocketStream<TcpStream>;

const LIMIT: Duration = Duration::from_secs(30);

async fn text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// A WebSocket session, connected to the namespaces given (none: a session only).
async fn client(addr: SocketAddr, namespaces: &[&str]) -> Ws {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = client_async(url, stream).await.expect("handshake");
    assert!(text(&mut ws).await.starts_with("0{"));
    for ns in namespaces {
        let connect = if *ns == "/" {
            "40".to_owned()
        } else {
            format!("40{ns},")
        };
        ws.send(Message::text(connect)).await.unwrap();
        let answer = text(&mut ws).await;
        assert!(answer.starts_with("40"), "CONNECT answer {answer:?}");
    }
    ws
}

/// Sends `42["join","room"]` to `/` and waits for its ack.
async fn join(ws: &mut Ws, room: &str) {
    ws.send(Message::text(format!(r#"421["join","{room}"]"#)))
        .await
        .unwrap();
    assert_eq!(text(ws).await, "431[true]");
}

#[tokio::test]
async fn counts_follow_sessions_sockets_and_rooms() {
    tokio::time::timeout(LIMIT, async {
        let (svc, io) = SocketIo::builder().build_svc();
        let (left_tx, mut left) = mpsc::unbounded_channel::<String>();
        let tx = left_tx.clone();
        io.ns("/", move |socket: SocketRef| {
            socket.on("join", |socket: SocketRef, Data(room): Data<String>| {
                socket.join(room);
                true
            });
            let tx = tx.clone();
            socket.on_disconnect(move |s: SocketRef| {
                let _ = tx.send(s.ns().to_owned());
            });
        });
        let tx = left_tx.clone();
        io.ns("/chat", move |socket: SocketRef| {
            let tx = tx.clone();
            socket.on_disconnect(move |s: SocketRef| {
                let _ = tx.send(s.ns().to_owned());
            });
        });
        let addr = common::serve(svc).await;

        assert_eq!(
            (io.session_count(), io.socket_count()),
            (0, 0),
            "nothing yet"
        );
        assert_eq!(io.room_count_in("/"), Some(0));
        assert_eq!(io.room_count_in("/nowhere"), None);
        assert_eq!(io.socket_count_in("/nowhere"), 0);

        let mut a = client(addr, &["/"]).await;
        let mut b = client(addr, &["/", "/chat"]).await;
        let idle = client(addr, &[]).await;
        join(&mut a, "red").await;
        join(&mut b, "red").await;
        join(&mut b, "blue").await;

        assert_eq!(io.session_count(), 3, "three sessions, one in no namespace");
        assert_eq!(io.socket_count(), 3, "a and b in /, b in /chat");
        assert_eq!(io.socket_count_in("/"), 2);
        assert_eq!(io.socket_count_in("chat"), 1, "the path without its slash");
        let main = io.of("/").unwrap();
        assert_eq!(main.socket_count(), 2);
        // Two sockets' own rooms, red and blue.
        assert_eq!(io.room_count_in("/"), Some(4));
        assert_eq!(main.room_count(), Some(4));
        assert_eq!(io.room_count_in("/chat"), Some(1));

        // b drops abruptly: its two sockets leave, blue goes, red stays with a.
        drop(b);
        let mut gone = vec![left.recv().await.unwrap(), left.recv().await.unwrap()];
        gone.sort();
        assert_eq!(gone, ["/", "/chat"]);
        assert_eq!(io.session_count(), 2);
        assert_eq!(io.socket_count(), 1);
        assert_eq!(io.room_count_in("/"), Some(2), "a's own room and red");
        assert_eq!(io.room_count_in("/chat"), Some(0));

        // a leaves its namespace but keeps its session.
        a.send(Message::text("41")).await.unwrap();
        assert_eq!(left.recv().await.unwrap(), "/");
        assert_eq!((io.session_count(), io.socket_count()), (2, 0));
        assert_eq!(io.room_count_in("/"), Some(0));

        // The two sessions close: each is counted out before the server ends its connection.
        for mut ws in [a, idle] {
            ws.send(Message::text("1")).await.unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        }
        assert_eq!(io.session_count(), 0);
    })
    .await
    .expect("the test took too long");
}
