//! The account page (issue 15) over real HTTP on both stores: a browser's
//! visit to `/`, login and sessions, app passwords used over HTTP Basic and
//! revoked (in this process and in another on the same database), the
//! shared login throttle, password change, the Apple profile, cross-site
//! posts, escaping, administrators' counts, the visio policy — and a real
//! headless Chromium going through it all ([`browser_flow`]).

mod browser_flow;
mod oidc;

use std::time::Duration;

use almanach::config::{Config, SecretString};
use almanach::directory::{self, NewUser};
use almanach::store::{PolicyScope, VisioPolicy};

use crate::db::Backend;
use crate::harness::{password, spawn_with, Resp, TestServer};

/// A browser's view of the site: the cookies it was given, sent back with
/// every request, and the headers a browser sends with a same-origin form.
pub struct Agent<'a> {
    pub srv: &'a TestServer,
    pub cookies: Vec<(String, String)>,
}

impl<'a> Agent<'a> {
    pub fn new(srv: &'a TestServer) -> Self {
        Agent {
            srv,
            cookies: Vec::new(),
        }
    }

    /// Keep the cookies a response sets (Max-Age=0 deletes).
    pub fn absorb(&mut self, r: &Resp) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let r = self
            .srv
            .req("GET", path, None)
            .header("accept", "text/html")
            .header("cookie", &self.cookie_header())
            .send()
            .await;
        self.absorb(&r);
        r
    }

    /// A form post as a browser sends it from this site's page.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let origin = self.srv.base.clone();
        self.post_with(path, fields, Some(&origin), Some("same-origin"))
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
        site: Option<&str>,
    ) -> Resp {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let mut req = self
            .srv
            .req("POST", path, None)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &self.cookie_header());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        let r = req.body(body.finish()).send().await;
        self.absorb(&r);
        r
    }

    /// Open the login form and log in; the answer to the login post.
    pub async fn login(&mut self, user: &str, pw: &str) -> Resp {
        let form = self.get("/account/").await;
        assert_eq!(form.status, 200, "{}", form.text());
        let csrf = csrf(&form.text());
        self.post(
            "/account/login",
            &[("csrf", &csrf), ("username", user), ("password", pw)],
        )
        .await
    }

    /// Log in (expecting success) and open the page; its HTML.
    pub async fn logged_in(&mut self, user: &str, pw: &str) -> String {
        let r = self.login(user, pw).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location").as_deref(), Some("/account/"));
        let page = self.get("/account/").await;
        assert_eq!(page.status, 200);
        page.text()
    }

    /// A form of the logged-in page, posted with the page's token.
    pub async fn act(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let page = self.get("/account/").await;
        let token = csrf(&page.text());
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }
}

