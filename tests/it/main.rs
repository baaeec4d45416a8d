//! Almanach's integration tests: one binary, every test run against both stores.
mod db;
mod store_conformance;
