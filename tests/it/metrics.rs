//! `GET /metrics` on the metrics listener after some traffic, both stores:
//! the named series with plausible values; the public listener does not
//! serve it. (The counters are process-wide and other tests run in this
//! process: counts are checked as at least what this test did.)

use std::time::Duration;

use almanach::store::{NewJob, WriteCondition};

use crate::db::Backend;
use crate::harness::{spawn_with, TestServer};

/// The sum of the samples of `name` whose labels include `labels`; None
/// when there is none.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        if metric != name || !labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))) {
            continue;
        }
        *found.get_or_insert(0.0) += value.parse::<f64>().expect("a number");
    }
    found
}

/// A metrics listener on the server's state, as `almanach serve` starts one.
async fn metrics_listener(srv: &TestServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(almanach::metrics::serve(listener, srv.state.clone(), std::future::pending()));
    format!("http://{addr}")
}

async fn metrics_after_traffic(backend: Backend) {
    let srv = spawn_with(backend, |c| {
        c.max_failed_logins = 2;
        c.max_login_delay = Duration::ZERO;
        c.credential_cache_ttl = Duration::ZERO;
    })
    .await;
    let metrics = metrics_listener(&srv).await;

    // Traffic: collections, an object, health, failed logins and a
    // throttled one.
    for _ in 0..3 {
        let r = srv.as_user("PROPFIND", "/calendars/alice/default/", "alice").header("Depth", "1").send().await;
        assert_eq!(r.status, 207);
    }
    let event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:m1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = srv.as_user("PUT", "/calendars/alice/default/m1.ics", "alice").header("Content-Type", "text/calendar").body(event).send().await;
    assert_eq!(r.status, 201);
    assert_eq!(srv.req("GET", "/health", None).send().await.status, 200);
    // (Different guesses: a repeated wrong password is not counted again.)
    for guess in ["guess-1", "guess-2"] {
        assert_eq!(srv.req("PROPFIND", "/", None).basic("bob", guess).header("Depth", "0").send().await.status, 401);
    }
    assert_eq!(srv.req("PROPFIND", "/", None).basic("bob", "guess-3").header("Depth", "0").send().await.status, 429);
    // A job due in an hour: the queue's depth is read at scrape time.
    let calendar = srv.store.collection_by_path("/calendars/alice/default/").await.unwrap().unwrap();
    let later = almanach::store::now_millis() + 3_600_000;
    let job = NewJob { topic: almanach::visio::jobs::END.into(), payload: b"{}".to_vec(), not_before: later };
    let put = crate::store_conformance::put(&calendar, "queued.txt", b"x", WriteCondition::None);
    srv.store.put_object(almanach::store::PutObject { enqueue: vec![job], ..put }).await.unwrap();

    // The public listener does not serve the metrics, with or without
    // credentials.
    for user in [None, Some("alice")] {
        let r = srv.req("GET", "/metrics", user).send().await;
        assert_eq!(r.status, 404);
        assert!(!r.text().contains("almanach_"));
    }

    let client = reqwest::Client::new();
    let r = client.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");

    let at_least = |name: &str, labels: &[(&str, &str)], min: f64| {
        let v = sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"));
        assert!(v >= min, "{name} {labels:?} = {v}, expected at least {min}");
        v
    };
    at_least("almanach_http_requests_total", &[("method", "PROPFIND"), ("route", "dav_collection"), ("status", "207")], 3.0);
    at_least("almanach_http_requests_total", &[("method", "PUT"), ("route", "dav_object"), ("status", "201")], 1.0);
    at_least("almanach_http_requests_total", &[("method", "GET"), ("route", "health"), ("status", "200")], 1.0);
    at_least("almanach_http_requests_total", &[("method", "GET"), ("route", "metrics"), ("status", "404")], 2.0);
    at_least("almanach_http_requests_total", &[("method", "PROPFIND"), ("status", "429")], 1.0);
    at_least("almanach_http_request_duration_seconds_count", &[("route", "dav_collection")], 3.0);
    at_least("almanach_http_request_duration_seconds_bucket", &[("route", "dav_object"), ("le", "+Inf")], 1.0);
    at_least("almanach_http_requests_in_flight", &[], 0.0);
    at_least("almanach_login_failures_total", &[], 2.0);
    at_least("almanach_rate_limited_total", &[], 1.0);
    let max = at_least("almanach_db_connections", &[("state", "max")], 1.0);
    let in_use = at_least("almanach_db_connections", &[("state", "in_use")], 0.0);
    let idle = at_least("almanach_db_connections", &[("state", "idle")], 0.0);
    assert!(in_use + idle <= max, "in use {in_use} + idle {idle} <= max {max}");
    assert_eq!(sample(&text, "almanach_db_waiting", &[]), Some(0.0), "nothing waits for a connection now");
    // This server's outbox: the job due later, nothing else.
    assert_eq!(sample(&text, "almanach_outbox_jobs", &[("topic", almanach::visio::jobs::END)]), Some(1.0));
    assert_eq!(sample(&text, "almanach_outbox_jobs", &[("topic", almanach::scheduling::deliver::DELIVER)]), Some(0.0));
    // Emails and BigBlueButton calls show from the start (0 until any).
    at_least("almanach_emails_total", &[("outcome", "sent")], 0.0);
    at_least("almanach_emails_total", &[("outcome", "failed")], 0.0);
    at_least("almanach_bbb_calls_total", &[("call", "create"), ("outcome", "ok")], 0.0);
    at_least("almanach_bbb_calls_total", &[("call", "isMeetingRunning"), ("outcome", "error")], 0.0);

    // Anything else on the metrics listener: 404.
    let r = client.get(format!("{metrics}/calendars/")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

crate::each_store!(metrics_after_traffic);
