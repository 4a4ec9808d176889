//! The official Engine.IO clients against our echo engine: `engine.io-client` (npm, in Node) and
//! `python-engineio`, over polling only, WebSocket only, and polling with upgrade.
//!
//! Each test starts its own server and runs one scenario of `tests/clients/engine_client.mjs` or
//! `tests/clients/engine_client.py` (see the comment at the top of each for what it checks).
//! `./scripts/test` installs the clients and points `TSIO_NODE` / `TSIO_PYTHON` at them.

mod common;

use std::time::Duration;

/// The bound on one client run; the scripts time themselves out after 20 s.
const BOUND: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
enum Client {
    Node,
    Python,
}

async fn run(client: Client, mode: &str, scenario: &str) {
    let addr = common::spawn_engine_echo().await;
    let url = format!("http://{addr}");
    let (program, script) = match client {
        Client::Node => (
            common::node(),
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/clients/engine_client.mjs"
            ),
        ),
        Client::Python => (
            common::python(),
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/clients/engine_client.py"
            ),
        ),
    };
    let args = [
        script,
        "--url",
        &url,
        "--path",
        "/engine.io/",
        "--mode",
        mode,
        "--scenario",
        scenario,
    ];
    common::run_client(&program, &args, BOUND).await;
}

/// One module per client, one test per mode and scenario.
macro_rules! client_tests {
    ($module:ident, $client:expr) => {
        mod $module {
            use super::{Client, run};

            client_tests!(@mode $client, polling);
            client_tests!(@mode $client, websocket);
            client_tests!(@mode $client, upgrade);

            #[tokio::test]
            async fn upgrade_burst() {
                run($client, "upgrade", "upgrade_burst").await;
            }
        }
    };
    (@mode $client:expr, $mode:ident) => {
        mod $mode {
            use super::{Client, run};

            client_tests!(@scenarios $client, $mode: text, binary, empty, order, large, concurrent);
        }
    };
    (@scenarios $client:expr, $mode:ident: $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                run($client, stringify!($mode), stringify!($scenario)).await;
            }
        )*
    };
}

client_tests!(node, Client::Node);
client_tests!(python, Client::Python);
