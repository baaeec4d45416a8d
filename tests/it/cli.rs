//! The `almanach` binary: account and académie commands on fresh stores,
//! first-start administrator, clear one-line errors and exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::db::{fresh_db, Backend};

fn almanach(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_almanach"))
        .args(["--database", db])
        .args(args)
        .env_remove("ALMANACH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run almanach");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn account_commands(backend: Backend) {
    let db = fresh_db(backend).await;
    let url = db.url.as_str();
    let o = almanach(url, &["academie", "add", "lyon", "--name", "Académie de Lyon", "--region", "ara"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = almanach(url, &["academie", "list"], None);
    assert!(stdout(&o).contains("lyon\tAcadémie de Lyon\tara"), "{}", stdout(&o));
    let o = almanach(
        url,
        &["user", "add", "jdupont", "--password-stdin", "--email", "j.dupont@ac-lyon.fr", "--email", "jean@ac-lyon.fr", "--display-name", "Jean Dupont", "--academie", "lyon"],
        Some("s3cret\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = almanach(url, &["user", "list"], None);
    let out = stdout(&o);
    assert!(out.contains("jdupont\tJean Dupont\tlyon\tj.dupont@ac-lyon.fr,jean@ac-lyon.fr"), "{out}");
    // Stored as an argon2id hash, never the password.
    let store = almanach::store::open(url).await.unwrap();
    let p = store.principal_by_username("jdupont").await.unwrap().unwrap();
    let hash = p.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("s3cret"));
    assert!(almanach::auth::password::verify_password("s3cret", &hash));

    // Errors: one line on stderr, non-zero exit, nothing changed.
    let o = almanach(url, &["user", "add", "jdupont", "--password-stdin"], Some("x\n"));
    assert!(!o.status.success());
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).starts_with("almanach: error: "), "{}", stderr(&o));
    let o = almanach(url, &["user", "add", "other", "--password-stdin", "--academie", "nowhere"], Some("x\n"));
    assert!(!o.status.success() && stderr(&o).contains("nowhere"), "{}", stderr(&o));
    let o = almanach(url, &["user", "add", "Bad/Name", "--password-stdin"], Some("x\n"));
    assert!(!o.status.success() && stderr(&o).contains("invalid username"), "{}", stderr(&o));

    let o = almanach(url, &["user", "passwd", "jdupont", "--password-stdin"], Some("n3w\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let hash = store.principal_by_username("jdupont").await.unwrap().unwrap().password_hash.unwrap();
    assert!(almanach::auth::password::verify_password("n3w", &hash));
    assert!(almanach(url, &["user", "disable", "jdupont"], None).status.success());
    assert!(store.principal_by_username("jdupont").await.unwrap().unwrap().disabled);
    assert!(almanach(url, &["user", "delete", "jdupont"], None).status.success());
    assert!(store.principal_by_username("jdupont").await.unwrap().is_none());
    let o = almanach(url, &["user", "delete", "jdupont"], None);
    assert!(!o.status.success() && stderr(&o).contains("no such user"), "{}", stderr(&o));
}

#[test]
fn unreachable_database_and_bad_url_fail_clearly() {
    let o = almanach("postgres://almanach:hunter2@127.0.0.1:1/none", &["user", "list"], None);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.starts_with("almanach: error: cannot open database postgres://almanach:***@127.0.0.1:1/none"), "{err}");
    assert!(!err.contains("hunter2"));
    let o = almanach("mysql://x", &["user", "list"], None);
    assert!(!o.status.success() && stderr(&o).contains("unsupported database URL"), "{}", stderr(&o));
    for args in [&["user", "frobnicate"][..], &["serve", "--listen", "not-an-address"], &["user", "add", "x"]] {
        let o = almanach("sqlite:///tmp/x.db", args, None);
        assert_eq!(o.status.code(), Some(2), "usage errors exit 2: {args:?}");
        assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
        assert!(stderr(&o).starts_with("almanach: error: "), "{}", stderr(&o));
    }
}

#[test]
fn busy_port_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let o = almanach(&db, &["serve", "--listen", &format!("127.0.0.1:{port}")], None);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains(&format!("almanach: error: cannot listen on 127.0.0.1:{port}")), "{err}");
}

/// First start on an empty store: an administrator with a random password,
/// printed once; the server answers with it; SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_admin_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sub/dir/a.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_almanach"))
        .args(["--database", &db, "serve", "--listen", &format!("127.0.0.1:{port}"), "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server came up");
    let store = almanach::store::open(&db).await.unwrap();
    let admin = store.principal_by_username("admin").await.unwrap().expect("admin created");
    assert!(admin.is_admin);
    unsafe_kill(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "graceful exit: {:?}", out.status);
    let printed = stdout(&out);
    let password = printed
        .lines()
        .find_map(|l| l.split("with password: ").nth(1))
        .unwrap_or_else(|| panic!("password printed: {printed}"))
        .trim()
        .to_string();
    assert!(almanach::auth::password::verify_password(&password, admin.password_hash.as_deref().unwrap()));
    assert!(stderr(&out).contains("\"message\":\"listening\""), "JSON logs: {}", stderr(&out));
    // A second start prints no password.
    let o = almanach(&db, &["user", "list"], None);
    assert!(stdout(&o).contains("admin"));
}

fn unsafe_kill(pid: u32, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

crate::each_store!(account_commands);
