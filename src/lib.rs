//! Almanach: a CalDAV/CardDAV agenda and contacts server.
//!
//! # Layout
//!
//! A request flows top to bottom (see `docs/ARCHITECTURE.md`):
//!
//! - [`http`] — the HTTP edge: connections, graceful shutdown, body limits,
//!   timeouts, per-request tracing spans, authentication, `/health`,
//!   `/.well-known/*`.
//! - [`dav`] — the WebDAV core (RFC 4918): one dispatch on the method, one
//!   file per method, typed properties, multistatus, `If` header and locks,
//!   typed errors mapped to status codes in one place; `sync-collection`.
//! - [`caldav`] — CalDAV (RFC 4791): MKCALENDAR, PUT validation and
//!   indexing, calendar properties, the calendar reports, export.
//! - [`carddav`] — CardDAV (RFC 6352): address books, PUT validation and
//!   indexing, version negotiation, the address book reports.
//! - [`ical`] — iCalendar semantics (parsing, time zones, recurrences, the
//!   §9.9 time-range rules, filters, partial retrieval, free-busy), with no
//!   HTTP, XML or SQL.
//! - [`itip`] — the iTIP logic of CalDAV scheduling (RFC 6638, RFC 5546):
//!   an organizer's or attendee's change → the messages to send and the
//!   object to store; incoming REQUEST / CANCEL / REPLY → the updated copy.
//!   Pure: no HTTP, XML, SQL, I/O or clock.
//! - [`auth`] — HTTP Basic against argon2id hashes, the credential cache,
//!   login throttling (`auth::throttle`), and [`auth::acl`], the one authorisation module.
//! - [`directory`] — principals and académies: validation and account
//!   management used by the CLI and the first start.
//! - [`store`] — the [`store::Store`] trait and its PostgreSQL and SQLite
//!   implementations. Protocol code never writes SQL; the store never sees
//!   HTTP or XML.
//! - [`xml`] — bounded, namespace-aware XML parsing and response writing.
//! - [`contentline`] — the content-line format iCalendar and vCard share
//!   (folding, the cost of a text before parsing).
//! - [`collation`] — the text-match collations of CalDAV and CardDAV
//!   (RFC 4790, RFC 5051).
//! - [`vcard`] — vCard semantics (validation, 3.0 ↔ 4.0 conversion, partial
//!   retrieval, the RFC 6352 §10.5 filter), with no HTTP, XML or SQL.
//! - [`compute`] — CPU-heavy work (parsing, filters, expansion) on a
//!   bounded pool off the async workers, cancelled with its request and
//!   held to a work budget.
//! - [`imip`] — the email side of scheduling (RFC 6047): composing
//!   invitations, sending them over SMTP, receiving replies over LMTP
//!   (RFC 2033), per-invitation reply addresses; no SQL.
//! - [`visio`] — a BigBlueButton room in every invitation: the links
//!   written into scheduled meetings, the join page (`/visio/TOKEN`), the
//!   BBB API client.
//! - [`import`] — `almanach import`: other servers' `.ics` and `.vcf`
//!   exports cut into resources, validated as PUT validates them, written
//!   in batches, never scheduled.
//! - [`metrics`] — `GET /metrics` for Prometheus on its own listener:
//!   process-wide counters with enum labels, states read when scraped.
//! - [`web`] — server-rendered pages in French: what they share (escaping,
//!   layout, security headers, CSRF, forms) and the account page
//!   (`/account/`: sessions, app passwords, how to set up each client,
//!   OpenID Connect login).
//! - [`config`], [`cli`], [`app`] — configuration, command line, shared state.

pub mod app;
pub mod auth;
pub mod caldav;
pub mod carddav;
pub mod cli;
pub mod collation;
pub mod compute;
pub mod contentline;
pub mod config;
pub mod dav;
pub mod directory;
pub mod http;
pub mod ical;
pub mod imip;
pub mod import;
pub mod itip;
pub mod jobs;
pub mod logwriter;
pub mod metrics;
pub mod scheduling;
pub mod store;
pub mod vcard;
pub mod visio;
pub mod web;
pub mod xml;
