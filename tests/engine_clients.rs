//! The official Engine.IO clients against our echo engine: `engine.io-client` (npm, in Node) and
//! `python-engineio`, over polling only, WebSocket only, and polling with upgrade.

mod common;

use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);

async fn node(mode: &str, scenario: &str) {
    let addr = common::spawn_engine_echo().await;
    let url = format!("http://{addr}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/engine_client.mjs"
    );
    common::run_client(
        &common::node(),
        &[
            script,
            "--url",
            &url,
            "--path",
            "/engine.io/",
            "--mode",
            mode,
            "--scenario",
            scenario,
        ],
        BOUND,
    )
    .await;
}

async fn python(mode: &str, scenario: &str) {
    let addr = common::spawn_engine_echo().await;
    let url = format!("http://{addr}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/engine_client.py"
    );
    common::run_client(
        &common::python(),
        &[
            script,
            "--url",
            &url,
            "--path",
            "/engine.io/",
            "--mode",
            mode,
            "--scenario",
            scenario,
        ],
        BOUND,
    )
    .await;
}

macro_rules! scenarios {
    ($client:ident: $($name:ident => ($mode:literal, $scenario:literal),)*) => {
        mod $client {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$client($mode, $scenario).await;
                }
            )*
        }
    };
}

macro_rules! all_modes {
    ($client:ident) => {
        scenarios! { $client:
            polling_text => ("polling", "text"),
            polling_binary => ("polling", "binary"),
            polling_empty => ("polling", "empty"),
            polling_order => ("polling", "order"),
            polling_large => ("polling", "large"),
            polling_concurrent => ("polling", "concurrent"),
            websocket_text => ("websocket", "text"),
            websocket_binary => ("websocket", "binary"),
            websocket_empty => ("websocket", "empty"),
            websocket_order => ("websocket", "order"),
            websocket_large => ("websocket", "large"),
            websocket_concurrent => ("websocket", "concurrent"),
            upgrade_text => ("upgrade", "text"),
            upgrade_binary => ("upgrade", "binary"),
            upgrade_empty => ("upgrade", "empty"),
            upgrade_order => ("upgrade", "order"),
            upgrade_large => ("upgrade", "large"),
            upgrade_concurrent => ("upgrade", "concurrent"),
            upgrade_burst => ("upgrade", "upgrade_burst"),
        }
    };
}

all_modes!(node);
all_modes!(python);
