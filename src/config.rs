//! Server configuration: command-line options override environment variables
//! (`ALMANACH_*`, handled by clap), which override the optional TOML file,
//! which overrides the defaults below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::imip::compose::{self, Mailbox};
use crate::imip::transport::{SmtpUrl, SmtpUrlError};
use crate::store::VisioPolicy;
use crate::visio::bbb::ChecksumAlgorithm;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved configuration of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where `GET /metrics` is served (`crate::metrics`): an address of
    /// its own, reached by the scraper only; None: no metrics. Never on
    /// `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `sqlite://PATH` or `postgres://…`.
    pub database: String,
    /// Public base URL (scheme, host, optional path prefix) used in absolute links.
    pub base_url: String,
    pub log_format: LogFormat,
    /// Request bodies above this size are answered 413.
    pub max_body_bytes: usize,
    /// Bytes of request bodies held in memory at once by all requests;
    /// a request whose body does not fit waits (503 after
    /// `header_timeout`).
    pub max_inflight_body_bytes: usize,
    /// Time allowed to receive a request's headers.
    pub header_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// Take the client address for login throttling from the last
    /// `X-Forwarded-For` entry (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// Largest calendar object or vCard accepted (RFC 4791 §5.2.5, RFC 6352
    /// §6.2.3 `max-resource-size`).
    pub max_resource_bytes: usize,
    /// Default per-user storage quota in bytes.
    pub default_quota_bytes: i64,
    /// `realm` of the Basic challenge.
    pub realm: String,
    /// Lifetime of a verified credential in the in-memory cache.
    pub credential_cache_ttl: Duration,
    /// Login throttling (`auth::throttle`): failed logins of one account
    /// from one client address (IPv6: its /64) within the window, from
    /// which that account is refused from that address (429) — unless it
    /// logged in from that address in the last 7 days: then its attempts
    /// there are slowed, never refused.
    pub max_failed_logins: u32,
    /// Failed logins from one client address, whatever the accounts, within
    /// the window, from which the address is refused — except for accounts
    /// that logged in from it in the last 7 days.
    pub max_failed_logins_per_address: u32,
    /// How long a failed login counts.
    pub failed_login_window: Duration,
    /// Longest wait imposed on a login attempt before its password is
    /// verified (waits double from 0.2 s with the failures seen).
    pub max_login_delay: Duration,
    /// Longest lock timeout granted (RFC 4918 §10.7 lets the server choose).
    pub max_lock_timeout: Duration,
    /// Largest `DAV:owner` a LOCK may carry, serialized (400 beyond).
    pub max_lock_owner_bytes: usize,
    /// Most unexpired locks one user may hold, lock-null resources'
    /// included (507 beyond).
    pub max_locks_per_user: usize,
    /// Most unexpired locks covering one resource, i.e. shared locks (507
    /// beyond).
    pub max_locks_per_resource: usize,
    /// Most cards one search of the national directory returns (507
    /// beyond, RFC 6352 §8.6.2).
    pub directory_max_results: usize,
    /// CPU-heavy jobs (parsing, filters, expansion, free-busy) running at
    /// once in the whole server (see `compute`).
    pub compute_threads: usize,
    /// ... and for one user.
    pub compute_per_user: usize,
    /// Work units (recurrence instances generated, objects evaluated) one
    /// job may spend; beyond, a report answers 507 with what it computed.
    pub max_instances_per_request: u64,
    /// Largest multistatus or export body a report or a calendar GET
    /// builds; beyond, the report stops with a 507 for the request URI.
    pub max_report_bytes: usize,
    /// Most content items in one calendar object or vCard: content lines,
    /// parameters and values (each costs some allocation once parsed);
    /// beyond, PUT is refused with `max-resource-size` before parsing.
    pub max_resource_items: usize,
    /// Longest text (in characters) a principal or directory search may
    /// look for; longer ones are refused (400, or 403
    /// `CARDDAV:supported-filter` for the directory).
    pub max_search_length: usize,
    /// The relay iMIP invitations are sent through (`imip::transport`);
    /// prints without its password.
    pub smtp_url: Option<SmtpUrl>,
    /// The platform's sending address for iMIP (`From`), with an optional
    /// display name (default "Almanach").
    pub imip_from: Option<Mailbox>,
    /// The domain of the per-invitation reply addresses
    /// (`reply+TOKEN@DOMAIN`, `imip::token`), lower case.
    pub imip_reply_domain: Option<String>,
    /// Where the LMTP listener receiving replies listens (`imip::lmtp`).
    pub lmtp_listen: Option<SocketAddr>,
    /// Largest message the LMTP listener accepts (552 beyond).
    pub lmtp_max_message_bytes: usize,
    /// Académies (slugs) whose agents' busy time only their own agents may
    /// ask for (RFC 6638 §5, `acl::inbox_privileges`); every other agent's
    /// is visible to the whole platform (times only, never details).
    pub freebusy_private_academies: Vec<String>,
    /// How often the job worker looks for due jobs when nothing woke it
    /// (`jobs`; not in the file: 10 s).
    pub job_poll: Duration,
    /// The first retry delay of a failed job, doubling at each attempt up
    /// to 6 hours (`jobs::backoff`; not in the file: 30 s).
    pub job_retry_base: Duration,
    /// The BigBlueButton (or Scalelite) API base visio rooms are created
    /// on, e.g. `https://visio.example.fr/bigbluebutton/` (`crate::visio`);
    /// None: no rooms.
    pub bbb_url: Option<String>,
    /// BBB's shared secret (never shown).
    pub bbb_secret: Option<SecretString>,
    /// The hash of BBB checksums.
    pub bbb_checksum: ChecksumAlgorithm,
    /// How long a BBB call may take (not in the file: 5 s).
    pub bbb_timeout: Duration,
    /// Which events get a room when neither the account nor its académie
    /// says (`almanach visio policy`).
    pub visio_policy: VisioPolicy,
    /// The word that asks for a room under the `keyword` policy (and, in
    /// LOCATION, is replaced by the link under any policy).
    pub visio_keyword: String,
    /// An account page session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// ... and this long after its login, however used.
    pub session_max_age: Duration,
    /// OpenID Connect login on the account page (`web::account::oidc`),
    /// when the issuer, the client id and its secret are set.
    pub oidc: Option<OidcConfig>,
    /// The word that asks for a room whose meetings may be recorded
    /// (`crate::visio::event::asks_recording`).
    pub visio_record_keyword: String,
    /// The phone number of the BBB server's dial-in (`dialNumber`); with
    /// it, each room gets a voice bridge and the invitation the number
    /// and code. None: no dial-in.
    pub bbb_dial_number: Option<String>,
}

