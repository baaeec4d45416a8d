//! Login throttling over HTTP (the hardening issue, item 8: "anyone can
//! lock anyone out"): guesses are throttled per account *and* client
//! address, spraying per address, and the counts are shared by every server
//! process on the database. Both stores; client addresses come from
//! `X-Forwarded-For` (`trust_forwarded_for`). The credential cache is off,
//! so every correct password below is really verified.

use std::sync::Arc;
use std::time::{Duration, Instant};

use almanach::config::Config;
use futures::future::join_all;
use sqlx::Connection;

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
    // The success also made A familiar to bob, where his failures now slow
    // him without refusing him (see below): the count is read where it is
    // kept.
    let history = one.store.login_history("bob", A, 0, 10).await.unwrap();
    assert_eq!(history.pair_failures, 3, "counting resumed from zero: the two before the success are gone");
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

/// A syncing client opens several connections at once (or multiplexes its
/// requests over HTTP/2): with the credential cache cold (a restart, or its
/// entry lapsed), its concurrent requests with the correct password are
/// verified once, and none is refused or held back because the others are
/// in flight. Default limits and waits (10 failures, up to 15 s).
async fn concurrent_correct_logins_are_neither_refused_nor_delayed(backend: Backend) {
    let srv = spawn_with(backend, |c| {
        c.trust_forwarded_for = true;
        c.credential_cache_ttl = Duration::ZERO;
    })
    .await;
    let started = Instant::now();
    let answers = join_all((0..12).map(|_| correct(&srv, A, "bob"))).await;
    let elapsed = started.elapsed();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 207), "{statuses:?}");
    // Waits double from 0.2 s with the failures seen: one of 15 s would
    // mean attempts in flight were counted as failures.
    let longest = Config::default().max_login_delay;
    assert!(elapsed < longest / 2, "12 concurrent correct logins took {elapsed:?}");
}

/// The same wrong password sent on several connections at once (a device
/// still using an old password, syncing in parallel) is one guess: verified
/// once, counted once, and its owner's new password gets in from there.
async fn concurrent_identical_wrong_passwords_count_once(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    let answers = join_all((0..8).map(|_| login(&srv, A, "bob", "old-password"))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(correct(&srv, A, "bob").await.status, 207, "one failure counted, under the limit of 3");
}

/// A shared address (a school's NAT): someone there guessing at an account
/// that logged in from it recently slows that account's attempts from there,
/// up to `max_login_delay` each, but never gets it refused; an account that
/// has not logged in from there is refused as before.
async fn guesses_from_a_familiar_address_slow_but_never_refuse(backend: Backend) {
    let max_delay = Duration::from_millis(500);
    let configure = |c: &mut Config| {
        limits(c);
        c.max_login_delay = max_delay;
    };
    let srv = spawn_with(backend, configure).await;
    assert_eq!(correct(&srv, A, "bob").await.status, 207, "the teacher logs in from the school");
    for i in 0..5 {
        assert_eq!(login(&srv, A, "bob", &format!("guess-{i}")).await.status, 401, "guess {i}, limit 3: slowed, not refused");
    }
    // Beyond the limit a burst is verified one guess at a time, each after
    // the longest wait: it cannot buy more guesses by arriving at once.
    let started = Instant::now();
    let answers = join_all((5..8).map(|i| {
        let srv = &srv;
        async move { login(srv, A, "bob", &format!("guess-{i}")).await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401]);
    assert!(started.elapsed() >= max_delay * 3, "a burst of 3 took {:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(correct(&srv, A, "bob").await.status, 207, "the teacher, from the school");
    assert!(started.elapsed() >= max_delay, "after the longest wait: {:?}", started.elapsed());
    for i in 0..3 {
        assert_eq!(login(&srv, A, "carol", &format!("guess-{i}")).await.status, 401);
    }
    assert_throttled(&correct(&srv, A, "carol").await, "an account that never logged in from A");
}

/// Concurrent guesses at many accounts from one address (spraying in one
/// burst) cannot pass the address's limit.
async fn a_burst_of_spraying_is_counted(backend: Backend) {
    let srv = spawn_with(backend, limits).await;
    let answers = join_all((0..20).map(|i| {
        let srv = &srv;
        async move { login(srv, A, &format!("ghost{i}"), "Spring2025!").await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 12, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 8, "{statuses:?}");
}

/// Holds a transaction that keeps `login_failures` from being written (as
/// a long write would on SQLite, whose server writes on one connection)
/// while reads go on, until dropped or rolled back.
enum WriteBlocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteBlocker {
    async fn hold(backend: Backend, url: &str) -> WriteBlocker {
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
                sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.expect("take the write lock");
                WriteBlocker::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                // SHARE conflicts with the ROW EXCLUSIVE of an INSERT, not
                // with the ACCESS SHARE of a SELECT.
                sqlx::query("LOCK TABLE login_failures IN SHARE MODE").execute(&mut conn).await.expect("lock the table");
                WriteBlocker::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteBlocker::Sqlite(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await.unwrap()),
            WriteBlocker::Postgres(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await.unwrap()),
        }
    }
}

/// A failure waiting for the database to record it holds back no other
/// login, not even one from the same address: nothing is locked across a
/// database call.
async fn a_failure_waiting_to_be_written_holds_back_no_login(backend: Backend) {
    let srv = Arc::new(spawn_with(backend, limits).await);
    assert_eq!(correct(&srv, A, "alice").await.status, 207, "alice is familiar with A: her next login writes nothing");
    let blocker = WriteBlocker::hold(backend, &srv.db_url).await;
    let guess = tokio::spawn({
        let srv = srv.clone();
        async move { login(&srv, A, "carol", "guess").await.status }
    });
    // Time for the guess to be verified and to wait on its write (SQLite
    // gives up after its 5 s busy timeout, PostgreSQL waits).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!guess.is_finished(), "the failure waits for the database");
    let alice = tokio::time::timeout(Duration::from_secs(3), correct(&srv, A, "alice")).await;
    assert_eq!(alice.expect("alice's login does not wait for carol's failure").status, 207);
    blocker.release().await;
    assert_eq!(guess.await.unwrap(), 401);
}

crate::each_store!(
    guesses_do_not_lock_out_other_addresses,
    spraying_is_throttled_per_address,
    distributed_guessing_refuses_nobody,
    failures_are_shared_between_processes,
    a_success_clears_the_address_failures,
    a_repeated_wrong_password_counts_once,
    concurrent_correct_logins_are_neither_refused_nor_delayed,
    concurrent_identical_wrong_passwords_count_once,
    guesses_from_a_familiar_address_slow_but_never_refuse,
    a_burst_of_spraying_is_counted,
    a_failure_waiting_to_be_written_holds_back_no_login,
);
