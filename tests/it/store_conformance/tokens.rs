//! `ReplyTokenStore`: the reply addresses of email invitations (iMIP).

use super::*;

const T: Millis = 1_700_000_000_000;
const DAY: Millis = 86_400_000;

/// One token per (organizer, UID, attendee): drawn once, found again by
/// what it was drawn for, its expiry only moved later; refused once
/// expired; dropped with its event or when expired; gone with its owner.
pub async fn reply_tokens(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a = [1u8; 16];
    let got = store.reply_token_for(alice.id, "ev-1", "ext@example.com", a, T + 10 * DAY).await.unwrap();
    assert_eq!(got, a, "a fresh token is stored");
    // The same attendee of the same event: the same token, whatever is offered.
    let again = store.reply_token_for(alice.id, "ev-1", "ext@example.com", [2u8; 16], T + 20 * DAY).await.unwrap();
    assert_eq!(again, a);
    let rec = store.reply_token(a, T).await.unwrap().expect("known");
    assert_eq!((rec.owner, rec.uid.as_str(), rec.attendee.as_str()), (alice.id, "ev-1", "ext@example.com"));
    assert_eq!(rec.expires_at, T + 20 * DAY, "the expiry moved later");
    // An earlier expiry does not shorten it.
    store.reply_token_for(alice.id, "ev-1", "ext@example.com", [3u8; 16], T + DAY).await.unwrap();
    assert_eq!(store.reply_token(a, T).await.unwrap().unwrap().expires_at, T + 20 * DAY);
    // Another attendee, event or organizer: another token.
    let b = store.reply_token_for(alice.id, "ev-1", "other@example.com", [4u8; 16], T + 5 * DAY).await.unwrap();
    let c = store.reply_token_for(alice.id, "ev-2", "ext@example.com", [5u8; 16], T + 30 * DAY).await.unwrap();
    let d = store.reply_token_for(bob.id, "ev-1", "ext@example.com", [6u8; 16], T + 30 * DAY).await.unwrap();
    assert_eq!([b, c, d], [[4u8; 16], [5u8; 16], [6u8; 16]]);
    // Unknown, and expired.
    assert!(store.reply_token([9u8; 16], T).await.unwrap().is_none());
    assert!(store.reply_token(b, T + 6 * DAY).await.unwrap().is_none(), "expired");
    assert!(store.reply_token(b, T + 4 * DAY).await.unwrap().is_some());

    // Dropping alice's ev-1 drops its two tokens, and every expired one
    // (none other here), not her ev-2 nor bob's ev-1.
    store.drop_reply_tokens(alice.id, "ev-1", T).await.unwrap();
    assert!(store.reply_token(a, T).await.unwrap().is_none());
    assert!(store.reply_token(b, T).await.unwrap().is_none());
    assert!(store.reply_token(c, T).await.unwrap().is_some());
    assert!(store.reply_token(d, T).await.unwrap().is_some());
    // A drop at a later time removes what expired by then.
    store.drop_reply_tokens(alice.id, "none", T + 31 * DAY).await.unwrap();
    assert!(store.reply_token(c, T).await.unwrap().is_none() && store.reply_token(d, T).await.unwrap().is_none());
    // A token drawn again after a drop is a new one.
    let e = store.reply_token_for(alice.id, "ev-1", "ext@example.com", [7u8; 16], T + 10 * DAY).await.unwrap();
    assert_eq!(e, [7u8; 16]);
}

/// Concurrent callers for one (organizer, UID, attendee) all get one token.
pub async fn reply_tokens_race(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        let owner = alice.id;
        tasks.push(tokio::spawn(async move { store.reply_token_for(owner, "ev", "x@example.com", [i + 1; 16], T + DAY).await.unwrap() }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert!(got.windows(2).all(|w| w[0] == w[1]), "{got:?}");
    assert_eq!(store.reply_token(got[0], T).await.unwrap().unwrap().uid, "ev");
}
