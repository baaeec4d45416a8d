//! The HTTP edge: health, well-known redirects (RFC 6764), keep-alive and
//! graceful shutdown with in-flight requests. Both stores.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_stores;
use crate::harness::TestServer;
use crate::hostile::auth_header;

async fn health_needs_no_credentials(srv: TestServer) {
    let r = srv.req("GET", "/health", None).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok\n");
}

async fn well_known_redirects(srv: TestServer) {
    for p in ["/.well-known/caldav", "/.well-known/carddav"] {
        let r = srv.req("PROPFIND", p, None).send().await;
        assert_eq!(r.status, 301, "{p}");
        assert_eq!(r.header("location").as_deref(), Some("/"));
    }
}

/// Stop accepting on shutdown but let a request whose body is still arriving
/// complete and be stored.
async fn graceful_shutdown_finishes_in_flight_requests(mut srv: TestServer) {
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /files/alice/inflight.txt HTTP/1.1\r\nHost: x\r\n{}Content-Length: 10\r\nConnection: close\r\n\r\nhello",
        auth_header("alice")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = srv.signal_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!server.is_finished(), "the server waits for the in-flight request");
    s.write_all(b"world").await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("server stops").unwrap();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "no longer accepting");
    let stored = srv.store.collection_by_path("/files/alice/").await.unwrap().unwrap();
    let obj = srv.store.object(stored.id, "inflight.txt").await.unwrap().unwrap();
    assert_eq!(&srv.store.object_with_content(obj.id).await.unwrap().expect("stored").1[..], b"helloworld");
}

async fn keep_alive_serves_many_requests_on_one_connection(srv: TestServer) {
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let one = format!("OPTIONS /files/alice/ HTTP/1.1\r\nHost: x\r\n{}\r\n", auth_header("alice"));
    let mut buf = vec![0u8; 65536];
    for _ in 0..3 {
        s.write_all(one.as_bytes()).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        let resp = String::from_utf8_lossy(&buf[..n]);
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    }
}

both_stores!(
    health_needs_no_credentials,
    well_known_redirects,
    graceful_shutdown_finishes_in_flight_requests,
    keep_alive_serves_many_requests_on_one_connection,
);
