//! A real server on 127.0.0.1:0 over a fresh database, and a small HTTP
//! client for tests. Every HTTP test runs once per store (see `both_stores!`).

use almanach::app::AppState;
use almanach::config::Config;
use almanach::directory::{self, NewUser};
use almanach::store::SharedStore;
use reqwest::header::HeaderMap;
use tokio::sync::oneshot;

use crate::db::{fresh_db, Backend, FreshDb};

/// Accounts every test server has: alice and bob in académie `lyon`,
/// carol in académie `creteil`. Password: `pw-NAME`.
pub const USERS: &[(&str, &str)] = &[("alice", "lyon"), ("bob", "lyon"), ("carol", "creteil")];

pub fn password(user: &str) -> String {
    format!("pw-{user}")
}

pub struct TestServer {
    pub base: String,
    pub store: SharedStore,
    /// The database's URL, to open a second store on it (another process).
    pub db_url: String,
    pub client: reqwest::Client,
    /// The server's state (to run other listeners on it, e.g. LMTP).
    pub state: std::sync::Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The database, owned by the first server on it (None for a sibling).
    _db: Option<FreshDb>,
}

pub async fn spawn(backend: Backend) -> TestServer {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestServer {
    let db = fresh_db(backend).await;
    let store = almanach::store::open(&db.url).await.expect("open store");
    store.migrate().await.expect("migrate");
    directory::add_academie(&store, "lyon", "Académie de Lyon", Some("auvergne-rhone-alpes")).await.unwrap();
    directory::add_academie(&store, "creteil", "Académie de Créteil", Some("ile-de-france")).await.unwrap();
    for (user, academie) in USERS {
        directory::add_user(
            &store,
            NewUser {
                username: user.to_string(),
                password: password(user),
                emails: vec![format!("{user}@ac-{academie}.fr")],
                display_name: Some(format!("{user} {academie}")),
                academie: Some(academie.to_string()),
                is_admin: false,
                given_name: None,
                family_name: None,
                title: None,
                phone: None,
            },
        )
        .await
        .unwrap();
    }
    serve(store, db.url.clone(), Some(db), configure).await
}

/// A server on an existing database (a restored backup), as a new server
/// process starts on it: migrations first.
pub async fn spawn_on(db: FreshDb) -> TestServer {
    let store = almanach::store::open(&db.url).await.expect("open store");
    store.migrate().await.expect("migrate");
    serve(store, db.url.clone(), Some(db), |_| {}).await
}

/// A server on `store`, as a separate process would run it.
async fn serve(store: SharedStore, db_url: String, db: Option<FreshDb>, configure: impl FnOnce(&mut Config)) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config { database: db_url.clone(), listen: addr, base_url: format!("http://{addr}"), ..Config::default() };
    // ALMANACH_TEST_BBB_URL: every server with visio rooms on (policy
    // `auto`), to check that the other suites hold with visio on.
    if let Ok(url) = std::env::var("ALMANACH_TEST_BBB_URL") {
        config.bbb_url = Some(url);
        config.bbb_secret = Some(almanach::config::SecretString::new("test-secret"));
    }
    configure(&mut config);
    let state = AppState::new(config, store.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(almanach::http::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestServer {
        base: format!("http://{addr}"),
        store,
        db_url,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        shutdown: Some(tx),
        task: Some(task),
        _db: db,
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }
}

pub struct Req<'a> {
    srv: &'a TestServer,
    builder: reqwest::RequestBuilder,
}

impl TestServer {
    /// A request as `user` (None: anonymous).
    pub fn req(&self, method: &str, path: &str, user: Option<&str>) -> Req<'_> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{}", self.base, path) };
        let mut builder = self.client.request(method, url);
        if let Some(u) = user {
            builder = builder.basic_auth(u, Some(password(u)));
        }
        Req { srv: self, builder }
    }

    pub fn as_user(&self, method: &str, path: &str, user: &str) -> Req<'_> {
        self.req(method, path, Some(user))
    }

    /// Another server process on the same database: its own store, caches
    /// and in-memory state. It must not outlive `self`, which owns the
    /// database.
    pub async fn sibling(&self, configure: impl FnOnce(&mut Config)) -> TestServer {
        let store = almanach::store::open(&self.db_url).await.expect("open store");
        serve(store, self.db_url.clone(), None, configure).await
    }

    /// Stop accepting and let in-flight requests finish; the returned handle
    /// completes when the server has stopped.
    pub fn signal_shutdown(&mut self) -> tokio::task::JoinHandle<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.take().expect("server task")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl<'a> Req<'a> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.builder = self.builder.header(name, reqwest::header::HeaderValue::from_bytes(value).unwrap());
        self
    }
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }
    /// The client address a trusted proxy reports (`X-Forwarded-For`; the
    /// server must run with `trust_forwarded_for`).
    pub fn from_address(self, ip: &str) -> Self {
        self.header("x-forwarded-for", ip)
    }
    pub fn basic(mut self, user: &str, password: &str) -> Self {
        self.builder = self.builder.basic_auth(user, Some(password));
        self
    }
    pub async fn send(self) -> Resp {
        let _ = self.srv;
        let r = self.builder.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body").to_vec();
        Resp { status, headers, body }
    }
}

/// Generate one test per store for each scenario `async fn NAME(srv: TestServer)`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::spawn($crate::db::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::spawn($crate::db::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// One test per store for each scenario `async fn NAME(backend: Backend)`
/// that starts its own server (e.g. with a special configuration).
#[macro_export]
macro_rules! each_store {
    ($($name:ident),* $(,)?) => {
        mod each_store {
            $(
                mod $name {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn sqlite() {
                        super::super::$name($crate::db::Backend::Sqlite).await
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn postgres() {
                        super::super::$name($crate::db::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// Count occurrences of `needle` in `hay`.
pub fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}
