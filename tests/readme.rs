//! The README's Quick start, as a new user takes it: its `[dependencies]` lines (the first `toml`
//! block under `## Install`) and its program (the first `rust` block under `## Quick start`) are
//! pasted into a new cargo project, which must build offline and run.
//!
//! The project is made under `target/tmp/readme-quickstart/` (its own workspace, with
//! `src/main.rs` and a `Cargo.toml` as `cargo new` writes them) and built with
//! `cargo build --offline` into `target/readme-quickstart/`, kept between runs. One line is
//! rewritten, as a user of a local checkout would: the `tower-socketio` dependency points at this
//! checkout by path. Offline works because the main build has already fetched every crate the
//! Quick start uses (axum, tokio, serde, serde_json, tracing, tracing-subscriber are dependencies
//! or dev-dependencies of this crate).
//!
//! The program then runs with `PORT=0`: it must print `listening on http://<addr>`, answer an
//! Engine.IO handshake (`GET /socket.io/?EIO=4&transport=polling`, a body starting `0{`) and its
//! REST route (`GET /api/health`, `ok`), all on 127.0.0.1, each step bounded in time.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// How long the build may take: the first one compiles axum, tokio and the rest from scratch.
const BUILD_BOUND: Duration = Duration::from_secs(900);

/// The body of the first fenced block whose info string starts with `lang`, after the heading
/// `heading`.
fn block_after(readme: &str, heading: &str, lang: &str) -> String {
    let start = readme
        .lines()
        .position(|l| l.trim_end() == heading)
        .unwrap_or_else(|| panic!("README.md has no heading `{heading}`"));
    let mut lines = readme.lines().skip(start + 1);
    let open = format!("```{lang}");
    for line in lines.by_ref() {
        if line.starts_with("## ") {
            panic!("no ```{lang} block under `{heading}` in README.md");
        }
        if line.starts_with(&open) {
            break;
        }
    }
    let mut body = String::new();
    for line in lines {
        if line.starts_with("```") {
            return body;
        }
        body.push_str(line);
        body.push('\n');
    }
    panic!("the ```{lang} block under `{heading}` in README.md is not closed");
}

/// The `[dependencies]` block with the crate's line pointing at this checkout.
fn dependencies(block: &str) -> String {
    assert!(
        block.trim_start().starts_with("[dependencies]"),
        "the Install block should start with [dependencies]:\n{block}"
    );
    let mut found = false;
    let out: Vec<String> = block
        .lines()
        .map(|line| {
            if line.starts_with("tower-socketio ") || line.starts_with("tower-socketio=") {
                found = true;
                format!("tower-socketio = {{ path = {:?} }}", REPO)
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(
        found,
        "the Install block has no tower-socketio line:\n{block}"
    );
    out.join("\n") + "\n"
}

/// Writes a file only when its content changed, so that cargo's fingerprints stay valid.
fn write(path: &Path, content: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(content) {
        std::fs::write(path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// One HTTP/1.1 GET on a fresh connection: the status line and the body.
async fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head.lines().next().unwrap_or_default().to_owned();
    // Content-Length bodies only (what the server sends for these small answers).
    (status, body.to_owned())
}

#[tokio::test]
async fn readme_quick_start_builds_and_runs() {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).expect("README.md");
    let deps = dependencies(&block_after(&readme, "## Install", "toml"));
    let program = block_after(&readme, "## Quick start", "rust");
    assert!(
        program.contains("fn main"),
        "the Quick start should be a whole program:\n{program}"
    );
    assert!(
        !program.lines().any(|l| l.trim_start().starts_with("# ")),
        "the Quick start should have no hidden lines (they show on a code host):\n{program}"
    );

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-quickstart");
    std::fs::create_dir_all(dir.join("src")).expect("project directory");
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"quickstart\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             # Its own workspace: it lies inside this repository's folder.\n[workspace]\n\n{deps}"
        ),
    );
    write(&dir.join("src/main.rs"), &program);
    let target = Path::new(REPO).join("target/readme-quickstart");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let build = tokio::process::Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot run cargo build");
    let out = tokio::time::timeout(BUILD_BOUND, build.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("cargo build of the Quick start took over {BUILD_BOUND:?}"))
        .expect("cargo build");
    assert!(
        out.status.success(),
        "the Quick start does not build ({}):\n{}\n--- Cargo.toml\n{deps}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let bin = target.join("debug/quickstart");
    let mut child = tokio::process::Command::new(&bin)
        .env("PORT", "0")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = stdout.next_line().await {
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                return addr.to_owned();
            }
        }
        panic!("the Quick start exited without printing `listening on http://<addr>`");
    })
    .await
    .expect("the Quick start did not print its address within 30 s");
    assert!(addr.starts_with("127.0.0.1:"), "listening on {addr}");

    let (status, body) = tokio::time::timeout(
        Duration::from_secs(10),
        get(&addr, "/socket.io/?EIO=4&transport=polling"),
    )
    .await
    .expect("the handshake did not answer within 10 s");
    assert!(status.contains(" 200 "), "handshake: {status}");
    assert!(body.starts_with("0{"), "handshake body: {body:?}");
    assert!(body.contains("\"sid\""), "handshake body: {body:?}");

    let (status, body) = tokio::time::timeout(Duration::from_secs(10), get(&addr, "/api/health"))
        .await
        .expect("/api/health did not answer within 10 s");
    assert!(status.contains(" 200 "), "/api/health: {status}");
    assert_eq!(body, "ok");

    child.kill().await.expect("kill the Quick start");
}
