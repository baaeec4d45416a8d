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

/// `directory import`: columns in any order, bad rows reported with their
/// line numbers while the good ones land, exit status 3, idempotent re-runs
/// that never clear a password.
async fn directory_import_command(backend: Backend) {
    let db = fresh_db(backend).await;
    let url = db.url.as_str();
    assert!(almanach(url, &["academie", "add", "lyon", "--name", "Académie de Lyon"], None).status.success());
    let o = almanach(url, &["user", "add", "jdupont", "--password-stdin", "--given-name", "Jean", "--family-name", "Dupont"], Some("pw\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.csv");
    let csv = "academie,emails,username,family_name,given_name,title,phone\r\n\
               lyon,elodie.martin@ac-lyon.fr;e.martin@ac-lyon.fr,emartin,Martin,Élodie,Professeure,+33 4 72 00 00 00\r\n\
               lyon,bad-address,bad.email,X,Y,,\r\n\
               lyon,jean.dupont@ac-lyon.fr,jdupont,Dupont,Jean,CPE,\r\n\
               nowhere,,nobody,No,Body,,\r\n\
               lyon,,Bad/Name,X,Y,,\r\n\
               lyon,,emartin,Again,Twice,,\r\n\
               lyon,e.martin@ac-lyon.fr,thief,T,T,,\r\n\
               lyon,,\"too,many\",x,y,,,extra\r\n\
               lyon,,\"lmoreau\",Moreau,Léa,,\r\n";
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();
    let o = almanach(url, &["directory", "import", path], None);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "imported: 2 created, 1 updated, 0 unchanged, 6 rejected");
    let err = stderr(&o);
    for expected in [
        "line 3: invalid email address \"bad-address\"",
        "line 5: unknown académie \"nowhere\"",
        "line 6: invalid username \"Bad/Name\"",
        "line 7: username \"emartin\" already appears earlier in the file",
        "line 8: email address \"e.martin@ac-lyon.fr\" is already given to an earlier account of the batch",
        "line 9: 8 fields, the header has 7",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    assert!(err.lines().last().unwrap().starts_with("almanach: error: 6 rows rejected"), "{err}");

    let store = almanach::store::open(url).await.unwrap();
    let e = store.directory_entry("emartin").await.unwrap().unwrap();
    assert_eq!(e.emails, ["elodie.martin@ac-lyon.fr", "e.martin@ac-lyon.fr"]);
    assert_eq!(e.display_name.as_deref(), Some("Élodie Martin"));
    assert_eq!(e.phone.as_deref(), Some("+33 4 72 00 00 00"));
    let j = store.principal_by_username("jdupont").await.unwrap().unwrap();
    assert!(almanach::auth::password::verify_password("pw", j.password_hash.as_deref().unwrap()), "password kept");
    assert_eq!(store.directory_entry("jdupont").await.unwrap().unwrap().title.as_deref(), Some("CPE"));
    assert_eq!(store.principal_by_username("lmoreau").await.unwrap().unwrap().password_hash, None);

    // Re-running updates nothing and duplicates nothing.
    let o = almanach(url, &["directory", "import", path], None);
    assert_eq!(stdout(&o).trim(), "imported: 0 created, 0 updated, 3 unchanged, 6 rejected");
    assert_eq!(store.count_principals().await.unwrap(), 3);
    // A clean file exits 0; without a terminal, progress goes to stderr as lines.
    std::fs::write(&file, "username,given_name,family_name\nlmoreau,Léa,Moreau-Petit\n").unwrap();
    let o = almanach(url, &["directory", "import", path], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "imported: 0 created, 1 updated, 0 unchanged, 0 rejected");
    assert!(stderr(&o).starts_with("done: 1 rows"), "{}", stderr(&o));
    // Batches are written two at a time: rows of two batches in flight
    // claiming one new address. One row gets it, the other is reported.
    std::fs::write(&file, "username,emails\nfirst,same@ac-lyon.fr\nsecond,same@ac-lyon.fr\nthird,third@ac-lyon.fr\n").unwrap();
    let o = almanach(url, &["directory", "import", "--batch", "1", path], None);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "imported: 2 created, 0 updated, 0 unchanged, 1 rejected");
    let err = stderr(&o);
    assert!(err.contains("line 2: ") != err.contains("line 3: "), "exactly one of the two rows is rejected: {err}");
    assert!(store.directory_entry("third").await.unwrap().is_some());
    // A header naming an unknown column refuses the file.
    std::fs::write(&file, "username,nickname\nx,y\n").unwrap();
    let o = almanach(url, &["directory", "import", path], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown column \"nickname\""), "{}", stderr(&o));
}

crate::each_store!(account_commands, directory_import_command);