/// The anti-forgery token of the first form of a page.
pub fn csrf(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("a form token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The app password a page shows once.
pub fn new_app_password(html: &str) -> String {
    let at = html
        .find("id=\"new-app-password\">")
        .expect("the new app password")
        + "id=\"new-app-password\">".len();
    html[at..].split('<').next().unwrap().to_string()
}

pub async fn propfind(srv: &TestServer, user: &str, pw: &str) -> u16 {
    srv.req("PROPFIND", &format!("/calendars/{user}/"), None)
        .basic(user, pw)
        .header("depth", "0")
        .send()
        .await
        .status
}

/// Create app password `name` on a logged-in agent's page; the password.
pub async fn create_app_password(agent: &mut Agent<'_>, name: &str) -> String {
    let r = agent.act("/account/app-passwords", &[("name", name)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    new_app_password(&r.text())
}

/// The id of the app password named `name` in a page's list.
fn app_password_id(html: &str, name: &str) -> String {
    let row = html
        .split("<tr data-id=\"")
        .skip(1)
        .find(|row| row.contains(&format!("<td class=\"name\">{name}</td>")))
        .expect("the row");
    row.split('"').next().unwrap().to_string()
}

#[track_caller]
fn assert_page_headers(r: &Resp) {
    let csp = r.header("content-security-policy").expect("a CSP");
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(r.header("referrer-policy").is_some());
}

/// `/` sends a browser to the account page; DAV clients get exactly what
/// they got before (the 401 challenge, the well-known redirects, answers
/// with credentials).
async fn root_sends_browsers_to_the_account_page(srv: TestServer) {
    let r = srv
        .req("GET", "/", None)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location").as_deref(), Some("/account/"));
    let r = srv
        .req("PROPFIND", "/", None)
        .header("accept", "text/html")
        .header("depth", "0")
        .send()
        .await;
    assert_eq!(r.status, 401, "PROPFIND / stays a challenge");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    assert_eq!(
        srv.req("GET", "/", None).send().await.status,
        401,
        "no HTML accepted: a DAV client"
    );
    let r = srv
        .req("GET", "/", Some("alice"))
        .header("accept", "text/html")
        .send()
        .await;
    assert_ne!(r.status, 303, "with credentials: served as before");
    assert_ne!(r.status, 401);
    let r = srv
        .req("PROPFIND", "/.well-known/caldav", None)
        .send()
        .await;
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (301, Some("/"))
    );
    assert_eq!(
        srv.req("GET", "/account", None)
            .send()
            .await
            .header("location")
            .as_deref(),
        Some("/account/")
    );
    assert_eq!(
        srv.req("GET", "/account/nothing", None).send().await.status,
        404
    );
    assert_eq!(srv.req("PUT", "/account/", None).send().await.status, 405);
}

/// The login form, a wrong password, a login: a new session cookie with
/// its flags, the page with the server address and user name; a second
/// login replaces the session (no fixation); logout ends it server-side.
async fn login_sessions_and_logout(srv: TestServer) {
    let mut a = Agent::new(&srv);
    let form = a.get("/account/").await;
    assert_eq!(form.status, 200);
    assert_page_headers(&form);
    assert!(form.text().contains("id=\"login\""));
    let set = form.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/account")
            && !set.contains("Secure"),
        "{set}"
    );

    let r = a.login("alice", "wrong").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Identifiant ou mot de passe incorrect"));
    assert!(a.cookie("almanach_session").is_none());
    assert!(!r.text().contains("wrong"), "the password is not echoed");

    let r = a.login("alice", &password("alice")).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let set: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("almanach_session="))
        .expect("a session cookie");
    assert!(
        session.contains("; HttpOnly")
            && session.contains("; SameSite=Strict")
            && session.contains("; Path=/account"),
        "{session}"
    );
    let first = a.cookie("almanach_session").unwrap();
    assert_eq!(first.len(), 64, "256 bits");
    let page = a.get("/account/").await;
    assert_page_headers(&page);
    let html = page.text();
    assert!(
        html.contains(&format!("<code id=\"server\">{}/</code>", srv.base)),
        "{html}"
    );
    assert!(html.contains("<code id=\"username\">alice</code>"));
    for client in [
        "client-ios",
        "client-davx5",
        "client-thunderbird",
        "client-outlook",
        "client-evolution",
    ] {
        assert!(html.contains(client), "{client}");
    }
    assert!(
        html.contains("src=\"data:image/svg+xml;base64,"),
        "the QR code"
    );
    assert!(!html.contains("id=\"counts\""), "not an administrator");
    assert!(!html.contains("id=\"visio\""), "no visio on this server");

    // A session cookie planted before the login is never adopted: the
    // login hands out a new one (no fixation).
    let planted = "ab".repeat(32);
    let mut victim = Agent::new(&srv);
    victim
        .cookies
        .push(("almanach_session".into(), planted.clone()));
    assert_eq!(victim.login("alice", &password("alice")).await.status, 303);
    let given = victim.cookie("almanach_session").unwrap();
    assert_ne!(given, planted);
    assert_ne!(given, first);
    let mut attacker = Agent::new(&srv);
    attacker.cookies.push(("almanach_session".into(), planted));
    assert!(
        attacker
            .get("/account/")
            .await
            .text()
            .contains("id=\"login\""),
        "the planted value logs no one in"
    );
    let second = first.clone();

    let r = a.act("/account/logout", &[]).await;
    assert_eq!(r.status, 303);
    assert!(a.cookie("almanach_session").is_none(), "cookie deleted");
    let mut replay = Agent::new(&srv);
    replay.cookies.push(("almanach_session".into(), second));
    assert!(
        replay
            .get("/account/")
            .await
            .text()
            .contains("id=\"login\""),
        "the session is ended server-side"
    );
    let r = replay
        .post("/account/app-passwords", &[("csrf", "x"), ("name", "n")])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Session terminée"));
}

/// An app password: shown once, works over HTTP Basic here and in another
/// server process on the same database, is listed with its last use, and
/// once revoked is refused on the next request by both processes. Only its
/// owner's name goes with it; a wrong secret is refused.
async fn app_passwords_work_and_revoke_everywhere(srv: TestServer) {
    let other = srv.sibling(|_| {}).await;
    let mut a = Agent::new(&srv);
    let html = a.logged_in("alice", &password("alice")).await;
    assert!(html.contains("id=\"no-app-passwords\""));
    let pw = create_app_password(&mut a, "Téléphone").await;
    let (id, secret) = pw.split_once('-').unwrap();
    assert_eq!(secret.len(), 26, "{pw}");
    assert_eq!(propfind(&srv, "alice", &pw).await, 207);
    assert_eq!(propfind(&other, "alice", &pw).await, 207, "another process");
    assert_eq!(
        propfind(&srv, "alice", &password("alice")).await,
        207,
        "the account password still works"
    );
    assert_eq!(propfind(&srv, "bob", &pw).await, 401, "not bob's");
    assert_eq!(
        propfind(&srv, "alice", &format!("{id}-{}", "a".repeat(26))).await,
        401,
        "wrong secret"
    );

    let page = a.get("/account/").await.text();
    assert!(!page.contains(&pw), "never shown again");
    let row = page
        .split("<tr data-id=")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(
        row.contains("Téléphone") && !row.contains("jamais"),
        "listed with its last use: {row}"
    );
    let stored = srv
        .store
        .app_password(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.hash.starts_with("$argon2id$") && !stored.hash.contains(secret));
    assert!(stored.last_used_at.is_some());

    let r = a.act("/account/app-passwords/revoke", &[("id", id)]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("révoqué"));
    assert_eq!(
        propfind(&srv, "alice", &pw).await,
        401,
        "refused on the next request"
    );
    assert_eq!(
        propfind(&other, "alice", &pw).await,
        401,
        "by the other process too"
    );
    assert_eq!(propfind(&srv, "alice", &password("alice")).await, 207);
    // Bob cannot revoke alice's.
    let pw2 = create_app_password(&mut a, "Portable").await;
    let id2 = pw2.split_once('-').unwrap().0.to_string();
    let mut b = Agent::new(&srv);
    b.logged_in("bob", &password("bob")).await;
    assert_eq!(
        b.act("/account/app-passwords/revoke", &[("id", &id2)])
            .await
            .status,
        404
    );
    assert_eq!(propfind(&srv, "alice", &pw2).await, 207);
    assert_eq!(
        app_password_id(&a.get("/account/").await.text(), "Portable"),
        id2
    );
}

/// Posts from another site, or without the page's token, change nothing.
async fn cross_site_posts_are_refused(srv: TestServer) {
    let mut a = Agent::new(&srv);
    a.logged_in("alice", &password("alice")).await;
    let token = csrf(&a.get("/account/").await.text());
    let fields = [("csrf", token.as_str()), ("name", "forged")];
    let path = "/account/app-passwords";
    assert_eq!(
        a.post_with(path, &fields, Some("http://evil.example"), None)
            .await
            .status,
        403
    );
    assert_eq!(
        a.post_with(path, &fields, None, Some("cross-site"))
            .await
            .status,
        403
    );
    assert_eq!(
        a.post_with(path, &fields, None, Some("same-site"))
            .await
            .status,
        403
    );
    assert_eq!(
        a.post(
            path,
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("name", "forged")
            ]
        )
        .await
        .status,
        403
    );
    assert_eq!(a.post(path, &[("name", "forged")]).await.status, 403);
    let alice = srv
        .store
        .principal_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(
        srv.store.app_passwords(alice.id).await.unwrap().is_empty(),
        "nothing created"
    );
    // The login form too: a login from another site is refused.
    let mut fresh = Agent::new(&srv);
    let form = fresh.get("/account/").await;
    let t = csrf(&form.text());
    let r = fresh
        .post_with(
            "/account/login",
            &[
                ("csrf", &t),
                ("username", "alice"),
                ("password", &password("alice")),
            ],
            Some("http://evil.example"),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(fresh.cookie("almanach_session").is_none());
    // A too large form is refused.
    let big = "x".repeat(20_000);
    assert_eq!(
        a.post(path, &[("csrf", token.as_str()), ("name", &big)])
            .await
            .status,
        413
    );
}

/// The login form's failures count in the same throttle as HTTP Basic's,
/// and the other way round.
async fn form_and_basic_share_the_throttle(backend: Backend) {
    let srv = spawn_with(backend, |c: &mut Config| {
        c.credential_cache_ttl = Duration::ZERO;
        c.max_failed_logins = 3;
        c.max_login_delay = Duration::from_millis(100);
    })
    .await;
    let mut a = Agent::new(&srv);
    assert_eq!(a.login("bob", "guess-1").await.status, 403);
    assert_eq!(a.login("bob", "guess-2").await.status, 403);
    assert_eq!(
        propfind(&srv, "bob", "guess-3").await,
        401,
        "a Basic guess counts with the form's"
    );
    let r = a.login("bob", &password("bob")).await;
    assert_eq!(
        r.status,
        429,
        "the form refuses bob from this address: {}",
        r.text()
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        propfind(&srv, "bob", &password("bob")).await,
        429,
        "so does Basic"
    );
    assert_eq!(
        a.login("alice", &password("alice")).await.status,
        303,
        "another account is not locked out"
    );
}

/// The password change: the current password is required, the new one
/// checked; app passwords survive it unless the box is ticked.
async fn password_change(srv: TestServer) {
    let mut a = Agent::new(&srv);
    a.logged_in("alice", &password("alice")).await;
    let pw = create_app_password(&mut a, "Téléphone").await;
    let new = "un nouveau mot de passe";
    assert_eq!(
        change_password(&mut a, ("wrong", new, new)).await.status,
        403
    );
    assert_eq!(
        change_password(&mut a, (&password("alice"), "short", "short"))
            .await
            .status,
        400
    );
    assert_eq!(
        change_password(&mut a, (&password("alice"), new, "something else"))
            .await
            .status,
        400
    );
    assert_eq!(
        propfind(&srv, "alice", &password("alice")).await,
        207,
        "unchanged so far"
    );
    let r = change_password(&mut a, (&password("alice"), new, new)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        propfind(&srv, "alice", &password("alice")).await,
        401,
        "the old password is refused"
    );
    assert_eq!(propfind(&srv, "alice", new).await, 207);
    assert_eq!(
        propfind(&srv, "alice", &pw).await,
        207,
        "app passwords survive"
    );
    let other = "encore un autre mot de passe";
    let fields = [
        ("current", new),
        ("new", other),
        ("confirm", other),
        ("revoke_app_passwords", "1"),
    ];
    assert_eq!(a.act("/account/password", &fields).await.status, 200);
    assert_eq!(propfind(&srv, "alice", &pw).await, 401, "revoked as asked");
    assert_eq!(
        propfind(&srv, "alice", "encore un autre mot de passe").await,
        207
    );
}

async fn change_password(a: &mut Agent<'_>, (current, new, confirm): (&str, &str, &str)) -> Resp {
    a.act(
        "/account/password",
        &[("current", current), ("new", new), ("confirm", confirm)],
    )
    .await
}

/// The Apple profile: a valid property list with a CalDAV and a CardDAV
/// account for this server and user, unique UUIDs, no password.
async fn apple_profile(srv: TestServer) {
    let mut anonymous = Agent::new(&srv);
    assert_eq!(
        anonymous.get("/account/almanach.mobileconfig").await.status,
        403
    );
    let mut a = Agent::new(&srv);
    a.logged_in("alice", &password("alice")).await;
    let r = a.get("/account/almanach.mobileconfig").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-apple-aspen-config")
    );
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    check_profile(&r.body, &srv.base, "alice");
}

