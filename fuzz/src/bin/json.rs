//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `json`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::json(data);
    });
}
