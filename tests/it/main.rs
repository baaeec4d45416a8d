//! Almanach's integration tests: one binary; every scenario runs against
//! both stores (SQLite and PostgreSQL) over real HTTP.
mod account;
mod auth;
mod browser;
mod caldav;
mod caldav_reports;
mod carddav;
mod cli;
mod db;
mod directory;
mod harness;
mod hostile;
mod imip;
mod import;
mod limits;
mod locks;
mod metrics;
mod properties;
mod races;
mod rfc4918_examples;
mod scheduling;
mod server;
mod service;
mod store_conformance;
mod throttle;
mod visio;
mod webdav;
