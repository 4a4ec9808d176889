//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `socketio_packet`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::socketio_packet(data);
    });
}
