//! The `If` request header (RFC 4918 §10.4): parsing, evaluation and the
//! submitted lock tokens.
#![no_main]

use almanach::dav::if_header::{evaluate, parse, submitted_tokens, ResourceState, MAX_CONDITIONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parser as text (`HeaderValue::to_str`).
    let Ok(header) = std::str::from_utf8(data) else { return };
    let Ok(lists) = parse(header) else { return };
    assert!(!lists.is_empty());
    assert!(lists.iter().map(|l| l.conditions.len()).sum::<usize>() <= MAX_CONDITIONS);
    let tokens = submitted_tokens(&lists);
    let state = |_: Option<&str>| ResourceState { etag: Some("\"e1\"".into()), lock_tokens: tokens.clone() };
    let _ = evaluate(&lists, state);
    let _ = evaluate(&lists, |_| ResourceState::default());
});
