//! The iMIP settings through the binary: bad values are clear one-line
//! configuration errors, and a password in `smtp_url` is never printed.

use std::process::{Command, Output, Stdio};

fn almanach(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_almanach"));
    cmd.args(["--database", &db]).args(args).env_remove("ALMANACH_CONFIG").stdin(Stdio::null());
    for var in ["ALMANACH_SMTP_URL", "ALMANACH_IMIP_FROM", "ALMANACH_IMIP_REPLY_DOMAIN", "ALMANACH_LMTP_LISTEN"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run almanach")
}

fn failure(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("almanach: error: "), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("hunter2"));
    err
}

#[test]
fn bad_imip_settings_are_configuration_errors() {
    let err = failure(&almanach(&["serve", "--smtp-url", "smtp://agenda:hunter2@relay.example.fr"], &[]));
    assert!(err.contains("invalid smtp_url") && err.contains("in clear"), "{err}");
    let err = failure(&almanach(&["serve"], &[("ALMANACH_SMTP_URL", "ftp://agenda:hunter2@relay.example.fr")]));
    assert!(err.contains("unknown scheme \"ftp\""), "{err}");
    let err = failure(&almanach(&["serve", "--imip-from", "Almanach <not an address>"], &[]));
    assert!(err.contains("invalid imip_from"), "{err}");
    let err = failure(&almanach(&["serve"], &[("ALMANACH_IMIP_REPLY_DOMAIN", "under_score.example.fr")]));
    assert!(err.contains("invalid imip_reply_domain"), "{err}");
    let err = failure(&almanach(&["serve", "--lmtp-listen", "127.0.0.1:25"], &[]));
    assert!(err.contains("RFC 2033"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("almanach.toml");
    std::fs::write(&file, "smtp_url = \"smtps://agenda:hunter2@relay.example.fr?tls=opportunistic\"\n").unwrap();
    let err = failure(&almanach(&["--config", file.to_str().unwrap(), "serve"], &[]));
    assert!(err.contains("invalid smtp_url") && err.contains("tls=opportunistic"), "{err}");
}

#[test]
fn help_does_not_show_the_smtp_password() {
    let o = almanach(&["serve", "--help"], &[("ALMANACH_SMTP_URL", "smtps://agenda:hunter2@relay.example.fr")]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--smtp-url") && help.contains("ALMANACH_SMTP_URL"), "{help}");
    assert!(help.contains("--lmtp-listen") && help.contains("--imip-from") && help.contains("--imip-reply-domain"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}
