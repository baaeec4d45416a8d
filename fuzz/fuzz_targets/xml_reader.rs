//! The XML reader of request bodies (`almanach::xml::parse`), and the
//! invariant dead properties rely on: an element that parsed is written by
//! `to_fragment` into a fragment that `parse_fragment` reads back equal.
#![no_main]

use almanach::xml::{parse, parse_fragment, Element, XmlLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(root) = parse(data, XmlLimits::default()) else { return };
    round_trip(&root);
    // A dead property is a child of `prop`: check the root's children too.
    for child in root.elements() {
        round_trip(child);
    }
});

fn round_trip(e: &Element) {
    let fragment = e.to_fragment();
    match parse_fragment(&fragment) {
        Ok(again) => assert_eq!(&again, e, "fragment {fragment:?} reads back different"),
        Err(err) => panic!("fragment {fragment:?} of a parsed element does not parse: {err}"),
    }
}
