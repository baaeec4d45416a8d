//! The shared state of a running server.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::compute::Compute;
use crate::config::Config;
use crate::imip::transport::{MailTransport, SmtpTransport};
use crate::jobs::Jobs;
use crate::dav::registry::Registry;
use crate::store::SharedStore;

pub struct AppState {
    pub config: Config,
    /// Every protocol the WebDAV core serves (see [`registry`]).
    pub registry: Registry,
    pub store: SharedStore,
    pub auth: Authenticator,
    /// CPU-heavy work, off the async workers (see `compute`).
    pub compute: Compute,
    /// Request body bytes held at once (`max_inflight_body_bytes`).
    pub bodies: crate::http::bodies::BodyBudget,
    /// Work queued with writes, run after they commit (see [`jobs`]).
    pub jobs: Jobs,
    /// The mail relay of email invitations (iMIP); None when `smtp_url` is
    /// not set.
    pub mail: Option<Arc<dyn MailTransport>>,
    /// The BigBlueButton server of visio rooms (`crate::visio`); None when
    /// `bbb_url` or `bbb_secret` is not set.
    pub visio: Option<crate::visio::bbb::BbbClient>,
    /// The OpenID Connect provider's metadata, once discovered (account
    /// page login, `web::account::oidc`).
    pub oidc_metadata: crate::web::account::oidc::MetadataCache,
}

/// The one place that names every kind of job the server runs (see
/// [`crate::jobs`]): scheduling's deliveries and emails, and closing visio
/// rooms.
pub fn jobs(config: &Config) -> Jobs {
    let mut handlers = crate::scheduling::deliver::handlers();
    handlers.extend(crate::visio::jobs::handlers());
    Jobs::new(handlers, config.job_poll, config.job_retry_base)
}

/// The one place that names every protocol the server speaks on top of
/// the WebDAV core (RFC 4918 with RFC 3744, RFC 4331, RFC 5397, RFC 5689,
/// RFC 6578): CalDAV (RFC 4791) and CardDAV (RFC 6352, with the national
/// directory).
pub fn registry() -> Registry {
    Registry::new().with(crate::caldav::protocol()).with(crate::scheduling::protocol()).with(crate::carddav::protocol())
}

impl AppState {
    pub fn new(config: Config, store: SharedStore) -> Arc<AppState> {
        let auth = Authenticator::new(store.clone(), &config);
        let compute = Compute::new(config.compute_threads, config.compute_per_user);
        // One user holds at most two largest bodies at once.
        let bodies = crate::http::bodies::BodyBudget::new(
            config.max_inflight_body_bytes.max(config.max_body_bytes),
            config.max_body_bytes.saturating_mul(2),
        );
        let mail: Option<Arc<dyn MailTransport>> =
            config.smtp_url.clone().filter(|_| config.imip_from.is_some()).map(|url| Arc::new(SmtpTransport::new(url)) as Arc<dyn MailTransport>);
        let jobs = jobs(&config);
        let visio = crate::visio::client(&config);
        Arc::new(AppState { config, registry: registry(), store, auth, compute, bodies, jobs, mail, visio, oidc_metadata: Default::default() })
    }

    /// This state with `mail` as its mail relay (tests use a relay of
    /// their own).
    pub fn with_mail(config: Config, store: SharedStore, mail: Arc<dyn MailTransport>) -> Arc<AppState> {
        let state = AppState::new(config, store);
        let mut state = Arc::try_unwrap(state).unwrap_or_else(|_| unreachable!("just made"));
        state.mail = Some(mail);
        Arc::new(state)
    }
}
