//! `VisioStore`: visio rooms of meetings and visio policies.

use super::*;

fn fresh(owner: PrincipalId, uid: &str, n: u8) -> NewRoom {
    NewRoom {
        owner,
        uid: uid.into(),
        meeting_id: format!("meeting-{uid}-{n}"),
        attendee_token: [n; 16],
        moderator_token: [n + 100; 16],
        attendee_pw: format!("ap{n}"),
        moderator_pw: format!("mp{n}"),
    }
}

fn details(title: &str) -> RoomDetails {
    RoomDetails {
        title: title.into(),
        starts_at: Some(1_800_000_000_000),
        time_zone: Some("Europe/Paris".into()),
        organizer: "Alice".into(),
        ends_at: Some(1_800_003_600_000),
        record: false,
    }
}

/// One room per (organizer, UID): drawn once, its tokens, meeting ID and
/// passwords kept by every later save (which updates what the page shows),
/// found by either token with the role it gives; closed, then opened again
/// by a save; gone with its owner.
pub async fn visio_rooms(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let room = store.room_for_event(fresh(alice.id, "ev-1", 1), &details("Rentrée")).await.unwrap();
    assert_eq!(room.fixed, fresh(alice.id, "ev-1", 1));
    assert_eq!((room.closed, room.voice_bridge), (false, None));
    assert_eq!(room.details, details("Rentrée"));

    let recorded = RoomDetails { record: true, ends_at: None, ..details("Rentrée (reportée)") };
    let again = store.room_for_event(fresh(alice.id, "ev-1", 2), &recorded).await.unwrap();
    assert_eq!((again.id, &again.fixed), (room.id, &fresh(alice.id, "ev-1", 1)), "what it was created with is kept");
    assert_eq!(again.details, recorded, "what the save says is refreshed");
    assert_eq!(store.room_of_event(alice.id, "ev-1").await.unwrap(), Some(again.clone()));
    assert_eq!(store.room_of_event(alice.id, "ev-2").await.unwrap(), None);
    assert_eq!(store.room_of_event(bob.id, "ev-1").await.unwrap(), None, "keyed by organizer too");

    let (by_attendee, role) = store.room_by_token([1; 16]).await.unwrap().unwrap();
    assert_eq!((by_attendee.id, role), (room.id, RoomRole::Attendee));
    let (_, role) = store.room_by_token([101; 16]).await.unwrap().unwrap();
    assert_eq!(role, RoomRole::Moderator);
    assert!(store.room_by_token([9; 16]).await.unwrap().is_none());

    // Bob's event of the same UID is another room.
    let other = store.room_for_event(fresh(bob.id, "ev-1", 3), &details("x")).await.unwrap();
    assert_ne!(other.id, room.id);

    let closed = store.close_room(alice.id, "ev-1").await.unwrap().unwrap();
    assert!(closed.closed);
    assert!(store.room_by_token([1; 16]).await.unwrap().unwrap().0.closed);
    assert_eq!(store.close_room(alice.id, "none").await.unwrap(), None);
    let reopened = store.room_for_event(fresh(alice.id, "ev-1", 4), &details("Rentrée")).await.unwrap();
    assert_eq!((reopened.id, reopened.closed), (room.id, false));

    store.delete_principal(alice.id).await.unwrap();
    assert!(store.room_by_token([1; 16]).await.unwrap().is_none(), "gone with its owner");
    assert!(store.room_by_token([3; 16]).await.unwrap().is_some());
}

