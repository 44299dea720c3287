//! What every handler can reach.

use std::sync::Arc;

use super::auth::CredentialCache;
use crate::config::Settings;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub credentials: CredentialCache,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Arc<Settings>) -> Self {
        Self {
            credentials: CredentialCache::new(store.clone()),
            store,
            settings,
        }
    }
}
