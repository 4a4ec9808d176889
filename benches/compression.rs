//! HTTP compression of polling responses: what one poll carrying a 4 KB JSON event costs with
//! and without it, through the engine's tower service in process (no sockets): the event
//! queued on the session, the GET answered, its body collected.
//!
//! - `poll_4k/identity`: compression off (`http_compression(None)`), the body as it is;
//! - `poll_4k/gzip`, `poll_4k/deflate`: the default (threshold 1024 bytes), the request asking
//!   for that coding.
//!
//! The bytes of each body (what goes on the wire, headers aside) are printed once before the
//! timings. Run with `cargo bench --bench compression`.

use std::{hint::black_box, sync::Arc, time::Duration};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, header};
use http_body_util::{BodyExt, Empty};
use tower::ServiceExt;
use tower_socketio::{
    engine::{EngineConfig, EngineHandler, Session, Str},
    service::{EngineService, NotFound},
};

struct Quiet;

impl EngineHandler for Quiet {
    fn on_message(&self, _: &Session, _: Str) {}
    fn on_binary(&self, _: &Session, _: Bytes) {}
}

/// A Socket.IO EVENT of about 4 KB of JSON, as an application sends one (an array of small
/// objects), in its Engine.IO message form.
fn event_4k() -> String {
    let items: Vec<serde_json::Value> = (0..48)
        .map(|i| {
            serde_json::json!({
                "id": i,
                "name": format!("item number {i}"),
                "tags": ["alpha", "beta", "gamma"],
                "price": f64::from(i) * 1.25,
                "ok": i % 2 == 0,
            })
        })
        .collect();
    let data = serde_json::json!({ "kind": "catalogue", "items": items });
    format!("2[\"update\",{data}]")
}

async fn get(svc: &EngineService<NotFound>, uri: &str, accept: Option<&str>) -> Bytes {
    let mut req = Request::get(uri);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT_ENCODING, a);
    }
    let res = svc
        .clone()
        .oneshot(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    res.into_body().collect().await.unwrap().to_bytes()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let event = event_4k();
    let mut group = c.benchmark_group("poll_4k");
    for (name, compression, accept) in [
        ("identity", None, None),
        ("gzip", Some(1024), Some("gzip, deflate")),
        ("deflate", Some(1024), Some("deflate")),
    ] {
        let config = EngineConfig::builder()
            .ping_interval(Duration::from_secs(3600))
            .http_compression(compression)
            .build();
        let svc = EngineService::standalone(Arc::new(Quiet), config);
        let (svc, session, uri) = rt.block_on(async {
            let open = get(&svc, "/engine.io/?EIO=4&transport=polling", None).await;
            let open: serde_json::Value = serde_json::from_slice(&open[1..]).unwrap();
            let sid = open["sid"].as_str().unwrap().to_owned();
            let session = svc.engine().session(&sid).unwrap();
            (
                svc,
                session,
                format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
            )
        });
        let wire = rt.block_on(async {
            session.send_text(&event).unwrap();
            get(&svc, &uri, accept).await.len()
        });
        println!(
            "poll_4k/{name}: payload {} bytes, body on the wire {wire} bytes",
            event.len() + 1
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    session.send_text(&event).unwrap();
                    black_box(get(&svc, &uri, accept).await)
                })
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
