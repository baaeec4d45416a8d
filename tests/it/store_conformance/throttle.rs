//! Login records for login throttling: failures counted by account and
//! address from a given time, each count stopped at a limit; a success
//! clears its account's failures from its address; old records are
//! forgotten; a second store on the database (another process) sees them
//! (`ThrottleStore`).

use almanach::store::*;

use crate::db::{fresh_db, Backend};

const A: &str = "198.51.100.7";
const B: &str = "2001:db8:5:6::/64";
const T0: Millis = 1_700_000_000_000;

/// Failures: bob from A at T0, T0+1s and T0+4s, bob from B at T0+2s,
/// carol from A at T0+3s.
async fn record_failures(store: &SharedStore) {
    let failures = [("bob", A), ("bob", A), ("bob", B), ("carol", A), ("bob", A)];
    for (i, (account, address)) in failures.into_iter().enumerate() {
        store.record_login_failure(account, address, T0 + 1000 * i as Millis).await.unwrap();
    }
}

pub async fn login_records(store: SharedStore) {
    assert_eq!(store.login_history("bob", A, 0, 10).await.unwrap(), LoginHistory::default());
    record_failures(&store).await;
    let all = store.login_history("bob", A, T0, 10).await.unwrap();
    let expected = LoginHistory {
        pair_failures: 3,
        pair_oldest: Some(T0),
        address_failures: 4,
        address_oldest: Some(T0),
        account_failures: 4,
        last_success: None,
    };
    assert_eq!(all, expected);
    let later = store.login_history("bob", A, T0 + 1000, 10).await.unwrap();
    assert_eq!(
        later,
        LoginHistory { pair_failures: 2, pair_oldest: Some(T0 + 1000), address_failures: 3, address_oldest: Some(T0 + 1000), account_failures: 3, last_success: None },
        "only failures at or after the time asked"
    );
    let capped = store.login_history("bob", A, T0, 2).await.unwrap();
    assert_eq!((capped.pair_failures, capped.address_failures, capped.account_failures), (2, 2, 2), "counts stop at the limit");
    assert_eq!(store.login_history("carol", B, T0, 10).await.unwrap().address_failures, 1);

    store.record_login_success("bob", A, T0 + 5000).await.unwrap();
    let cleared = store.login_history("bob", A, T0, 10).await.unwrap();
    assert_eq!(
        cleared,
        LoginHistory { pair_failures: 0, pair_oldest: None, address_failures: 1, address_oldest: Some(T0 + 3000), account_failures: 1, last_success: Some(T0 + 5000) },
        "bob's failures from A are gone; carol's from A and bob's from B stay"
    );
    store.record_login_success("bob", A, T0 + 6000).await.unwrap();
    assert_eq!(store.login_history("bob", A, T0, 10).await.unwrap().last_success, Some(T0 + 6000));
    assert_eq!(store.login_history("bob", B, T0, 10).await.unwrap().last_success, None, "per address");

    assert_eq!(store.forget_logins(T0 + 2500, T0 + 5500).await.unwrap(), 1, "bob's failure from B");
    assert_eq!(store.login_history("carol", A, T0, 10).await.unwrap().pair_failures, 1, "carol's, at T0+3s, stays");
    assert_eq!(store.login_history("bob", A, T0, 10).await.unwrap().last_success, Some(T0 + 6000));
    assert_eq!(store.forget_logins(T0 + 10_000, T0 + 10_000).await.unwrap(), 2);
    assert_eq!(store.login_history("bob", A, 0, 10).await.unwrap(), LoginHistory::default());
    assert_eq!(store.login_history("carol", A, 0, 10).await.unwrap(), LoginHistory::default());
}

/// Two stores on one database, as two server processes: failures and
/// successes recorded through one are seen through the other.
pub async fn two_stores_share_login_records(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    record_failures(&one).await;
    assert_eq!(two.login_history("bob", A, T0, 10).await.unwrap().pair_failures, 3);
    two.record_login_success("bob", A, T0 + 5000).await.unwrap();
    let seen = one.login_history("bob", A, T0, 10).await.unwrap();
    assert_eq!((seen.pair_failures, seen.last_success), (0, Some(T0 + 5000)));
}
