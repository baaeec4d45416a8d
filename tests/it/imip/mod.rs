//! iMIP transport pieces over real sockets: `SmtpTransport` against a test
//! SMTP server, the LMTP listener against a test client.
mod config;
pub mod lmtp;
mod smtp;
pub mod smtp_server;
