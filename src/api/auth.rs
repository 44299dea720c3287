//! Integrator authentication (HTTP Basic) and grants (SPEC 2), and the admin bearer token.
//!
//! Credentials are cached in memory so the hot path costs one HMAC and no database read. A
//! cached entry is trusted for at most [`CACHE_TTL`]: a revocation on this node drops the
//! entry at once, and one made on another node is seen here within that time. A credential's
//! last use (the admin list's `lastUsedAt`) is stamped by a background write at most once
//! per [`STAMP_EVERY`] per credential and node, never on the request's own path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::extract::path_uuid;
use super::state::AppState;
use crate::clock::Clock;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::{Credential, Scope};
use crate::domain::directory::Department;
use crate::store::Store;

/// How long a cached credential is trusted before it is read again. Keeps cross-node
/// revocation well inside the one second SPEC 2 allows.
pub const CACHE_TTL: Duration = Duration::from_millis(500);

/// How often a node records a credential's use: `lastUsedAt` is exact to this.
pub const STAMP_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct CredentialCache {
    store: Arc<dyn Store>,
    clock: Clock,
    entries: Arc<RwLock<HashMap<String, Cached>>>,
    /// When this node last stamped each credential's use.
    stamped: Arc<Mutex<HashMap<String, Instant>>>,
}

struct Cached {
    credential: Arc<Credential>,
    fetched: Instant,
}

impl CredentialCache {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            store,
            clock,
            entries: Arc::default(),
            stamped: Arc::default(),
        }
    }

    /// The credential for `username` if `password` is its secret and it is not revoked.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Arc<Credential>, ApiError> {
        let credential = match self.cached(username) {
            Some(c) => c,
            None => {
                let Some(fresh) = self.store.credential(username).await? else {
                    return Err(ApiError::unauthenticated());
                };
                let fresh = Arc::new(fresh);
                self.entries.write().expect("credential cache lock").insert(
                    username.to_string(),
                    Cached {
                        credential: fresh.clone(),
                        fetched: Instant::now(),
                    },
                );
                fresh
            }
        };
        if credential.verify(password) {
            self.stamp(username);
            Ok(credential)
        } else {
            Err(ApiError::unauthenticated())
        }
    }

    /// Records the use of `username` in the background, unless this node did in the last
    /// [`STAMP_EVERY`]. A failed write (a full disk) is logged and retried at the next use.
    fn stamp(&self, username: &str) {
        {
            let mut stamped = self.stamped.lock().expect("credential stamp lock");
            if stamped
                .get(username)
                .is_some_and(|at| at.elapsed() < STAMP_EVERY)
            {
                return;
            }
            stamped.insert(username.to_string(), Instant::now());
        }
        let (store, stamped) = (self.store.clone(), self.stamped.clone());
        let (username, at) = (username.to_string(), self.clock.now());
        tokio::spawn(async move {
            if let Err(error) = store.touch_credential(&username, at).await {
                tracing::warn!(%error, "recording a credential's last use failed");
                stamped
                    .lock()
                    .expect("credential stamp lock")
                    .remove(&username);
            }
        });
    }

    fn cached(&self, username: &str) -> Option<Arc<Credential>> {
        let entries = self.entries.read().expect("credential cache lock");
        entries
            .get(username)
            .filter(|c| c.fetched.elapsed() < CACHE_TTL)
            .map(|c| c.credential.clone())
    }

    /// Forgets a credential at once (after a revocation on this node).
    pub fn invalidate(&self, username: &str) {
        self.entries
            .write()
            .expect("credential cache lock")
            .remove(username);
    }
}

/// An authenticated integrator. Extracting it answers `401` for missing or wrong credentials.
pub struct Integrator(pub Arc<Credential>);

impl FromRequestParts<AppState> for Integrator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (username, password) =
            basic_credentials(parts).ok_or_else(ApiError::unauthenticated)?;
        let credential = state.credentials.authenticate(&username, &password).await?;
        Ok(Integrator(credential))
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

impl Integrator {
    /// The department named by a path segment, if this credential holds `scope` for it.
    /// A malformed or unknown department answers exactly like one without a grant.
    pub async fn department(
        &self,
        state: &AppState,
        segment: &str,
        scope: Scope,
    ) -> Result<Department, ApiError> {
        let denied = || ApiError::insufficient_scope(scope.as_str());
        let uuid = path_uuid(segment).ok_or_else(denied)?;
        let department = state.store.department(uuid).await?.ok_or_else(denied)?;
        if self
            .0
            .allows(scope, department.dealer_uuid, department.uuid)
        {
            Ok(department)
        } else {
            Err(denied())
        }
    }
}

impl Integrator {
    /// Whether this credential also holds `scope` for `department` (an optional privilege).
    pub fn holds(&self, scope: Scope, department: &Department) -> bool {
        self.0
            .allows(scope, department.dealer_uuid, department.uuid)
    }
}

/// The operator, proven by `Authorization: Bearer <admin_token>`.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.settings.admin_token() else {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                ErrorCode::AdminApiDisabled,
                "the admin API is disabled: set admin_token (HERALD_ADMIN_TOKEN) to enable it",
            ));
        };
        let given = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(Admin)
        } else {
            Err(ApiError::invalid_admin_token())
        }
    }
}