/// Concurrent first saves of one event all get one room.
pub async fn visio_rooms_race(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        let owner = alice.id;
        tasks.push(tokio::spawn(async move { store.room_for_event(fresh(owner, "ev", i + 1), &details("t")).await.unwrap() }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        ids.push((r.id, r.fixed.meeting_id, r.fixed.attendee_token));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

/// Voice bridges: one per room, kept; unique among rooms, even for
/// concurrent callers; a closed room's, or one whose event ended before
/// the given time, goes to the next room that draws it; none when every
/// candidate is held.
pub async fn visio_voice_bridges(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let room = |uid: &'static str, n: u8, ends_at: Option<i64>| {
        let store = store.clone();
        let owner = alice.id;
        async move { store.room_for_event(fresh(owner, uid, n), &RoomDetails { ends_at, ..details(uid) }).await.unwrap() }
    };
    let a = room("a", 1, Some(2_000)).await;
    let b = room("b", 2, None).await;
    let c = room("c", 3, Some(10_000)).await;
    assert_eq!(store.assign_voice_bridge(a.id, &[11_111, 22_222], 1_000).await.unwrap(), Some(11_111));
    assert_eq!(store.assign_voice_bridge(a.id, &[33_333], 1_000).await.unwrap(), Some(11_111), "kept");
    assert_eq!(store.room_of_event(alice.id, "a").await.unwrap().unwrap().voice_bridge, Some(11_111));
    assert_eq!(store.assign_voice_bridge(b.id, &[11_111, 22_222], 1_000).await.unwrap(), Some(22_222), "a's is held");
    assert_eq!(store.assign_voice_bridge(c.id, &[11_111, 22_222], 1_000).await.unwrap(), None, "every candidate held");
    assert_eq!(store.assign_voice_bridge(i64::MAX, &[44_444], 1_000).await.unwrap(), None, "no such room");
    // A later save keeps the code (and what the save says).
    let a2 = room("a", 9, Some(2_000)).await;
    assert_eq!(a2.voice_bridge, Some(11_111));
    // a's event ended before 3,000: c takes its code; b's (unbounded) stays.
    assert_eq!(store.assign_voice_bridge(c.id, &[22_222, 11_111], 3_000).await.unwrap(), Some(11_111));
    assert_eq!(store.room_of_event(alice.id, "a").await.unwrap().unwrap().voice_bridge, None);
    // A closed room gives its code back.
    store.close_room(alice.id, "b").await.unwrap();
    let d = room("d", 4, Some(10_000)).await;
    assert_eq!(store.assign_voice_bridge(d.id, &[22_222], 0).await.unwrap(), Some(22_222));
    // Concurrent draws of one code: one room gets it.
    let mut tasks = Vec::new();
    for (i, uid) in ["e", "f", "g", "h"].into_iter().enumerate() {
        let r = room(uid, 10 + i as u8, Some(10_000)).await;
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.assign_voice_bridge(r.id, &[55_555], 0).await.unwrap() }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert_eq!(got.iter().filter(|g| **g == Some(55_555)).count(), 1, "{got:?}");
}

/// Policies per account and per académie, set, replaced and removed.
pub async fn visio_policies(store: SharedStore) {
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    let alice = store
        .create_principal(NewPrincipal { username: "alice".into(), academie: Some("lyon".into()), ..Default::default() })
        .await
        .unwrap();
    let bob = user(&store, "bob").await;
    assert_eq!(store.visio_policies(alice.id).await.unwrap(), VisioPolicies::default());
    store.set_visio_policy(&PolicyScope::Academie("lyon".into()), Some(VisioPolicy::Keyword)).await.unwrap();
    assert_eq!(store.visio_policies(alice.id).await.unwrap(), VisioPolicies { account: None, academie: Some(VisioPolicy::Keyword) });
    assert_eq!(store.visio_policies(bob.id).await.unwrap(), VisioPolicies::default(), "bob has no académie");
    store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Off)).await.unwrap();
    store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Auto)).await.unwrap();
    assert_eq!(store.visio_policies(alice.id).await.unwrap(), VisioPolicies { account: Some(VisioPolicy::Auto), academie: Some(VisioPolicy::Keyword) });
    assert_eq!(store.academie_visio_policies().await.unwrap(), vec![("lyon".to_string(), VisioPolicy::Keyword)]);
    store.set_visio_policy(&PolicyScope::Account(alice.id), None).await.unwrap();
    store.set_visio_policy(&PolicyScope::Academie("lyon".into()), None).await.unwrap();
    assert_eq!(store.visio_policies(alice.id).await.unwrap(), VisioPolicies::default());
    assert!(matches!(store.set_visio_policy(&PolicyScope::Academie("nowhere".into()), Some(VisioPolicy::Off)).await, Err(StoreError::NotFound)));
}