/// Parse a `.mobileconfig` as a property list and check its payloads.
pub fn check_profile(bytes: &[u8], base: &str, user: &str) {
    let v = plist::Value::from_reader_xml(bytes).expect("a property list");
    let top = v.as_dictionary().expect("a dictionary");
    assert_eq!(
        top.get("PayloadType").and_then(|v| v.as_string()),
        Some("Configuration")
    );
    assert_eq!(
        top.get("PayloadVersion")
            .and_then(|v| v.as_signed_integer()),
        Some(1)
    );
    let content = top
        .get("PayloadContent")
        .and_then(|v| v.as_array())
        .expect("PayloadContent");
    let url = url::Url::parse(base).unwrap();
    let mut uuids = vec![top
        .get("PayloadUUID")
        .and_then(|v| v.as_string())
        .unwrap()
        .to_string()];
    let mut kinds = Vec::new();
    for p in content {
        let d = p.as_dictionary().unwrap();
        let kind = d.get("PayloadType").and_then(|v| v.as_string()).unwrap();
        let prefix = match kind {
            "com.apple.caldav.account" => "CalDAV",
            "com.apple.carddav.account" => "CardDAV",
            other => panic!("unexpected payload {other}"),
        };
        kinds.push(kind.to_string());
        let s = |k: &str| {
            d.get(&format!("{prefix}{k}"))
                .and_then(|v| v.as_string())
                .map(String::from)
        };
        assert_eq!(s("HostName").as_deref(), url.host_str());
        assert_eq!(s("Username").as_deref(), Some(user));
        assert_eq!(
            s("PrincipalURL"),
            Some(format!("{base}/principals/{user}/"))
        );
        assert_eq!(
            d.get(&format!("{prefix}Port"))
                .and_then(|v| v.as_signed_integer()),
            Some(i64::from(url.port_or_known_default().unwrap()))
        );
        assert_eq!(
            d.get(&format!("{prefix}UseSSL"))
                .and_then(|v| v.as_boolean()),
            Some(url.scheme() == "https")
        );
        assert!(
            d.get(&format!("{prefix}Password")).is_none(),
            "no password inside"
        );
        let uuid = d.get("PayloadUUID").and_then(|v| v.as_string()).unwrap();
        assert!(uuid::Uuid::parse_str(uuid).is_ok());
        uuids.push(uuid.to_string());
        assert!(d
            .get("PayloadIdentifier")
            .and_then(|v| v.as_string())
            .is_some());
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["com.apple.caldav.account", "com.apple.carddav.account"]
    );
    let n = uuids.len();
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), n, "unique PayloadUUIDs");
}

