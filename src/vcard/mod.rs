//! vCard semantics (RFC 6350 vCard 4.0, RFC 2426 vCard 3.0) for CardDAV,
//! with no HTTP, XML or SQL:
//!
//! - [`object`] — parsing and validating an address object resource
//!   (RFC 6352 §5.1, §6.3.2.1), and the text the store indexes;
//! - [`convert`] — writing a vCard in the other version (RFC 6352 §5.1.1),
//!   group formats included;
//! - [`select`] — partial retrieval (`address-data` with `prop`, RFC 6352
//!   §10.4.2);
//! - [`filter`] — the `addressbook-query` filter (RFC 6352 §10.5).
//!
//! Parsing uses calcard, like [`crate::ical`]; see `docs/decisions.md`.

pub mod convert;
pub mod filter;
pub mod object;
pub mod select;

pub use calcard::vcard::{VCard, VCardVersion};

/// The media types a vCard is accepted and served as (RFC 6350 §10.1;
/// `text/x-vcard` and `text/directory` are older names clients still send).
pub fn is_vcard_media_type(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    ["text/vcard", "text/x-vcard", "text/directory"].iter().any(|m| media.eq_ignore_ascii_case(m))
}

/// A version named by a media type parameter or an `address-data`
/// `version` attribute: `3.0` or `4.0`, None for anything else.
pub fn parse_version(text: &str) -> Option<VCardVersion> {
    match text.trim().trim_matches('"') {
        "3.0" => Some(VCardVersion::V3_0),
        "4.0" => Some(VCardVersion::V4_0),
        _ => None,
    }
}

pub fn version_str(version: VCardVersion) -> &'static str {
    match version {
        VCardVersion::V4_0 => "4.0",
        VCardVersion::V3_0 => "3.0",
        VCardVersion::V2_1 => "2.1",
        VCardVersion::V2_0 => "2.0",
    }
}

/// The `Content-Type` of a vCard of `version`.
pub fn media_type(version: VCardVersion) -> String {
    format!("text/vcard; charset=utf-8; version={}", version_str(version))
}
