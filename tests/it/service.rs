//! Running Almanach as a service: `almanach config check` (valid and
//! invalid configurations, secrets never printed), and backup and restore
//! while the server runs and writes (SQLite: `almanach backup`;
//! PostgreSQL: `pg_dump -Fc` / `pg_restore`, as docs/operations.md says),
//! then a server on the restored database with its objects, ETags and
//! sync tokens intact.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::db::{fresh_db, Backend, FreshDb};
use crate::harness::{password, spawn, spawn_on, TestServer};

fn almanach(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_almanach")).args(args).env_remove("ALMANACH_CONFIG").env_remove("ALMANACH_DATABASE").output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A valid configuration on a database that `almanach serve` migrated:
/// exit 0, every setting printed with the store, no secret.
async fn config_check_valid(backend: Backend) {
    let db = fresh_db(backend).await;
    let store = almanach::store::open(&db.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("almanach.toml");
    let write = |database: &str| {
        std::fs::write(
            &file,
            format!(
                "database = \"{database}\"\nlisten = \"127.0.0.1:8443\"\nmetrics_listen = \"127.0.0.1:9108\"\n\
                 smtp_url = \"smtps://agenda:mail-s3cret@smtp.example.fr\"\nimip_from = \"agenda@example.fr\"\n\
                 bbb_url = \"https://visio.example.fr/bigbluebutton/\"\nbbb_secret = \"bbb-s3cret\"\n"
            ),
        )
        .unwrap()
    };
    // A PostgreSQL URL with a password, as operators write it.
    let database = match backend {
        Backend::Sqlite => db.url.clone(),
        Backend::Postgres => db.url.replacen("postgres://postgres@", "postgres://postgres:db-s3cret@", 1),
    };
    write(&database);
    let config = file.to_str().unwrap();

    // Not migrated yet: every migration pending, applied at the start.
    let o = almanach(&["--config", config, "config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(text.contains("# migrations: 0 of ") && text.contains("pending, applied at the next start: 0001 init"), "{text}");
    store.migrate().await.unwrap();
    let o = almanach(&["--config", config, "config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    let kind = if backend == Backend::Sqlite { "SQLite" } else { "PostgreSQL" };
    assert!(text.contains(&format!("# database: {kind}, reachable")), "{text}");
    assert!(text.contains("# migrations: all ") && text.contains(" applied\n"), "{text}");
    for line in ["listen = 127.0.0.1:8443", "metrics_listen = 127.0.0.1:9108", "smtp_url = smtps://agenda:***@smtp.example.fr", "bbb_secret = *** (set)", "visio_policy = auto"] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(text.contains(&format!("database = {}", database.replace("db-s3cret", "***"))), "{text}");
    for secret in ["mail-s3cret", "bbb-s3cret", "db-s3cret"] {
        assert!(!text.contains(secret) && !err(&o).contains(secret), "{secret} printed: {text}");
    }
    // The options and environment `serve` takes apply too.
    let o = Command::new(env!("CARGO_BIN_EXE_almanach"))
        .args(["--config", config, "config", "check", "--listen", "127.0.0.1:9000"])
        .env("ALMANACH_VISIO_POLICY", "off")
        .output()
        .unwrap();
    assert!(out(&o).contains("listen = 127.0.0.1:9000") && out(&o).contains("visio_policy = off"), "{}", out(&o));
}

/// Invalid configurations: non-zero, one clear line, no secret.
#[test]
fn config_check_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("almanach.toml");
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    for (toml, expected) in [
        ("listen = \"127.0.0.1:8008\"\nlisen = 1\n".to_string(), "unknown field `lisen`"),
        ("visio_policy = \"always\"\n".to_string(), "invalid visio_policy"),
        ("smtp_url = \"smtp://agenda:mail-s3cret@relay\"\n".to_string(), "invalid smtp_url"),
        ("base_url = \"ftp://x\"\n".to_string(), "invalid base URL"),
        ("database = \"postgres://almanach:db-s3cret@127.0.0.1:1/none\"\n".to_string(), "cannot open database postgres://almanach:***@127.0.0.1:1/none"),
        ("database = \"mysql://x\"\n".to_string(), "unsupported database URL"),
    ] {
        let toml = if toml.contains("database") { toml } else { format!("database = \"{db}\"\n{toml}") };
        std::fs::write(&file, &toml).unwrap();
        let o = almanach(&["--config", file.to_str().unwrap(), "config", "check"]);
        assert_eq!(o.status.code(), Some(1), "{toml}: {}", out(&o));
        assert!(err(&o).starts_with("almanach: error: ") && err(&o).contains(expected), "{toml}: {}", err(&o));
        assert!(!err(&o).contains("s3cret") && !out(&o).contains("s3cret"), "{}", err(&o));
    }
    // A SQLite file that does not exist yet is no error, and is not made.
    std::fs::write(&file, format!("database = \"{db}\"\n")).unwrap();
    let o = almanach(&["--config", file.to_str().unwrap(), "config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("does not exist yet"), "{}", out(&o));
    assert!(!dir.path().join("a.db").exists());
}

/// Members of alice's default calendar: name → ETag.
async fn members(srv: &TestServer) -> BTreeMap<String, String> {
    let r = srv.as_user("PROPFIND", "/calendars/alice/default/", "alice").header("Depth", "1").body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#).send().await;
    assert_eq!(r.status, 207);
    let text = r.text();
    let mut out = BTreeMap::new();
    for response in text.split("<D:response>").skip(1) {
        let href = response.split("<D:href>").nth(1).unwrap().split("</D:href>").next().unwrap();
        if let Some(etag) = response.split("<D:getetag>").nth(1).map(|e| e.split("</D:getetag>").next().unwrap()) {
            out.insert(href.rsplit('/').next().unwrap().to_string(), etag.to_string());
        }
    }
    out
}

fn event(uid: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

fn sync_token(text: &str) -> String {
    text.split("<D:sync-token>").nth(1).unwrap().split("</D:sync-token>").next().unwrap().to_string()
}

async fn sync(srv: &TestServer, token: &str) -> (u16, String) {
    let body = format!(r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#);
    let r = srv.as_user("REPORT", "/calendars/alice/default/", "alice").body(body).send().await;
    (r.status, r.text())
}

/// A PostgreSQL client program of the server's version (Debian's
/// postgresql package, which scripts/test.sh installs, ships them).
fn pg_program(name: &str) -> String {
    let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql").map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    dirs.sort_by_key(|d| d.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0));
    let found = dirs.iter().rev().map(|d| d.join("bin").join(name)).find(|p| p.exists());
    found.map(|p| p.display().to_string()).unwrap_or_else(|| name.to_string())
}

/// Back up `url` to `file` (as docs/operations.md says).
fn backup(backend: Backend, url: &str, file: &std::path::Path) {
    let o = match backend {
        Backend::Sqlite => almanach(&["--database", url, "backup", file.to_str().unwrap()]),
        Backend::Postgres => Command::new(pg_program("pg_dump")).args(["--format=custom", "--no-owner", "--file", file.to_str().unwrap(), url]).output().unwrap(),
    };
    assert!(o.status.success(), "backup: {}{}", out(&o), err(&o));
}

/// A fresh database holding the backup `file`.
async fn restore(backend: Backend, file: &std::path::Path) -> FreshDb {
    let db = fresh_db(backend).await;
    match backend {
        Backend::Sqlite => {
            std::fs::copy(file, db.url.strip_prefix("sqlite://").unwrap()).unwrap();
        }
        Backend::Postgres => {
            let o = Command::new(pg_program("pg_restore")).args(["--no-owner", "--exit-on-error", "--dbname", &db.url, file.to_str().unwrap()]).output().unwrap();
            assert!(o.status.success(), "pg_restore: {}", err(&o));
        }
    }
    db
}

/// Back up while a client writes, restore into a new database, start a
/// server on it: what the backup holds is a moment of the original —
/// every object written before the backup began, each with its ETag, and
/// the original's sync tokens valid.
async fn backup_while_writing_then_restore(backend: Backend) {
    let srv = spawn(backend).await;
    for i in 0..20 {
        let r = srv.as_user("PUT", &format!("/calendars/alice/default/a{i}.ics"), "alice").body(event(&format!("a{i}"))).send().await;
        assert_eq!(r.status, 201);
    }
    let (status, text) = sync(&srv, "").await;
    assert_eq!(status, 207);
    let token = sync_token(&text);
    let before = members(&srv).await;

    // A client writing on, during the backup (bounded: 400 writes).
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (client, base, stop, written) = (srv.client.clone(), srv.base.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            for i in 0..400 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = client
                    .put(format!("{base}/calendars/alice/default/b{i}.ics"))
                    .basic_auth("alice", Some(password("alice")))
                    .body(event(&format!("b{i}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while written.load(Ordering::SeqCst) < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup");
    let url = srv.db_url.clone();
    let path = file.clone();
    tokio::task::spawn_blocking(move || backup(backend, &url, &path)).await.unwrap();
    let during = written.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let after = members(&srv).await;

    let restored = spawn_on(restore(backend, &file).await).await;
    let got = members(&restored).await;
    // Everything written before the backup, with its ETag; nothing that
    // was never written; what was written meanwhile, as written.
    for (name, etag) in &before {
        assert_eq!(got.get(name), Some(etag), "{name} restored with its ETag");
    }
    for (name, etag) in &got {
        assert_eq!(after.get(name), Some(etag), "{name}: as the original had it");
    }
    let during_backup = got.keys().filter(|n| n.starts_with('b')).count();
    assert!(during_backup >= 5, "the writes before the backup began: {during_backup}");
    assert!(during_backup <= during.max(5) + 1, "{during_backup} of {during}");
    // The original's sync token: the restored server answers it with the
    // objects written since, as restored.
    let (status, text) = sync(&restored, &token).await;
    assert_eq!(status, 207, "{text}");
    assert_eq!(text.matches("<D:response>").count(), during_backup, "{text}");
    // The restored server serves the bytes and takes writes.
    let r = restored.as_user("GET", "/calendars/alice/default/a3.ics", "alice").send().await;
    assert_eq!((r.status, r.text()), (200, event("a3")));
    let r = restored.as_user("PUT", "/calendars/alice/default/c.ics", "alice").body(event("c")).send().await;
    assert_eq!(r.status, 201);
}

crate::each_store!(config_check_valid, backup_while_writing_then_restore);
