//! Almanach's integration tests: one binary; every scenario runs against
//! both stores (SQLite and PostgreSQL) over real HTTP.
mod db;
mod harness;
mod store_conformance;
mod webdav;