/// An OpenID Connect provider the account page logs in with (ProConnect,
/// an académie's identity provider). The redirect URI registered with it
/// is `BASE_URL/account/oidc/callback`.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL; its discovery document is
    /// `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The ID token claim that names the account: `email` (matched to the
    /// accounts' email addresses), `sub` or `preferred_username` (matched
    /// to usernames).
    pub claim: OidcClaim,
    /// The name of the provider on the login button.
    pub label: String,
}

/// How an ID token names the account it logs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcClaim {
    /// `email` (with `email_verified` not false), matched to the accounts'
    /// addresses.
    Email,
    /// `sub`, matched to usernames.
    Subject,
    /// `preferred_username`, matched to usernames.
    PreferredUsername,
}

impl OidcClaim {
    /// Its name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            OidcClaim::Email => "email",
            OidcClaim::Subject => "sub",
            OidcClaim::PreferredUsername => "preferred_username",
        }
    }
}

impl std::str::FromStr for OidcClaim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "email" => Ok(OidcClaim::Email),
            "sub" => Ok(OidcClaim::Subject),
            "preferred_username" => Ok(OidcClaim::PreferredUsername),
            other => Err(format!("unknown claim {other:?} (email, sub or preferred_username)")),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8008";
pub const DEFAULT_DATABASE: &str = "sqlite://./data/almanach.db";

