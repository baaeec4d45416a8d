//! iMIP (RFC 6047): the email side of scheduling, for people outside the
//! platform. Invitations go out by email and replies come back by email;
//! this module holds the transport pieces, behind small traits, and no
//! scheduling logic (queue, store, iTIP processing are the caller's):
//!
//! - [`compose`] — an iTIP message as an RFC 5322/MIME email: a readable
//!   text, the `text/calendar` alternative (RFC 6047 §2.4) and the same
//!   calendar attached as `invite.ics`; DMARC-safe headers.
//! - [`transport`] — [`transport::MailTransport`], sending a composed
//!   message, and its SMTP implementation ([`transport::SmtpTransport`],
//!   on `lettre`), configured by one URL.
//! - [`lmtp`] — an LMTP listener (RFC 2033) the mail system hands replies
//!   to, one [`lmtp::MailHandler`] call per recipient, and
//!   [`lmtp::extract_calendar`], which finds the iCalendar object in a
//!   received message.
//! - [`token`] — the per-invitation reply addresses (`reply+TOKEN@domain`).
//!
//! Protocol code only: no SQL, no HTTP.

pub mod compose;
pub mod lmtp;
pub mod token;
pub mod transport;
