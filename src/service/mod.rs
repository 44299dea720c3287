//! The use cases: what Herald does for a request, between the HTTP edge (`api/`, which parses
//! and answers) and the store. Nothing here knows HTTP; a use case answers with its outcome or
//! a [`Failure`], and the edge chooses the status.

pub mod admin_actions;
pub mod inbound;
pub mod inbound_email;
pub mod optout;
pub mod send;

use crate::domain::codes::ErrorCode;
use crate::store::StoreError;

/// Why a use case did not do what it was asked.
#[derive(Debug)]
pub enum Failure {
    /// The request was refused: the client can tell why.
    Refused(Refusal),
    /// The store could not read or write.
    Store(StoreError),
    /// Anything else unexpected.
    Internal(anyhow::Error),
}

/// A refusal: its kind (the edge makes it a status) and every error it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub errors: Vec<(ErrorCode, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request names or holds something wrong.
    BadRequest,
    /// The caller may not do this.
    Forbidden,
    /// Something else holds what the request needs (a lock, a send still running).
    Conflict,
    /// What the request names does not exist.
    NotFound,
    /// An idempotency key reused with another request, or a request the resource it names
    /// cannot serve.
    Unprocessable,
}

impl Refusal {
    pub fn one(kind: RefusalKind, code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            kind,
            errors: vec![(code, description.into())],
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}
