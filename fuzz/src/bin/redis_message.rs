//! AFL++ target: `tower_socketio_fuzz::TARGETS` entry `redis_message`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        tower_socketio::fuzz::redis_message(data);
    });
}
