//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `msgpack`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::msgpack(data);
    });
}