impl Default for Config {
    fn default() -> Self {
        let listen: SocketAddr = DEFAULT_LISTEN.parse().expect("valid default address");
        Config {
            listen,
            metrics_listen: None,
            database: DEFAULT_DATABASE.into(),
            base_url: format!("http://{listen}"),
            log_format: LogFormat::Text,
            max_body_bytes: 20 * 1024 * 1024,
            max_inflight_body_bytes: 256 * 1024 * 1024,
            header_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            trust_forwarded_for: false,
            max_resource_bytes: 10 * 1024 * 1024,
            default_quota_bytes: 1024 * 1024 * 1024,
            realm: "Almanach".into(),
            credential_cache_ttl: Duration::from_secs(300),
            directory_max_results: 50,
            max_failed_logins: 10,
            max_failed_logins_per_address: 50,
            failed_login_window: Duration::from_secs(900),
            max_login_delay: Duration::from_secs(15),
            max_lock_timeout: Duration::from_secs(3600),
            // One core is left to the async workers (accepting, routing,
            // the light requests), so they never wait for heavy work.
            compute_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).saturating_sub(1).max(1),
            compute_per_user: 2,
            max_instances_per_request: 2_000_000,
            max_report_bytes: 64 * 1024 * 1024,
            max_resource_items: 100_000,
            max_search_length: 256,
            max_lock_owner_bytes: 4096,
            max_locks_per_user: 100,
            max_locks_per_resource: 32,
            smtp_url: None,
            imip_from: None,
            imip_reply_domain: None,
            lmtp_listen: None,
            lmtp_max_message_bytes: 10 * 1024 * 1024,
            freebusy_private_academies: Vec::new(),
            job_poll: Duration::from_secs(10),
            job_retry_base: Duration::from_secs(30),
            bbb_url: None,
            bbb_secret: None,
            bbb_checksum: ChecksumAlgorithm::Sha256,
            bbb_timeout: Duration::from_secs(5),
            visio_policy: VisioPolicy::Auto,
            visio_keyword: "visio".into(),
            session_idle_timeout: Duration::from_secs(3600),
            session_max_age: Duration::from_secs(12 * 3600),
            oidc: None,
            visio_record_keyword: "visio-enregistrée".into(),
            bbb_dial_number: None,
        }
    }
}

impl Config {
    /// Every setting as the TOML file names it, with the value this
    /// configuration gives it, for `almanach config check`. Secrets never
    /// show: the database's and SMTP relay's passwords are replaced by
    /// `***`, `bbb_secret` is only said to be set.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let secs = |d: Duration| d.as_secs().to_string();
        let opt = |v: Option<String>| v.unwrap_or_else(|| "(not set)".into());
        vec![
            ("listen", self.listen.to_string()),
            ("metrics_listen", opt(self.metrics_listen.map(|a| a.to_string()))),
            ("database", redact_url(&self.database)),
            ("base_url", self.base_url.clone()),
            ("log_format", format!("{:?}", self.log_format).to_lowercase()),
            ("max_body_bytes", self.max_body_bytes.to_string()),
            ("max_inflight_body_bytes", self.max_inflight_body_bytes.to_string()),
            ("header_timeout_secs", secs(self.header_timeout)),
            ("request_timeout_secs", secs(self.request_timeout)),
            ("trust_forwarded_for", self.trust_forwarded_for.to_string()),
            ("max_resource_bytes", self.max_resource_bytes.to_string()),
            ("default_quota_bytes", self.default_quota_bytes.to_string()),
            ("realm", self.realm.clone()),
            ("credential_cache_ttl_secs", secs(self.credential_cache_ttl)),
            ("max_failed_logins", self.max_failed_logins.to_string()),
            ("max_failed_logins_per_address", self.max_failed_logins_per_address.to_string()),
            ("failed_login_window_secs", secs(self.failed_login_window)),
            ("max_login_delay_secs", secs(self.max_login_delay)),
            ("max_lock_timeout_secs", secs(self.max_lock_timeout)),
            ("max_lock_owner_bytes", self.max_lock_owner_bytes.to_string()),
            ("max_locks_per_user", self.max_locks_per_user.to_string()),
            ("max_locks_per_resource", self.max_locks_per_resource.to_string()),
            ("directory_max_results", self.directory_max_results.to_string()),
            ("compute_threads", self.compute_threads.to_string()),
            ("compute_per_user", self.compute_per_user.to_string()),
            ("max_instances_per_request", self.max_instances_per_request.to_string()),
            ("max_report_bytes", self.max_report_bytes.to_string()),
            ("max_resource_items", self.max_resource_items.to_string()),
            ("max_search_length", self.max_search_length.to_string()),
            ("smtp_url", opt(self.smtp_url.as_ref().map(|u| u.to_string()))),
            ("imip_from", opt(self.imip_from.as_ref().map(|m| m.to_string()))),
            ("imip_reply_domain", opt(self.imip_reply_domain.clone())),
            ("lmtp_listen", opt(self.lmtp_listen.map(|a| a.to_string()))),
            ("lmtp_max_message_bytes", self.lmtp_max_message_bytes.to_string()),
            ("freebusy_private_academies", format!("{:?}", self.freebusy_private_academies)),
            ("bbb_url", opt(self.bbb_url.clone())),
            ("bbb_secret", if self.bbb_secret.is_some() { "*** (set)".into() } else { "(not set)".into() }),
            ("bbb_checksum", self.bbb_checksum.as_str().into()),
            ("visio_policy", self.visio_policy.as_str().into()),
            ("visio_keyword", self.visio_keyword.clone()),
            ("visio_record_keyword", self.visio_record_keyword.clone()),
            ("bbb_dial_number", opt(self.bbb_dial_number.clone())),
            ("session_idle_timeout_secs", secs(self.session_idle_timeout)),
            ("session_max_age_secs", secs(self.session_max_age)),
            ("oidc_issuer", opt(self.oidc.as_ref().map(|o| o.issuer.clone()))),
            ("oidc_client_id", opt(self.oidc.as_ref().map(|o| o.client_id.clone()))),
            ("oidc_client_secret", if self.oidc.is_some() { "*** (set)".into() } else { "(not set)".into() }),
            ("oidc_claim", opt(self.oidc.as_ref().map(|o| o.claim.as_str().into()))),
            ("oidc_label", opt(self.oidc.as_ref().map(|o| o.label.clone()))),
        ]
    }

    /// The path prefix of the public base URL, without trailing slash ("" for none).
    pub fn base_path(&self) -> &str {
        let after_scheme = self.base_url.split_once("://").map(|(_, r)| r).unwrap_or(&self.base_url);
        match after_scheme.find('/') {
            Some(i) => after_scheme[i..].trim_end_matches('/'),
            None => "",
        }
    }
}

