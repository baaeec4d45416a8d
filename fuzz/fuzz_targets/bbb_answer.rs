//! BigBlueButton's XML answers (`visio::bbb::answer`): what a BBB server,
//! or whatever answers at `bbb_url`, sends back to the join page and the
//! worker.
#![no_main]

use almanach::visio::bbb::{answer, parse_answer, BbbError};
use libfuzzer_sys::fuzz_target;

/// `map` written back as an answer: each value in CDATA (split around
/// `]]>`), so that reading it again gives the same map.
fn write(map: &std::collections::HashMap<String, String>) -> String {
    let mut out = String::from("<response>");
    for (name, value) in map {
        out.push_str(&format!("<{name}><![CDATA[{}]]></{name}>", value.replace("]]>", "]]]]><![CDATA[>")));
    }
    out.push_str("</response>");
    out
}

fuzz_target!(|data: &[u8]| {
    // The client reads answers as UTF-8 (`BbbError::Malformed` otherwise).
    let Ok(xml) = std::str::from_utf8(data) else { return };
    let parsed = parse_answer(xml);
    match (&parsed, answer(xml)) {
        (Ok(map), Ok(read)) => {
            assert_eq!(map.get("returncode").map(|r| r.trim()), Some("SUCCESS"));
            assert_eq!(&read, map);
        }
        (Ok(map), Err(BbbError::Failed { .. })) => assert_eq!(map.get("returncode").map(|r| r.trim()), Some("FAILED")),
        (Ok(map), Err(BbbError::Malformed(_))) => {
            assert!(!matches!(map.get("returncode").map(|r| r.trim()), Some("SUCCESS" | "FAILED")))
        }
        (Ok(_), Err(e)) => panic!("a parsed answer read as {e:?}"),
        (Err(_), Ok(_)) => panic!("an unparsed answer read"),
        (Err(_), Err(_)) => {}
    }
    // What was read is what the elements said: written back and read
    // again, the same names and texts (element names come from the
    // input's, so they are names XML allows).
    if let Ok(map) = parsed {
        let again = parse_answer(&write(&map)).expect("a written answer reads");
        assert_eq!(again, map);
    }
});
