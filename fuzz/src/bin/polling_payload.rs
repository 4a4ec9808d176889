//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `polling_payload`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::polling_payload(data);
    });
}
