//! The account page in a real browser (Debian's headless Chromium, over
//! CDP, `crate::browser`): the server's address opens the login form, the
//! agent logs in, creates an app password and reads it from the page; the
//! password works for a PROPFIND (207); the agent revokes it with the
//! page's button and the next PROPFIND is refused (401). The profile
//! downloads with the browser's session and parses as a property list; a
//! hostile display name shows as text and never runs; a form posted from
//! another site is refused and changes nothing.

use std::time::Duration;

use almanach::directory::{self, NewUser};
use serde_json::json;

use super::{check_profile, propfind};
use crate::browser::Browser;
use crate::db::Backend;
use crate::harness::spawn;

const HOSTILE: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

/// A page on another site (`localhost` instead of `127.0.0.1`, another
/// port) whose form posts to the account page.
async fn attacker_page(target: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
                let body = format!(
                    "<!DOCTYPE html><html><body><form method=\"post\" action=\"{target}\">\
                     <input name=\"csrf\" value=\"0123456789abcdef0123456789abcdef\"><input name=\"name\" value=\"forged\">\
                     <button id=\"go\" type=\"submit\">go</button></form></body></html>"
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://localhost:{port}/")
}

async fn browser_account_flow(backend: Backend) {
    let srv = spawn(backend).await;
    directory::add_user(
        &srv.store,
        NewUser {
            username: "eve".into(),
            password: "pw-eve-browser".into(),
            emails: vec!["eve@ac-lyon.fr".into()],
            display_name: Some(HOSTILE.into()),
            academie: Some("lyon".into()),
            is_admin: false,
            given_name: None,
            family_name: None,
            title: None,
            phone: None,
        },
    )
    .await
    .unwrap();
    let base = srv.base.clone();
    let attacker = attacker_page(format!("{base}/account/app-passwords")).await;

    // Log in from the server's address, create an app password.
    let (b, password, shown, pwned) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            let mut b = Browser::launch();
            b.call("Page.navigate", json!({ "url": format!("{base}/") }));
            b.wait_for("the login form", |b| {
                b.eval("!!document.getElementById('login')") == json!(true)
            });
            assert_eq!(b.eval("location.pathname"), json!("/account/"));
            b.type_into("#username", "eve");
            b.type_into("#password", "pw-eve-browser");
            b.click("#login button[type=submit]");
            b.wait_for("the account page", |b| {
                b.eval("!!document.getElementById('create-app-password')") == json!(true)
            });
            let shown = b.eval("document.getElementById('display-name').textContent");
            let pwned = b.eval("typeof window.pwned");
            b.type_into("#app-name", "Téléphone de test");
            b.click("#create-app-password button[type=submit]");
            b.wait_for("the new app password", |b| {
                b.eval("!!document.getElementById('new-app-password')") == json!(true)
            });
            let password = b
                .eval("document.getElementById('new-app-password').textContent")
                .as_str()
                .unwrap()
                .to_string();
            (b, password, shown, pwned)
        }
    })
    .await
    .unwrap();
    assert_eq!(
        shown.as_str(),
        Some(HOSTILE),
        "the display name shown as text"
    );
    assert_eq!(pwned.as_str(), Some("undefined"), "and never run");
    assert_eq!(
        propfind(&srv, "eve", &password).await,
        207,
        "the app password read from the page works"
    );

    // Revoke it with the page's button; download the profile.
    let page = format!("{base}/account/");
    let (b, notice, profile) = tokio::task::spawn_blocking(move || {
        let mut b = b;
        b.navigate(&page);
        b.click("#app-passwords button.revoke");
        b.wait_for("the revocation", |b| b.eval("!document.getElementById('app-passwords')") == json!(true));
        let notice = b.eval("document.querySelector('.notice') && document.querySelector('.notice').textContent");
        let profile = b.eval(
            "fetch(document.getElementById('profile').href, {credentials: 'same-origin'}).then(function(r){ return r.status === 200 ? r.text() : 'status ' + r.status; })",
        );
        (b, notice, profile)
    })
    .await
    .unwrap();
    assert_eq!(notice.as_str(), Some("Mot de passe d'application révoqué."));
    assert_eq!(
        propfind(&srv, "eve", &password).await,
        401,
        "refused once revoked"
    );
    check_profile(
        profile.as_str().expect("the profile's text").as_bytes(),
        &srv.base,
        "eve",
    );

    // A form on another site posting to the account page, with the
    // browser's session cookie in the jar: refused, nothing created.
    let (title, path) = tokio::task::spawn_blocking(move || {
        let mut b = b;
        b.navigate(&attacker);
        b.click("#go");
        b.wait_for("the answer to the forged post", |b| {
            b.eval("location.pathname") == json!("/account/app-passwords")
        });
        b.wait_for("its page", |b| {
            b.eval("document.readyState") == json!("complete")
        });
        (
            b.eval("document.querySelector('h1') && document.querySelector('h1').textContent"),
            b.eval("location.pathname"),
        )
    })
    .await
    .unwrap();
    assert_eq!(path, json!("/account/app-passwords"));
    assert_eq!(title.as_str(), Some("Formulaire refusé"));
    let eve = srv
        .store
        .principal_by_username("eve")
        .await
        .unwrap()
        .unwrap();
    assert!(
        srv.store.app_passwords(eve.id).await.unwrap().is_empty(),
        "the forged post created nothing"
    );
}

crate::each_store!(browser_account_flow);