/// The `[server]`-less flat TOML file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    pub database: Option<String>,
    pub base_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub max_body_bytes: Option<usize>,
    pub max_inflight_body_bytes: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub trust_forwarded_for: Option<bool>,
    pub max_resource_bytes: Option<usize>,
    pub default_quota_bytes: Option<i64>,
    pub realm: Option<String>,
    pub credential_cache_ttl_secs: Option<u64>,
    pub max_failed_logins: Option<u32>,
    pub max_failed_logins_per_address: Option<u32>,
    pub failed_login_window_secs: Option<u64>,
    pub max_login_delay_secs: Option<u64>,
    pub max_lock_timeout_secs: Option<u64>,
    pub max_lock_owner_bytes: Option<usize>,
    pub max_locks_per_user: Option<usize>,
    pub max_locks_per_resource: Option<usize>,
    pub directory_max_results: Option<usize>,
    pub compute_threads: Option<usize>,
    pub compute_per_user: Option<usize>,
    pub max_instances_per_request: Option<u64>,
    pub max_report_bytes: Option<usize>,
    pub max_resource_items: Option<usize>,
    pub max_search_length: Option<usize>,
    pub smtp_url: Option<SecretString>,
    pub imip_from: Option<String>,
    pub imip_reply_domain: Option<String>,
    pub lmtp_listen: Option<SocketAddr>,
    pub lmtp_max_message_bytes: Option<usize>,
    pub freebusy_private_academies: Option<Vec<String>>,
    pub bbb_url: Option<String>,
    pub bbb_secret: Option<SecretString>,
    pub bbb_checksum: Option<String>,
    pub visio_policy: Option<String>,
    pub visio_keyword: Option<String>,
    pub session_idle_timeout_secs: Option<u64>,
    pub session_max_age_secs: Option<u64>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<SecretString>,
    pub oidc_claim: Option<String>,
    pub oidc_label: Option<String>,
    pub visio_record_keyword: Option<String>,
    pub bbb_dial_number: Option<String>,
}

/// The OpenID Connect settings as given, from the file and then the
/// command line; [`OidcSettings::resolve`] checks them.
#[derive(Debug, Default, Clone)]
pub struct OidcSettings {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub claim: Option<String>,
    pub label: Option<String>,
}

impl OidcSettings {
    /// Override these settings with those set in `other`.
    pub fn merge(&mut self, other: OidcSettings) {
        if other.issuer.is_some() { self.issuer = other.issuer }
        if other.client_id.is_some() { self.client_id = other.client_id }
        if other.client_secret.is_some() { self.client_secret = other.client_secret }
        if other.claim.is_some() { self.claim = other.claim }
        if other.label.is_some() { self.label = other.label }
    }

