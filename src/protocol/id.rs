//! Ids: Engine.IO session ids and Socket.IO socket ids have the same form.

use std::sync::Arc;

use base64::Engine as _;

/// A new id: 128 random bits, base64url without padding (22 characters).
pub(crate) fn new_id() -> Arc<str> {
    let bits: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bits)
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_22_url_safe_characters_and_differ() {
        let a = super::new_id();
        let b = super::new_id();
        assert_eq!(a.len(), 22);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }
}
