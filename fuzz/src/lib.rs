//! The fuzz targets of tower-socketio, by name, and the replay of their committed inputs.
//!
//! Each target is a function of `tower_socketio::fuzz` (feature `fuzzing`) that runs one
//! decoder on arbitrary bytes; `src/bin/NAME.rs` hands it AFL++'s inputs. `corpus/NAME/` holds
//! the seeds, `regressions/NAME/` every input that once crashed a target: the tests below run
//! all of them through their target, so a crash found once stays fixed.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// A fuzz target: its name (a binary, a folder of seeds) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("engine_packet", tower_socketio::fuzz::engine_packet),
    ("polling_payload", tower_socketio::fuzz::polling_payload),
    ("socketio_packet", tower_socketio::fuzz::socketio_packet),
    ("json", tower_socketio::fuzz::json),
    ("msgpack", tower_socketio::fuzz::msgpack),
    ("redis_message", tower_socketio::fuzz::redis_message),
];

/// The files of `dir/name/`, sorted (none when it does not exist).
pub fn inputs(dir: &str, name: &str) -> Vec<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(dir: &str) -> usize {
        let mut n = 0;
        for (name, target) in TARGETS {
            for file in inputs(dir, name) {
                let data = std::fs::read(&file).unwrap();
                if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
                    panic!("{} panics: {panic:?}", file.display());
                }
                n += 1;
            }
        }
        n
    }

    #[test]
    fn every_seed_runs_through_its_target() {
        for (name, _) in TARGETS {
            assert!(!inputs("corpus", name).is_empty(), "no seeds for {name}");
        }
        assert!(replay("corpus") > 0);
    }

    #[test]
    fn every_regression_runs_through_its_target() {
        replay("regressions");
    }
}
