//! The shared state of a running server.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::store::SharedStore;

pub struct AppState {
    pub config: Config,
    pub store: SharedStore,
    pub auth: Authenticator,
}

impl AppState {
    pub fn new(config: Config, store: SharedStore) -> Arc<AppState> {
        let auth = Authenticator::new(store.clone(), &config);
        Arc::new(AppState { config, store, auth })
    }
}
