//! `addressbook-query` (RFC 6352 §8.6) on one vCard: the report's XML is
//! parsed (filter §10.5, `address-data` §10.4), the vCard goes through the
//! PUT validation, then the filter runs on the parsed card, and, where the
//! query layer may decide on the index's search text alone, that decision
//! must agree with the full evaluation, and a match must hold the needles
//! the index narrows the candidates with.
//!
//! Input: the report body, a NUL byte, the vCard.
#![no_main]

use almanach::dav::collection_type::ResourceLimits;
use almanach::carddav::put::prepare;
use almanach::carddav::report::render_address_data;
use almanach::carddav::report::request::{parse_address_data, parse_filter};
use almanach::vcard::filter::{card_matches, decide_on_search_text, index_needles};
use almanach::vcard::object::parse_stored;
use almanach::xml::{parse, XmlLimits, NS_CARDDAV, NS_DAV};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == 0) else { return };
    let (xml, vcf) = (&data[..split], &data[split + 1..]);
    let Ok(root) = parse(xml, XmlLimits::default()) else { return };
    let Some(filter) = root.child(NS_CARDDAV, "filter") else { return };
    let Ok(filter) = parse_filter(filter) else { return };
    let request = match root.child(NS_DAV, "prop").and_then(|p| p.child(NS_CARDDAV, "address-data")) {
        Some(e) => match parse_address_data(e) {
            Ok(r) => Some(r),
            Err(_) => return,
        },
        None => None,
    };
    let limits = ResourceLimits { max_bytes: 1 << 20, max_items: 100_000 };
    let Ok(prepared) = prepare(limits, None, vcf) else { return };
    let card = parse_stored(vcf).expect("accepted vCards parse again");
    let full = card_matches(&card, &filter);
    let text = prepared.index.search_text.as_deref().expect("a search text");
    if let Some(decided) = decide_on_search_text(&filter, text) {
        assert_eq!(decided, full, "the search text decides {decided}, the full filter {full}");
    }
    // The query layer skips a vCard whose search text lacks the needles.
    if full {
        match index_needles(&filter) {
            None => {}
            Some((needles, true)) => assert!(needles.iter().all(|n| text.contains(n.as_str())), "needles {needles:?} exclude a match"),
            Some((needles, false)) => assert!(needles.iter().any(|n| text.contains(n.as_str())), "needles {needles:?} exclude a match"),
        }
    }
    if let Some(request) = request {
        let content = bytes::Bytes::copy_from_slice(vcf);
        let _ = render_address_data(&request, &prepared.content_type, &content);
    }
});
