//! GET of an address object in another vCard version (RFC 6352 §5.1.1):
//! a client that sends `Accept: text/vcard; version=4.0` for a contact
//! stored as vCard 3.0 (or the reverse) gets a faithful conversion. The
//! ETag stays the resource's: it identifies the stored state that
//! `If-Match` on a later PUT refers to; `Vary: Accept` tells caches that
//! the representation depends on the header.

use bytes::Bytes;

use crate::vcard::convert::convert;
use crate::vcard::object::parse_stored;
use crate::vcard::{parse_version, VCardVersion};

/// The version named by the `version` parameter of a stored content type
/// (`text/vcard; charset=utf-8; version=3.0`).
pub fn stored_version(content_type: &str) -> Option<VCardVersion> {
    content_type
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
        .and_then(|(_, v)| parse_version(v))
}

/// The vCard version the `Accept` header prefers, if it names one (the
/// `version` parameter of its highest-quality `text/vcard` range).
pub fn accepted_version(accept: &str) -> Option<VCardVersion> {
    let mut best: Option<(f32, VCardVersion)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !crate::vcard::is_vcard_media_type(media) {
            continue;
        }
        let (mut q, mut version) = (1.0f32, None);
        for param in parts {
            match param.split_once('=').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim())) {
                Some((k, v)) if k == "q" => q = v.parse().unwrap_or(0.0),
                Some((k, v)) if k == "version" => version = parse_version(v),
                _ => {}
            }
        }
        if let Some(v) = version {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, v));
            }
        }
    }
    best.map(|(_, v)| v)
}

/// The body to send for a stored vCard when `accept` asks for another
/// version: the converted text and its content type. None when the stored
/// bytes are what was asked for.
pub fn negotiate(accept: Option<&str>, content_type: &str, body: &Bytes) -> Option<(String, Bytes)> {
    let wanted = accepted_version(accept?)?;
    let stored = stored_version(content_type)?;
    if wanted == stored {
        return None;
    }
    let card = parse_stored(body)?;
    Some((crate::vcard::media_type(wanted), Bytes::from(convert(&card, wanted))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accept() {
        assert_eq!(accepted_version("text/vcard; version=4.0"), Some(VCardVersion::V4_0));
        assert_eq!(accepted_version("text/vcard;version=3.0;q=0.5, text/vcard;version=4.0"), Some(VCardVersion::V4_0));
        assert_eq!(accepted_version("text/vcard;version=4.0;q=0.2, text/vcard;version=3.0;q=0.9"), Some(VCardVersion::V3_0));
        assert_eq!(accepted_version("text/vcard, */*"), None);
        assert_eq!(accepted_version("text/html; version=4.0"), None);
        assert_eq!(stored_version("text/vcard; charset=utf-8; version=3.0"), Some(VCardVersion::V3_0));
    }
}
