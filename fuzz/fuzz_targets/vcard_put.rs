//! The PUT path of an address object resource (RFC 6352 §6.3.2):
//! validation and indexing by `carddav::put::prepare`; then what the read
//! paths do with an accepted vCard: conversion to the other version and
//! back (RFC 6352 §5.1.1), the search text.
#![no_main]

use almanach::dav::collection_type::ResourceLimits;
use almanach::carddav::put::prepare;
use almanach::vcard::convert::convert;
use almanach::vcard::object::{parse_stored, search_text, stored_version};
use almanach::vcard::VCardVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ResourceLimits { max_bytes: 1 << 20, max_items: 100_000 };
    let Ok(prepared) = prepare(limits, Some("text/vcard"), data) else { return };
    assert!(prepared.index.search_text.is_some());
    let card = parse_stored(data).expect("an accepted vCard parses on the query path");
    let other = match stored_version(&card) {
        VCardVersion::V4_0 => VCardVersion::V3_0,
        _ => VCardVersion::V4_0,
    };
    let converted = convert(&card, other);
    // What a client would store back: it must at least not panic.
    if let Some(again) = parse_stored(converted.as_bytes()) {
        let back = convert(&again, stored_version(&card));
        let _ = search_text(&again);
        let _ = parse_stored(back.as_bytes());
    }
});