    /// None when no issuer is set; an error when one is set without the
    /// rest, or anything is malformed.
    pub fn resolve(self) -> Result<Option<OidcConfig>, ConfigError> {
        let Some(issuer) = self.issuer.map(|i| i.trim().trim_end_matches('/').to_string()).filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        match url::Url::parse(&issuer) {
            // The keys that sign ID tokens and the client secret travel on
            // this connection: plain http only on the loopback (a provider
            // on the same host, as in tests).
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() && u.query().is_none() => {}
            Ok(u) if u.scheme() == "http"
                && matches!(u.host(), Some(url::Host::Ipv4(a)) if a.is_loopback())
                    | matches!(u.host(), Some(url::Host::Ipv6(a)) if a.is_loopback())
                    | matches!(u.host_str(), Some("localhost"))
                && u.query().is_none() => {}
            _ => return Err(ConfigError::Oidc(format!("oidc_issuer {issuer:?} is not an https URL (plain http only on the loopback)"))),
        }
        let client_id = self.client_id.filter(|c| !c.trim().is_empty()).ok_or_else(|| ConfigError::Oidc("oidc_issuer is set without oidc_client_id".into()))?;
        let client_secret = self.client_secret.ok_or_else(|| ConfigError::Oidc("oidc_issuer is set without oidc_client_secret".into()))?;
        let claim = match self.claim {
            Some(c) => c.parse().map_err(ConfigError::Oidc)?,
            None => OidcClaim::Email,
        };
        let label = self.label.unwrap_or_else(|| "l'identité de votre académie".into());
        Ok(Some(OidcConfig { issuer, client_id, client_secret, claim, label }))
    }
}

/// A setting that may hold a password (`smtp_url`): it never shows in
/// `Debug` output.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(secret: impl Into<String>) -> SecretString {
        SecretString(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretString(s.to_string()))
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("invalid base URL {0:?}: expected http://HOST[:PORT][/PREFIX] or https://…")]
    BaseUrl(String),
    /// The URL itself is not repeated: it may hold a password.
    #[error("invalid smtp_url: {0} (accepted: smtp://HOST[:PORT], smtp+starttls://[USER:PASS@]HOST[:PORT], smtps://[USER:PASS@]HOST[:PORT])")]
    SmtpUrl(SmtpUrlError),
    #[error("invalid imip_from {0:?}: {1} (expected ADDRESS or \"Name <ADDRESS>\")")]
    ImipFrom(String, compose::AddressError),
    #[error("invalid imip_reply_domain {0:?}: expected a domain name")]
    ImipReplyDomain(String),
    #[error("invalid bbb_url {0:?}: expected http://HOST[:PORT]/PATH or https://…")]
    BbbUrl(String),
    #[error("invalid bbb_checksum: {0}")]
    BbbChecksum(String),
    #[error("invalid visio_policy: {0}")]
    VisioPolicy(String),
    #[error("invalid visio_keyword {0:?}: expected a word")]
    VisioKeyword(String),
    #[error("invalid OpenID Connect settings: {0}")]
    Oidc(String),
    #[error("invalid visio_record_keyword {0:?}: expected a word")]
    VisioRecordKeyword(String),
    #[error("invalid bbb_dial_number {0:?}: expected a phone number (digits, spaces, +, -, ., parentheses)")]
    BbbDialNumber(String),
    #[error("invalid lmtp_listen {0}: {1}")]
    LmtpListen(SocketAddr, &'static str),
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e))
    }

    /// Apply the file's values over the defaults; the iMIP settings are
    /// validated here.
    /// The OpenID Connect settings of the file (resolved once the command
    /// line's are merged over them).
    pub fn oidc_settings(&self) -> OidcSettings {
        OidcSettings {
            issuer: self.oidc_issuer.clone(),
            client_id: self.oidc_client_id.clone(),
            client_secret: self.oidc_client_secret.clone(),
            claim: self.oidc_claim.clone(),
            label: self.oidc_label.clone(),
        }
    }

    pub fn apply(self, c: &mut Config) -> Result<(), ConfigError> {
        let secs = Duration::from_secs;
        if let Some(v) = self.listen { c.listen = v }
        if let Some(v) = self.metrics_listen { c.metrics_listen = Some(v) }
        if let Some(v) = self.database { c.database = v }
        if let Some(v) = self.base_url { c.base_url = v }
        if let Some(v) = self.log_format { c.log_format = v }
        if let Some(v) = self.max_body_bytes { c.max_body_bytes = v }
        if let Some(v) = self.max_inflight_body_bytes { c.max_inflight_body_bytes = v }
        if let Some(v) = self.header_timeout_secs { c.header_timeout = secs(v) }
        if let Some(v) = self.request_timeout_secs { c.request_timeout = secs(v) }
        if let Some(v) = self.trust_forwarded_for { c.trust_forwarded_for = v }
        if let Some(v) = self.max_resource_bytes { c.max_resource_bytes = v }
        if let Some(v) = self.default_quota_bytes { c.default_quota_bytes = v }
        if let Some(v) = self.realm { c.realm = v }
        if let Some(v) = self.credential_cache_ttl_secs { c.credential_cache_ttl = secs(v) }
        if let Some(v) = self.directory_max_results { c.directory_max_results = v }
        if let Some(v) = self.max_failed_logins { c.max_failed_logins = v }
        if let Some(v) = self.max_failed_logins_per_address { c.max_failed_logins_per_address = v }
        if let Some(v) = self.failed_login_window_secs { c.failed_login_window = secs(v) }
        if let Some(v) = self.max_login_delay_secs { c.max_login_delay = secs(v) }
        if let Some(v) = self.max_lock_timeout_secs { c.max_lock_timeout = secs(v) }
        if let Some(v) = self.compute_threads { c.compute_threads = v.max(1) }
        if let Some(v) = self.compute_per_user { c.compute_per_user = v.max(1) }
        if let Some(v) = self.max_instances_per_request { c.max_instances_per_request = v }
        if let Some(v) = self.max_report_bytes { c.max_report_bytes = v }
        if let Some(v) = self.max_resource_items { c.max_resource_items = v }
        if let Some(v) = self.max_search_length { c.max_search_length = v }
        if let Some(v) = self.max_lock_owner_bytes { c.max_lock_owner_bytes = v }
        if let Some(v) = self.max_locks_per_user { c.max_locks_per_user = v }
        if let Some(v) = self.max_locks_per_resource { c.max_locks_per_resource = v }
        if let Some(v) = self.smtp_url { c.smtp_url = Some(parse_smtp_url(v.expose())?) }
        if let Some(v) = self.imip_from { c.imip_from = Some(parse_imip_from(&v)?) }
        if let Some(v) = self.imip_reply_domain { c.imip_reply_domain = Some(parse_reply_domain(&v)?) }
        if let Some(v) = self.lmtp_listen { c.lmtp_listen = Some(check_lmtp_listen(v)?) }
        if let Some(v) = self.lmtp_max_message_bytes { c.lmtp_max_message_bytes = v }
        if let Some(v) = self.freebusy_private_academies { c.freebusy_private_academies = v }
        if let Some(v) = self.bbb_url { c.bbb_url = Some(parse_bbb_url(&v)?) }
        if let Some(v) = self.bbb_secret { c.bbb_secret = Some(v) }
        if let Some(v) = self.bbb_checksum { c.bbb_checksum = parse_bbb_checksum(&v)? }
        if let Some(v) = self.visio_policy { c.visio_policy = parse_visio_policy(&v)? }
        if let Some(v) = self.visio_keyword { c.visio_keyword = parse_visio_keyword(&v)? }
        if let Some(v) = self.session_idle_timeout_secs { c.session_idle_timeout = secs(v.max(60)) }
        if let Some(v) = self.session_max_age_secs { c.session_max_age = secs(v.max(60)) }
        // The OpenID Connect settings are resolved with the command line's
        // (the secret is often in the environment): `oidc_settings`.
        if let Some(v) = self.visio_record_keyword { c.visio_record_keyword = parse_visio_record_keyword(&v)? }
        if let Some(v) = self.bbb_dial_number { c.bbb_dial_number = parse_bbb_dial_number(&v)? }
        Ok(())
    }
}

