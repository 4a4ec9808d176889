//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `engine_packet`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::engine_packet(data);
    });
}
