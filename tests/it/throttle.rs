//! Login throttling over HTTP (the hardening issue, item 8: "anyone can
//! lock anyone out"): guesses are throttled per account *and* client
//! address, spraying per address, and the counts are shared by every server
//! process on the database. Both stores; client addresses come from
//! `X-Forwarded-For` (`trust_forwarded_for`). The credential cache is off,
//! so every correct password below is really verified.

use std::time::Duration;

use almanach::config::Config;

use crate::db::Backend;
use crate::harness::{password, spawn_with, Resp, TestServer};

/// The guesser's address, and two others.
const A: &str = "198.51.100.7";
const B: &str = "203.0.113.9";
const C: &str = "2001:db8:5:6::1";

/// Small limits so that the scenarios are short.
fn limits(c: &mut Config) {
    c.trust_forwarded_for = true;
    c.credential_cache_ttl = Duration::ZERO;
    c.max_failed_logins = 3;
    c.max_failed_logins_per_address = 12;
    // Delays are exercised, kept short.
    c.max_login_delay = Duration::from_millis(100);
}

async fn login(srv: &TestServer, from: &str, user: &str, pw: &str) -> Resp {
    srv.req("PROPFIND", "/", None).basic(user, pw).header("depth", "0").from_address(from).send().await
}

async fn correct(srv: &TestServer, from: &str, user: &str) -> Resp {
    login(srv, from, user, &password(user)).await
}

/// A 429 a client can act on: a `Retry-After` in whole seconds (RFC 6585
/// §4, RFC 9110 §10.2.3) within the failure window.
#[track_caller]
fn assert_throttled(r: &Resp, what: &str) {
    assert_eq!(r.status, 429, "{what}");
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().expect("delay-seconds");
    assert!((1..=Config::default().failed_login_window.as_secs()).contains(&wait), "{what}: Retry-After {wait}");
}

/// Guesses at bob's password from A are throttled there and only there: his
/// correct password from another address gets in at once.
async fn guesses_do_not_lock_out_other_addresses(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    for i in 0..3 {
        assert_eq!(login(&srv, A, "bob", &format!("guess-{i}")).await.status, 401);
    }
    assert_throttled(&login(&srv, A, "bob", "guess-3").await, "a fourth guess from A");
    assert_throttled(&correct(&srv, A, "bob").await, "bob from the guessing address, for the window");
    assert_eq!(correct(&srv, B, "bob").await.status, 207, "bob from another address");
    assert_eq!(correct(&srv, C, "bob").await.status, 207, "bob from an IPv6 address");
    assert_eq!(correct(&srv, A, "alice").await.status, 207, "another account from A");
}

/// One address trying many accounts (password spraying) is throttled, for
/// the accounts that have not logged in from it; other addresses are not.
async fn spraying_is_throttled_per_address(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    assert_eq!(correct(&srv, A, "alice").await.status, 207, "alice logs in from A before the spraying");
    for i in 0..12 {
        assert_eq!(login(&srv, A, &format!("ghost{i}"), "Spring2025!").await.status, 401, "spray {i}");
    }
    assert_throttled(&login(&srv, A, "ghost12", "Spring2025!").await, "spraying from A");
    assert_throttled(&correct(&srv, A, "carol").await, "an account never used from A");
    assert_eq!(correct(&srv, A, "alice").await.status, 207, "alice logged in from A recently");
    assert_eq!(correct(&srv, B, "carol").await.status, 207, "carol from another address");
    assert_eq!(login(&srv, B, "ghost12", "Spring2025!").await.status, 401, "guesses from B are judged");
}

/// Guesses at one account from many addresses (each below its own limit)
/// slow those addresses down but refuse nobody: bob's correct password gets
/// in from a clean address, and from one of the guessing ones.
async fn distributed_guessing_refuses_nobody(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    for i in 0..20 {
        let from = format!("192.0.2.{i}");
        assert_eq!(login(&srv, &from, "bob", &format!("guess-{i}")).await.status, 401, "from {from}");
    }
    assert_eq!(correct(&srv, B, "bob").await.status, 207, "from a clean address");
    assert_eq!(correct(&srv, "192.0.2.3", "bob").await.status, 207, "from a guessing address, under its limit");
}

/// Failures recorded by one server process count in another on the same
/// database.
async fn failures_are_shared_between_processes(backend: Backend) {
    let one = spawn_with(backend, limits).await;
    let two = one.sibling(limits).await;
    assert_eq!(login(&one, A, "bob", "guess-0").await.status, 401);
    assert_eq!(login(&one, A, "bob", "guess-1").await.status, 401);
    assert_eq!(login(&two, A, "bob", "guess-2").await.status, 401);
    assert_throttled(&login(&one, A, "bob", "guess-3").await, "the first process");
    assert_throttled(&login(&two, A, "bob", "guess-4").await, "the second process");
    assert_eq!(correct(&two, B, "bob").await.status, 207);
}

/// A correct password after failures from the same address clears that
/// account's failures from it, in every process.
async fn a_success_clears_the_address_failures(backend: Backend) {
    let one = spawn_with(backend, limits).await;
    let two = one.sibling(limits).await;
    assert_eq!(login(&one, A, "bob", "typo-0").await.status, 401);
    assert_eq!(login(&one, A, "bob", "typo-1").await.status, 401);
    assert_eq!(correct(&two, A, "bob").await.status, 207, "the right password, in the other process");
    for i in 2..5 {
        assert_eq!(login(&one, A, "bob", &format!("typo-{i}")).await.status, 401, "counted from zero again");
    }
    assert_throttled(&login(&one, A, "bob", "typo-5").await, "counting resumed");
}

/// A device still using an old password repeats the same wrong password:
/// it is one guess, counted once, and does not lock its owner out of the
/// new password from the same address.
async fn a_repeated_wrong_password_counts_once(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    for i in 0..8 {
        assert_eq!(login(&srv, A, "bob", "old-password").await.status, 401, "attempt {i}");
    }
    assert_eq!(correct(&srv, A, "bob").await.status, 207);
}

crate::each_store!(
    guesses_do_not_lock_out_other_addresses,
    spraying_is_throttled_per_address,
    distributed_guessing_refuses_nobody,
    failures_are_shared_between_processes,
    a_success_clears_the_address_failures,
    a_repeated_wrong_password_counts_once,
);