/// Validate `smtp_url` (forms in `imip::transport`): a bad scheme,
/// credentials over plain `smtp://`, … are configuration errors.
pub fn parse_smtp_url(url: &str) -> Result<SmtpUrl, ConfigError> {
    SmtpUrl::parse(url).map_err(ConfigError::SmtpUrl)
}

/// Validate `imip_from`: `agenda@agenda.example.fr` or
/// `Almanach <agenda@agenda.example.fr>`.
pub fn parse_imip_from(from: &str) -> Result<Mailbox, ConfigError> {
    from.parse::<Mailbox>().map_err(|e| ConfigError::ImipFrom(from.to_string(), e))
}

/// Validate `imip_reply_domain`; returns it in lower case.
pub fn parse_reply_domain(domain: &str) -> Result<String, ConfigError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    compose::check_domain(&d).map_err(|_| ConfigError::ImipReplyDomain(domain.to_string()))?;
    Ok(d)
}

/// RFC 2033 §5: LMTP MUST NOT be used on TCP port 25.
pub fn check_lmtp_listen(addr: SocketAddr) -> Result<SocketAddr, ConfigError> {
    if addr.port() == 25 {
        return Err(ConfigError::LmtpListen(addr, "LMTP must not listen on port 25 (RFC 2033 §5)"));
    }
    Ok(addr)
}

/// Validate `bbb_url` (an http or https URL with a host).
pub fn parse_bbb_url(url: &str) -> Result<String, ConfigError> {
    match url::Url::parse(url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none() => Ok(url.trim().to_string()),
        _ => Err(ConfigError::BbbUrl(url.to_string())),
    }
}