/// User text is escaped; administrators see counts, others do not.
async fn escaping_and_admin_counts(srv: TestServer) {
    let hostile = "<script>window.pwned=1</script>";
    for (name, admin) in [("eve", false), ("root", true)] {
        directory::add_user(
            &srv.store,
            NewUser {
                username: name.into(),
                password: format!("pw-{name}"),
                emails: vec![format!("{name}@ac-lyon.fr")],
                display_name: Some(hostile.into()),
                academie: Some("lyon".into()),
                is_admin: admin,
                given_name: None,
                family_name: None,
                title: None,
                phone: None,
            },
        )
        .await
        .unwrap();
    }
    let mut e = Agent::new(&srv);
    let html = e.logged_in("eve", "pw-eve").await;
    assert!(!html.contains(hostile), "{html}");
    assert!(html.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"));
    let r = e
        .act(
            "/account/app-passwords",
            &[("name", "<img src=x onerror=alert(1)>")],
        )
        .await;
    assert!(
        !r.text().contains("<img src=x") && r.text().contains("&lt;img src=x onerror=alert(1)&gt;")
    );
    assert!(!html.contains("id=\"counts\""));
    let mut root = Agent::new(&srv);
    let html = root.logged_in("root", "pw-root").await;
    let counts = html
        .split("id=\"counts\"")
        .nth(1)
        .expect("counts for an administrator");
    assert!(counts.contains("<td>lyon</td><td>4</td>"), "{counts}");
    assert!(counts.contains("<td>creteil</td><td>1</td>"), "{counts}");
    assert!(html.contains("id=\"storage\""));
    assert!(!counts.contains("alice"), "no other account by name");
}

/// The visio policy on the page: shown when visio is configured, set and
/// reset by the account.
async fn visio_policy_on_the_page(backend: Backend) {
    let srv = spawn_with(backend, |c: &mut Config| {
        c.bbb_url = Some("http://127.0.0.1:9/bigbluebutton/".into());
        c.bbb_secret = Some(SecretString::new("s"));
    })
    .await;
    let alice = srv
        .store
        .principal_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let mut a = Agent::new(&srv);
    let html = a.logged_in("alice", &password("alice")).await;
    assert!(html.contains("id=\"visio\"") && html.contains("<option value=\"default\" selected>"));
    assert_eq!(
        a.act("/account/visio", &[("policy", "off")]).await.status,
        200
    );
    assert_eq!(
        srv.store.visio_policies(alice.id).await.unwrap().account,
        Some(VisioPolicy::Off)
    );
    assert!(a
        .get("/account/")
        .await
        .text()
        .contains("<option value=\"off\" selected>"));
    assert_eq!(
        a.act("/account/visio", &[("policy", "keyword")])
            .await
            .status,
        200
    );
    assert_eq!(
        srv.store.visio_policies(alice.id).await.unwrap().account,
        Some(VisioPolicy::Keyword)
    );
    assert_eq!(
        a.act("/account/visio", &[("policy", "always")])
            .await
            .status,
        400
    );
    assert_eq!(
        a.act("/account/visio", &[("policy", "default")])
            .await
            .status,
        200
    );
    assert_eq!(
        srv.store.visio_policies(alice.id).await.unwrap().account,
        None
    );
    srv.store
        .set_visio_policy(
            &PolicyScope::Academie("lyon".into()),
            Some(VisioPolicy::Keyword),
        )
        .await
        .unwrap();
    assert!(a
        .get("/account/")
        .await
        .text()
        .contains("Par défaut (une salle seulement quand"));
}

/// A session ends after its idle timeout.
async fn idle_sessions_end(backend: Backend) {
    let srv = spawn_with(backend, |c: &mut Config| {
        c.session_idle_timeout = Duration::from_secs(1)
    })
    .await;
    let mut a = Agent::new(&srv);
    a.logged_in("alice", &password("alice")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        a.get("/account/").await.text().contains("id=\"login\""),
        "idle past the timeout: logged out"
    );
}

crate::both_stores!(
    root_sends_browsers_to_the_account_page,
    login_sessions_and_logout,
    app_passwords_work_and_revoke_everywhere,
    cross_site_posts_are_refused,
    password_change,
    apple_profile,
    escaping_and_admin_counts,
);

crate::each_store!(
    form_and_basic_share_the_throttle,
    visio_policy_on_the_page,
    idle_sessions_end
);
