//! HTTP compression of polling responses: gzip or deflate, as the client's `Accept-Encoding`
//! asks, for bodies of at least the configured threshold (as the reference server's
//! `httpCompression`).
//!
//! A polling response is one buffer, known in full before it is sent: it is compressed in one
//! call, and a long-poll still waits for its packets before anything is compressed.

use std::io::Write;

use bytes::Bytes;
use flate2::{
    Compression,
    write::{GzEncoder, ZlibEncoder},
};
use http::{HeaderMap, HeaderValue, Response, header};

use super::Body;

/// A content coding the engine can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    /// HTTP's `deflate`: the zlib format (RFC 1950), as browsers and Node's zlib expect.
    Deflate,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// The coding to answer with, from the request's `Accept-Encoding` headers: the one the client
/// prefers (highest `q`, then first listed) among gzip and deflate; `*` stands for both (gzip
/// first). `None` when it accepts neither (no header, `identity` only, or `q=0`).
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
    let mut best: Option<(u16, Encoding)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| quality(v.trim()))
                })
                .next()
                .unwrap_or(1000);
            let encoding = if coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*"
            {
                Encoding::Gzip
            } else if coding.eq_ignore_ascii_case("deflate") {
                Encoding::Deflate
            } else {
                continue;
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, encoding));
            }
        }
    }
    best.map(|(_, e)| e)
}

/// A `q` value in thousandths (`0.5` → 500); malformed reads as 0 (not acceptable).
fn quality(v: &str) -> u16 {
    match v.parse::<f32>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 0,
    }
}

/// `data` compressed with `encoding` at the default level (6, zlib's and Node's default).
pub(crate) fn compress(data: &[u8], encoding: Encoding) -> std::io::Result<Vec<u8>> {
    // Text payloads of JSON compress well: a quarter of the input is a fair first guess.
    let out = Vec::with_capacity(data.len() / 4 + 64);
    match encoding {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(out, Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Encoding::Deflate => {
            let mut e = ZlibEncoder::new(out, Compression::default());
            e.write_all(data)?;
            e.finish()
        }
    }
}

/// Compresses a polling response's body when it is at least `threshold` bytes and the
/// request accepts gzip or deflate; sets `Content-Encoding` and `Vary: Accept-Encoding`.
/// Anything else (smaller, not accepted, already encoded) goes as it is.
pub(crate) fn polling_response(
    res: Response<Body>,
    request: &HeaderMap,
    threshold: usize,
) -> Response<Body> {
    let len = res.body().data().map_or(0, Bytes::len);
    if len == 0 || len < threshold || res.headers().contains_key(header::CONTENT_ENCODING) {
        return res;
    }
    let Some(encoding) = negotiate(request) else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    let data = body.data().cloned().unwrap_or_default();
    let Ok(compressed) = compress(&data, encoding) else {
        // Writing to a `Vec` does not fail; should it, the body goes uncompressed.
        return Response::from_parts(parts, body);
    };
    parts.headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.name()),
    );
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::full(Bytes::from(compressed)))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiates_as_the_client_prefers() {
        assert_eq!(negotiate(&HeaderMap::new()), None);
        assert_eq!(
            negotiate(&accept("gzip, deflate, br")),
            Some(Encoding::Gzip)
        );
        assert_eq!(negotiate(&accept("deflate, gzip")), Some(Encoding::Deflate));
        assert_eq!(
            negotiate(&accept("gzip;q=0.5, deflate;q=0.8")),
            Some(Encoding::Deflate)
        );
        assert_eq!(negotiate(&accept("br, zstd")), None);
        assert_eq!(negotiate(&accept("identity")), None);
        assert_eq!(negotiate(&accept("gzip;q=0")), None);
        assert_eq!(negotiate(&accept("gzip;q=nonsense")), None);
        assert_eq!(negotiate(&accept("*")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("GZIP")), Some(Encoding::Gzip));
    }

    #[test]
    fn compresses_only_above_the_threshold_and_when_accepted() {
        let big = Bytes::from("4".repeat(2000));
        let res = polling_response(
            Response::new(Body::full(big.clone())),
            &accept("gzip"),
            1024,
        );
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(res.headers()[header::VARY], "Accept-Encoding");
        let mut out = String::new();
        flate2::read::GzDecoder::new(&res.body().data().unwrap()[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.as_bytes(), &big[..]);

        let res = polling_response(
            Response::new(Body::full(big.clone())),
            &accept("deflate"),
            1024,
        );
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "deflate");
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&res.body().data().unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, big);

        let small = Bytes::from("4".repeat(1023));
        let res = polling_response(Response::new(Body::full(small)), &accept("gzip"), 1024);
        assert!(!res.headers().contains_key(header::CONTENT_ENCODING));
        let res = polling_response(Response::new(Body::full(big)), &HeaderMap::new(), 1024);
        assert!(!res.headers().contains_key(header::CONTENT_ENCODING));
    }
}