/// Validate `bbb_checksum`: sha1, sha256, sha384 or sha512.
pub fn parse_bbb_checksum(name: &str) -> Result<ChecksumAlgorithm, ConfigError> {
    name.parse().map_err(ConfigError::BbbChecksum)
}

/// Validate `visio_policy`: auto, keyword or off.
pub fn parse_visio_policy(name: &str) -> Result<VisioPolicy, ConfigError> {
    name.parse().map_err(ConfigError::VisioPolicy)
}

/// Validate `visio_keyword`: one word, kept in lower case.
pub fn parse_visio_keyword(word: &str) -> Result<String, ConfigError> {
    one_word(word).ok_or_else(|| ConfigError::VisioKeyword(word.to_string()))
}

/// Validate `visio_record_keyword`: one word, kept in lower case.
pub fn parse_visio_record_keyword(word: &str) -> Result<String, ConfigError> {
    one_word(word).ok_or_else(|| ConfigError::VisioRecordKeyword(word.to_string()))
}

/// A keyword: one word (letters, digits, hyphens), in lower case.
fn one_word(word: &str) -> Option<String> {
    let w = word.trim();
    (!w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '-')).then(|| w.to_lowercase())
}

/// Validate `bbb_dial_number`: a phone number as written for people
/// (`+33 1 23 45 67 89`, `01.23.45.67.89`); empty means none.
pub fn parse_bbb_dial_number(number: &str) -> Result<Option<String>, ConfigError> {
    let n = number.trim();
    if n.is_empty() {
        return Ok(None);
    }
    let digits = n.chars().filter(char::is_ascii_digit).count();
    let allowed = n.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'));
    if !allowed || !(3..=20).contains(&digits) || n.len() > 32 {
        return Err(ConfigError::BbbDialNumber(number.to_string()));
    }
    Ok(Some(n.to_string()))
}

