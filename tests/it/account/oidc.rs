//! OpenID Connect login on the account page against a real, certified
//! OpenID Provider: panva's `oidc-provider` (npm, pinned in
//! `tests/oidc/package-lock.json`, installed by `scripts/test.sh`), run by
//! `tests/oidc/provider.mjs` on a free port with one client registered
//! (Almanach's redirect URI), PKCE required, and its development login
//! pages, which the headless browser fills in.
//!
//! The refusals: the provider never issues a token with a wrong audience,
//! an expiry in the past or another key's signature, so the harness
//! rewrites the ID token of the token endpoint's answer after the provider
//! issued it (`POST /__tamper?mode=…`: re-signed with the provider's own
//! key for `aud` and `expired`, with another key for `forged`). Almanach
//! must refuse each; and an identity with no account is refused with a
//! page that says so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use almanach::config::{OidcClaim, OidcConfig, SecretString};
use serde_json::json;

use super::Agent;
use crate::browser::Browser;
use crate::db::Backend;
use crate::harness::spawn_with;

const CLIENT_ID: &str = "almanach-test";
const CLIENT_SECRET: &str = "a-client-secret-for-tests";

/// The provider process, stopped when dropped.
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Provider {
    /// Start the provider for a relying party whose callback is `redirect`.
    pub fn start(redirect: &str) -> Provider {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
        assert!(
            std::path::Path::new(dir).join("node_modules/oidc-provider").exists(),
            "tests/oidc/node_modules is missing: scripts/test.sh installs it (npm ci in tests/oidc)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", redirect)
            .stdout(Stdio::piped())
            .stderr(if std::env::var("OIDC_DEBUG").is_ok() { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("node (scripts/test.sh installs nodejs)");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // The rest of its output is drained (a closed pipe would kill it).
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let issuer = line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("the provider did not start: {line:?}")).to_string();
        Provider { child, issuer }
    }

    /// What the token endpoint's next answers carry (see the module doc).
    pub async fn tamper(&self, mode: &str) {
        let r = reqwest::Client::new().post(format!("{}/__tamper?mode={mode}", self.issuer)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Click `selector` and wait for the next document to be loaded.
fn click_and_wait(b: &mut Browser, selector: &str) {
    b.eval("window.__almanach_before = 1");
    b.click(selector);
    b.wait_for("the next page", |b| {
        b.eval("window.__almanach_before === 1") == json!(false) && b.eval("document.readyState") == json!("complete")
    });
}

/// Click the page's OpenID Connect button, log in at the provider as
/// `login` if it asks, consent if it asks, and wait for Almanach's answer
/// (the account page, or a refusal); the `<h1>` and text shown.
fn oidc_login(b: &mut Browser, account_page: &str, login: &str) -> (String, String) {
    b.navigate(account_page);
    click_and_wait(b, "#oidc button[type=submit]");
    for _ in 0..5 {
        if b.eval("!!document.querySelector('input[name=login]')") == json!(true) {
            b.type_into("input[name=login]", login);
            b.type_into("input[name=password]", "any password");
            click_and_wait(b, "button[type=submit]");
        } else if b.eval("!!document.querySelector('input[name=prompt]')") == json!(true) {
            click_and_wait(b, "button[type=submit]");
        } else if b.eval("!!document.getElementById('continue')") == json!(true) {
            // The callback's success page moves on to the account page.
            b.wait_for("the account page", |b| {
                b.eval("location.href") == json!(account_page) && b.eval("document.readyState") == json!("complete")
            });
        } else {
            break;
        }
    }
    let h1 = b.eval("document.querySelector('h1') ? document.querySelector('h1').textContent : ''").as_str().unwrap_or("").to_string();
    let text = b.eval("document.body.innerText").as_str().unwrap_or("").to_string();
    (h1, text)
}

async fn oidc_login_and_refusals(backend: Backend) {
    let mut provider = None;
    let srv = spawn_with(backend, |c| {
        let p = Provider::start(&format!("{}/account/oidc/callback", c.base_url));
        c.oidc = Some(OidcConfig {
            issuer: p.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::new(CLIENT_SECRET),
            claim: OidcClaim::Email,
            label: "l'identité de test".into(),
        });
        provider = Some(p);
    })
    .await;
    let provider = provider.unwrap();
    let page = format!("{}/account/", srv.base);

    // Without a browser: a callback this browser did not start, a start
    // without the form's token.
    let mut a = Agent::new(&srv);
    assert_eq!(a.get("/account/oidc/callback?code=x&state=y").await.status, 403);
    assert_eq!(a.get("/account/oidc/callback").await.status, 400);
    assert_eq!(a.post("/account/oidc/start", &[("csrf", "nope")]).await.status, 403);
    let login_page = a.get("/account/").await;
    assert!(login_page.text().contains("Se connecter avec l&#39;identité de test"));
    let csp = login_page.header("content-security-policy").unwrap();
    assert!(csp.contains(&format!("form-action 'self' {}", provider.issuer)), "the redirect to the provider allowed: {csp}");
    let t = super::csrf(&login_page.text());
    let r = a.post("/account/oidc/start", &[("csrf", &t)]).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").unwrap();
    assert!(to.starts_with(&format!("{}/auth?", provider.issuer)), "{to}");
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code", "scope=openid+email"] {
        assert!(to.contains(part), "{part} in {to}");
    }

    // alice (alice@ac-lyon.fr) logs in through the provider.
    let p = page.clone();
    let (mut b, h1, text) = tokio::task::spawn_blocking(move || {
        let mut b = Browser::launch();
        let (h1, text) = oidc_login(&mut b, &p, "alice");
        (b, h1, text)
    })
    .await
    .unwrap();
    assert_eq!(h1, "Votre compte Almanach", "{text}");
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("Mots de passe d'application"), "logged in: {text}");

    // Logged out, then ID tokens a relying party must refuse.
    for (mode, what) in [("aud", "another audience"), ("expired", "an expired token"), ("forged", "another key's signature")] {
        b = tokio::task::spawn_blocking(move || {
            click_and_wait(&mut b, "#logout button");
            assert_eq!(b.eval("!!document.getElementById('login')"), json!(true), "logged out");
            b
        })
        .await
        .unwrap();
        provider.tamper(mode).await;
        let p = page.clone();
        let (back, h1, text) = tokio::task::spawn_blocking(move || {
            let (h1, text) = oidc_login(&mut b, &p, "alice");
            b.navigate(&p);
            let shown = b.eval("!!document.getElementById('login')");
            (b, h1, format!("{text} / login form shown after: {shown}"))
        })
        .await
        .unwrap();
        b = back;
        assert_eq!(h1, "Connexion refusée", "{what}: {text}");
        assert!(text.contains("jeton d'identité est invalide") && text.ends_with("true"), "{what}: {text}");
        // Log in again properly, so that the next round starts logged in.
        provider.tamper("none").await;
        let p = page.clone();
        let (back, h1) = tokio::task::spawn_blocking(move || {
            let (h1, _) = oidc_login(&mut b, &p, "alice");
            (b, h1)
        })
        .await
        .unwrap();
        b = back;
        assert_eq!(h1, "Votre compte Almanach");
    }
    drop(b);

    // An identity with no account (nobody@ac-lyon.fr), in a new browser.
    let p = page.clone();
    let (h1, text) = tokio::task::spawn_blocking(move || {
        let mut b = Browser::launch();
        oidc_login(&mut b, &p, "nobody")
    })
    .await
    .unwrap();
    assert_eq!(h1, "Connexion refusée", "{text}");
    assert!(text.contains("Aucun compte actif") && text.contains("nobody@ac-lyon.fr"), "{text}");

    // A former address (bob's before a directory import changed it) still
    // names bob for scheduling, but the provider may have given it to
    // someone else since: it logs nobody in.
    let record = almanach::store::AccountRecord {
        username: "bob".into(),
        family_name: Some("bob".into()),
        emails: vec!["bob.martin@ac-lyon.fr".into()],
        academie: Some("lyon".into()),
        ..Default::default()
    };
    srv.store.import_accounts(&[record]).await.unwrap();
    assert!(srv.store.principal_emails(srv.store.principal_by_username("bob").await.unwrap().unwrap().id).await.unwrap().iter().any(|e| e.former && e.address == "bob@ac-lyon.fr"));
    let p = page.clone();
    let (h1, text) = tokio::task::spawn_blocking(move || {
        let mut b = Browser::launch();
        oidc_login(&mut b, &p, "bob")
    })
    .await
    .unwrap();
    assert_eq!(h1, "Connexion refusée", "{text}");
    assert!(text.contains("Aucun compte actif") && text.contains("bob@ac-lyon.fr"), "{text}");
}

crate::each_store!(oidc_login_and_refusals);
