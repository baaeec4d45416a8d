//! Server-rendered pages in French, with no script framework: the visio
//! join page (`crate::visio::page`) and the account page ([`account`]).
//!
//! What every page shares lives here, so that each page only says what it
//! shows: HTML escaping and the page layout ([`html`]), the security
//! headers (a Content-Security-Policy with per-response nonces and
//! `frame-ancestors 'none'`, `X-Frame-Options`, `nosniff`, a referrer
//! policy, `no-store`) and the refusal of cross-site posts ([`security`]),
//! and bounded form parsing ([`form`]).

pub mod account;
pub mod form;
pub mod html;
pub mod security;