/// A URL with the password of its credentials (`USER:PASSWORD@`)
/// replaced by `***`, for messages and `config check`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Check a base URL's shape.
pub fn validate_base_url(url: &str) -> Result<(), ConfigError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split_once("://").map(|(_, r)| !r.is_empty() && !r.starts_with('/')).unwrap_or(false);
    if ok { Ok(()) } else { Err(ConfigError::BaseUrl(url.into())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_from_url() {
        let mut c = Config::default();
        assert_eq!(c.base_path(), "");
        c.base_url = "https://dav.example.fr/almanach/".into();
        assert_eq!(c.base_path(), "/almanach");
        assert!(validate_base_url("ftp://x").is_err());
        assert!(validate_base_url("https://dav.example.fr").is_ok());
    }

    #[test]
    fn file_overrides_defaults() {
        let f: FileConfig = toml::from_str("listen = \"0.0.0.0:9000\"\nmax_body_bytes = 5\n").unwrap();
        let mut c = Config::default();
        f.apply(&mut c).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_body_bytes, 5);
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
        let f: FileConfig = toml::from_str("max_failed_logins_per_address = 80\nmax_login_delay_secs = 0\n").unwrap();
        f.apply(&mut c).unwrap();
        assert_eq!((c.max_failed_logins_per_address, c.max_login_delay), (80, Duration::ZERO));
        let f: FileConfig =
            toml::from_str("max_lock_owner_bytes = 100\nmax_locks_per_user = 7\nmax_locks_per_resource = 3\n").unwrap();
        f.apply(&mut c).unwrap();
        assert_eq!((c.max_lock_owner_bytes, c.max_locks_per_user, c.max_locks_per_resource), (100, 7, 3));
    }

    /// contrib/almanach.toml, the documented example, is read by the real
    /// loader and names every setting (commented out or not).
    #[test]
    fn example_file_parses_and_is_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/almanach.toml");
        let file = FileConfig::load(&path).unwrap();
        let mut c = Config::default();
        file.apply(&mut c).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for (key, _) in Config::default().describe() {
            let set = text.lines().any(|l| l.trim_start_matches(['#', ' ']).starts_with(&format!("{key} =")));
            assert!(set, "contrib/almanach.toml documents {key}");
        }
        // The commented-out examples are valid too.
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|rest| rest.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))).unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        let all: FileConfig = toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}"));
        all.apply(&mut Config::default()).unwrap();
    }

    #[test]
    fn describe_hides_secrets() {
        let f: FileConfig = toml::from_str(
            "database = \"postgres://almanach:dbpass@db/almanach\"\nsmtp_url = \"smtps://agenda:mailpass@smtp.example.fr\"\n\
             bbb_url = \"https://visio.example.fr/bigbluebutton/\"\nbbb_secret = \"bbbpass\"\n",
        )
        .unwrap();
        let mut c = Config::default();
        f.apply(&mut c).unwrap();
        let shown = format!("{:?}", c.describe());
        for secret in ["dbpass", "mailpass", "bbbpass"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("postgres://almanach:***@db/almanach") && shown.contains("*** (set)"), "{shown}");
    }

    #[test]
    fn visio_settings() {
        let c = Config::default();
        assert_eq!((c.bbb_url.is_none(), c.bbb_checksum, c.visio_policy, c.visio_keyword.as_str()), (true, ChecksumAlgorithm::Sha256, VisioPolicy::Auto, "visio"));
        let f: FileConfig = toml::from_str(
            "bbb_url = \"https://visio.example.fr/bigbluebutton/\"\nbbb_secret = \"hunter2\"\nbbb_checksum = \"sha512\"\n\
             visio_policy = \"keyword\"\nvisio_keyword = \"Visio\"\n",
        )
        .unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
        let mut c = Config::default();
        f.apply(&mut c).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.bbb_url.as_deref(), Some("https://visio.example.fr/bigbluebutton/"));
        assert_eq!((c.bbb_checksum, c.visio_policy, c.visio_keyword.as_str()), (ChecksumAlgorithm::Sha512, VisioPolicy::Keyword, "visio"));
        assert_eq!((c.bbb_dial_number.as_deref(), c.visio_record_keyword.as_str()), (None, "visio-enregistrée"));
        let f: FileConfig = toml::from_str("bbb_dial_number = \" +33 1 23 45 67 89 \"\nvisio_record_keyword = \"Enregistrer-Visio\"\n").unwrap();
        f.apply(&mut c).unwrap();
        assert_eq!((c.bbb_dial_number.as_deref(), c.visio_record_keyword.as_str()), (Some("+33 1 23 45 67 89"), "enregistrer-visio"));
        for (toml, wanted) in [
            ("bbb_url = \"ftp://x/\"", "bbb_url"),
            ("bbb_checksum = \"md5\"", "bbb_checksum"),
            ("visio_policy = \"always\"", "visio_policy"),
            ("visio_keyword = \"two words\"", "visio_keyword"),
            ("visio_record_keyword = \"a;b\"", "visio_record_keyword"),
            ("bbb_dial_number = \"call me\"", "bbb_dial_number"),
        ] {
            let f: FileConfig = toml::from_str(toml).unwrap();
            let e = f.apply(&mut Config::default()).unwrap_err().to_string();
            assert!(e.contains(wanted), "{toml}: {e}");
        }
    }

    #[test]
    fn imip_settings() {
        let mut c = Config::default();
        assert_eq!((c.smtp_url.is_none(), c.lmtp_listen, c.lmtp_max_message_bytes), (true, None, 10 * 1024 * 1024));
        let f: FileConfig = toml::from_str(
            "smtp_url = \"smtps://agenda:hunter2@smtp.example.fr\"\nimip_from = \"Almanach <agenda@agenda.example.fr>\"\n\
             imip_reply_domain = \"Agenda.Example.FR\"\nlmtp_listen = \"127.0.0.1:2424\"\nlmtp_max_message_bytes = 1000\n",
        )
        .unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
        f.apply(&mut c).unwrap();
        assert_eq!(c.smtp_url.as_ref().unwrap().port(), 465);
        assert!(!format!("{c:?}").contains("hunter2"), "{c:?}");
        assert_eq!(c.imip_from.as_ref().map(|m| (m.name(), m.address())), Some((Some("Almanach"), "agenda@agenda.example.fr")));
        assert_eq!(c.imip_reply_domain.as_deref(), Some("agenda.example.fr"));
        assert_eq!((c.lmtp_listen.unwrap().port(), c.lmtp_max_message_bytes), (2424, 1000));

        for (toml, wanted) in [
            ("smtp_url = \"ftp://user:hunter2@relay\"", "smtp_url"),
            ("smtp_url = \"smtp://user:hunter2@relay\"", "in clear"),
            ("imip_from = \"not an address\"", "imip_from"),
            ("imip_reply_domain = \"bad domain\"", "imip_reply_domain"),
            ("lmtp_listen = \"0.0.0.0:25\"", "port 25"),
        ] {
            let f: FileConfig = toml::from_str(toml).unwrap();
            let e = f.apply(&mut Config::default()).unwrap_err().to_string();
            assert!(e.contains(wanted), "{toml}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
