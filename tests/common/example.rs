//! The examples as they ship: built by cargo (a no-op when `cargo test` built them already) with
//! the test binary's profile, and started on a free port of 127.0.0.1.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Stdio,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use tokio::io::{AsyncBufReadExt, BufReader};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// How long building an example may take.
const BUILD_BOUND: Duration = Duration::from_secs(240);

/// The binary of example `name` built with `features`, once per test run.
pub fn binary(name: &str, features: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!("{name} {}", features.join(","));
    let built = BUILT.get_or_init(Mutex::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(bin) = built.get(&key) {
        return bin.clone();
    }
    let bin = build(name, features);
    built.insert(key, bin.clone());
    bin
}

/// The crate's features this test binary was built with. An example is built with them as well as
/// with those its test asks for, so that under `cargo test --all-features` (the test command)
/// the build is a no-op instead of a second build of the crate with another feature set. Keep
/// it in step with `[features]` in Cargo.toml.
fn features_of_this_build() -> Vec<&'static str> {
    let mut on = Vec::new();
    if cfg!(feature = "msgpack") {
        on.push("msgpack");
    }
    if cfg!(feature = "redis") {
        on.push("redis");
    }
    if cfg!(feature = "admin-ui") {
        on.push("admin-ui");
    }
    if cfg!(feature = "fuzzing") {
        on.push("fuzzing");
    }
    on
}

fn build(name: &str, asked: &[&str]) -> PathBuf {
    let mut features = features_of_this_build();
    for feature in asked {
        if !features.contains(feature) {
            features.push(feature);
        }
    }
    // target/<profile>/deps/<test>-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .and_then(std::path::Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args([
        "build",
        "--example",
        name,
        "--message-format=json-render-diagnostics",
    ])
    .current_dir(REPO)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    if profile_dir != "debug" {
        cmd.args(["--profile", &profile_dir]);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run cargo build --example {name}: {e}"));
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + BUILD_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cargo build --example") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo build --example {name} did not finish within {BUILD_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.success(),
        "cargo build --example {name} failed ({status}):\n{stderr}"
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo build --example {name} reported no executable"))
}

/// Starts example `name` (built with `features`, given `env`) on a free port of 127.0.0.1 and
/// waits until it prints a line starting with `ready` followed by its URL; returns the URL and
/// the process, killed when dropped. Its output is drained into the test's stderr.
pub async fn start(
    name: &str,
    features: &[&str],
    env: &[(&str, &str)],
    ready: &str,
) -> (String, tokio::process::Child) {
    let bin = {
        let (name, features) = (
            name.to_owned(),
            features.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        );
        tokio::task::spawn_blocking(move || {
            let features: Vec<&str> = features.iter().map(String::as_str).collect();
            binary(&name, &features)
        })
        .await
        .expect("building the example panicked")
    };
    let mut last = String::new();
    // A free port, found by binding :0; another process may take it before the example binds
    // it, hence a few attempts.
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("no free port")
            .port();
        let mut child = tokio::process::Command::new(&bin)
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .current_dir(REPO)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = child.stderr.take().unwrap();
        let tag = name.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{tag}] {line}");
            }
        });
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(url) = line.trim().strip_prefix(ready) {
                    return Some(url.to_owned());
                }
                eprintln!("[{name}] {line}");
            }
            None
        })
        .await
        .unwrap_or_else(|_| panic!("the {name} example did not print `{ready}<url>` within 30 s"));
        match found {
            Some(url) => {
                assert_eq!(url, format!("http://127.0.0.1:{port}"));
                // Keep the pipe drained: an example may log to stdout.
                let tag = name.to_owned();
                tokio::spawn(async move {
                    while let Ok(Some(line)) = stdout.next_line().await {
                        eprintln!("[{tag}] {line}");
                    }
                });
                return (url, child);
            }
            None => last = format!("{:?}", child.wait().await),
        }
    }
    panic!("the {name} example exited before listening, three times (last: {last})");
}
