//! Concurrent writes naming one resource, over real HTTP on both stores. A
//! method acts on the resource its Request-URI names (RFC 4918 §9.6, §9.8,
//! §9.9): a MOVE, COPY, DELETE or PUT that waited behind another write acts
//! on what is at that URI when it runs, never on where the other write put
//! it. Each scenario checks that the answers and the final state are those
//! of the requests run one after the other in some order.

use std::sync::Arc;

use crate::both_stores;
use crate::caldav::{event, mkcalendar, put_ics, CAL};
use crate::harness::{Resp, TestServer};

const N: usize = 8;

async fn status(srv: &TestServer, path: &str) -> u16 {
    srv.as_user("GET", path, "alice").send().await.status
}

fn mv<'a>(srv: &'a TestServer, from: &str, to: &str) -> crate::harness::Req<'a> {
    srv.as_user("MOVE", from, "alice").header("destination", &format!("{}{to}", srv.base)).header("overwrite", "F")
}

/// The one request of `statuses` that succeeded (2xx), the others having
/// failed with `refused`.
#[track_caller]
fn one_winner(statuses: &[u16], refused: &[u16]) -> usize {
    let winners: Vec<usize> = (0..statuses.len()).filter(|i| (200..300).contains(&statuses[*i])).collect();
    assert_eq!(winners.len(), 1, "exactly one succeeds: {statuses:?}");
    assert!(statuses.iter().all(|s| (200..300).contains(s) || refused.contains(s)), "{statuses:?}");
    winners[0]
}

/// N parallel MOVEs of one event to N names: one 201, the others 404 (the
/// source is gone when they run), and exactly the winner's destination
/// exists, with the event.
async fn parallel_moves_of_one_event(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    let srv = Arc::new(srv);
    for round in 0..3 {
        let src = format!("{CAL}ev{round}.ics");
        assert_eq!(put_ics(&srv, &src, &event(&format!("u{round}"), "DTSTART:20250102T100000Z\r\n")).await.status, 201);
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let (srv, src) = (srv.clone(), src.clone());
                tokio::spawn(async move { mv(&srv, &src, &format!("{CAL}m{round}-{i}.ics")).send().await.status })
            })
            .collect();
        let statuses: Vec<u16> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
        let winner = one_winner(&statuses, &[404]);
        assert_eq!(statuses[winner], 201);
        for i in 0..N {
            let want = if i == winner { 200 } else { 404 };
            assert_eq!(status(&srv, &format!("{CAL}m{round}-{i}.ics")).await, want, "m{round}-{i}.ics, {statuses:?}");
        }
        let g = srv.as_user("GET", &format!("{CAL}m{round}-{winner}.ics"), "alice").send().await;
        assert!(g.text().contains(&format!("UID:u{round}\r\n")), "{}", g.text());
        assert_eq!(status(&srv, &src).await, 404);
    }
}

/// N parallel MOVEs of one collection: one 201, the others 404, one
/// destination holding the member.
async fn parallel_moves_of_one_collection(srv: TestServer) {
    let srv = Arc::new(srv);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/dir/", "alice").send().await.status, 201);
    assert_eq!(srv.as_user("PUT", "/files/alice/dir/f.txt", "alice").body("f").send().await.status, 201);
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let srv = srv.clone();
            tokio::spawn(async move { mv(&srv, "/files/alice/dir/", &format!("/files/alice/d{i}/")).send().await.status })
        })
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let winner = one_winner(&statuses, &[404]);
    for i in 0..N {
        let want = if i == winner { 200 } else { 404 };
        assert_eq!(status(&srv, &format!("/files/alice/d{i}/f.txt")).await, want, "d{i}, {statuses:?}");
    }
}

/// DELETE and MOVE of one event, or of one collection, in parallel: one
/// of them succeeds, the other finds nothing (404).
async fn parallel_delete_and_move(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    let srv = Arc::new(srv);
    for round in 0..4 {
        let (src, to) = (format!("{CAL}d{round}.ics"), format!("{CAL}d{round}-moved.ics"));
        assert_eq!(put_ics(&srv, &src, &event(&format!("d{round}"), "DTSTART:20250102T100000Z\r\n")).await.status, 201);
        let (a, b) = tokio::join!(srv.as_user("DELETE", &src, "alice").send(), mv(&srv, &src, &to).send());
        let moved = one_winner(&[a.status, b.status], &[404]) == 1;
        assert_eq!(status(&srv, &to).await, if moved { 200 } else { 404 }, "DELETE {}, MOVE {}", a.status, b.status);
        assert_eq!(status(&srv, &src).await, 404);

        let dir = format!("/files/alice/c{round}/");
        let dir_to = format!("/files/alice/c{round}-moved/");
        assert_eq!(srv.as_user("MKCOL", &dir, "alice").send().await.status, 201);
        assert_eq!(srv.as_user("PUT", &format!("{dir}f.txt"), "alice").body("f").send().await.status, 201);
        let (a, b) = tokio::join!(srv.as_user("DELETE", &dir, "alice").send(), mv(&srv, &dir, &dir_to).send());
        let moved = one_winner(&[a.status, b.status], &[404]) == 1;
        let want = if moved { 200 } else { 404 };
        assert_eq!(status(&srv, &format!("{dir_to}f.txt")).await, want, "DELETE {}, MOVE {}", a.status, b.status);
        assert_eq!(status(&srv, &format!("{dir}f.txt")).await, 404);
    }
}

/// A conditional PUT on an event in parallel with its MOVE: either the PUT
/// ran first (204, and the MOVE carried its bytes) or the MOVE did (the
/// PUT's `If-Match` names a resource that is gone: 412). A PUT that creates
/// the event again after the MOVE meets the moved event's UID (403
/// `no-uid-conflict` naming it).
async fn parallel_move_and_put(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    for round in 0..4 {
        let (src, to) = (format!("{CAL}p{round}.ics"), format!("{CAL}p{round}-moved.ics"));
        let uid = format!("p{round}");
        let old = event(&uid, "DTSTART:20250102T100000Z\r\n");
        let new = event(&uid, "DTSTART:20250102T100000Z\r\nSUMMARY:new\r\n");
        let etag = put_ics(&srv, &src, &old).await.header("etag").unwrap();
        let put = srv.as_user("PUT", &src, "alice").header("if-match", &etag).header("content-type", "text/calendar").body(new.clone());
        let (p, m): (Resp, Resp) = tokio::join!(put.send(), mv(&srv, &src, &to).send());
        assert_eq!(m.status, 201, "{}", m.text());
        let moved = srv.as_user("GET", &to, "alice").send().await.text();
        match p.status {
            204 => assert_eq!(moved, new),
            412 => assert_eq!(moved, old),
            other => panic!("PUT {other}: {}", p.text()),
        }
        assert_eq!(status(&srv, &src).await, 404);

        let unconditional = put_ics(&srv, &src, &new);
        let (p, m) = tokio::join!(unconditional, mv(&srv, &to, &format!("{CAL}p{round}-again.ics")).send());
        assert_eq!(m.status, 201, "{}", m.text());
        assert_eq!(p.status, 403, "{}", p.text());
        assert!(p.text().contains(&format!("/calendars/alice/work/p{round}-")), "{}", p.text());
        assert_eq!(status(&srv, &src).await, 404);
    }
}

both_stores!(
    parallel_moves_of_one_event,
    parallel_moves_of_one_collection,
    parallel_delete_and_move,
    parallel_move_and_put,
);
