//! What the operator reads back (SPEC 8, admin read API): pages of dealers, credentials and
//! messages, and the departments and users under a dealer. Every list is keyset-paged: a page
//! starts strictly after the last row of the one before, so rows inserted meanwhile never
//! shift a page (nothing skipped, nothing repeated), unlike `OFFSET`.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::credential::Grant;
use crate::domain::directory::{Dealer, Department, User};
use crate::domain::message::{Message, MessageStatus, Protocol};

/// A position in a list: the last row's time and its unique key (the tie-breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K> {
    pub at: OffsetDateTime,
    pub key: K,
}

/// A dealer with the time it was created (the order dealers are listed in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealerEntry {
    pub dealer: Dealer,
    pub created_at: OffsetDateTime,
}

/// What the operator may see of a credential: never its password hash or webhook secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialEntry {
    pub username: String,
    pub grants: Vec<Grant>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// When the credential last authenticated, to the minute (src/api/auth.rs stamps it).
    pub last_used_at: Option<OffsetDateTime>,
}

/// The message log's filters; `None` matches everything. `since` is inclusive, `until`
/// exclusive, both on the time a message was accepted (or received).
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<MessageStatus>,
    pub protocol: Option<Protocol>,
    pub dealer: Option<Uuid>,
    pub department: Option<Uuid>,
    pub customer: Option<Uuid>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

#[async_trait]
pub trait AdminReadStore: Send + Sync + 'static {
    /// Up to `limit` dealers after `after`, oldest first.
    async fn dealers_page(
        &self,
        after: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<DealerEntry>>;
    /// Every department of `dealer`, oldest first.
    async fn departments_of(&self, dealer: Uuid) -> StoreResult<Vec<Department>>;
    /// Every user of `department`, oldest first.
    async fn users_of(&self, department: Uuid) -> StoreResult<Vec<User>>;
    /// Up to `limit` credentials (revoked ones too) after `after`, oldest first.
    async fn credentials_page(
        &self,
        after: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CredentialEntry>>;
    /// Up to `limit` messages matching `filter` before `before`, newest first.
    async fn messages_page(
        &self,
        filter: &MessageFilter,
        before: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
}

/// The conditions of a `WHERE`, numbered `$1, $2, ...` in the order their values are bound
/// (each backend binds its own value type `A`). Only the conditions asked for are written,
/// so the planner picks the index that serves them (a `$n IS NULL OR ...` would hide it).
pub(crate) struct Conditions<A> {
    sql: Vec<String>,
    pub args: Vec<A>,
}

impl<A> Default for Conditions<A> {
    fn default() -> Self {
        Self {
            sql: Vec::new(),
            args: Vec::new(),
        }
    }
}

impl<A> Conditions<A> {
    /// Adds `template`, each `?` in it standing for the next of `args`.
    pub fn push<const N: usize>(&mut self, template: &str, args: [A; N]) {
        let mut n = self.args.len();
        let mut sql = String::with_capacity(template.len() + 2 * N);
        for c in template.chars() {
            if c == '?' {
                n += 1;
                sql.push_str(&format!("${n}"));
            } else {
                sql.push(c);
            }
        }
        self.sql.push(sql);
        self.args.extend(args);
    }

    /// ` WHERE a AND b`, or nothing when there is no condition.
    pub fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Conditions;

    #[test]
    fn placeholders_are_numbered_in_the_order_values_are_bound() {
        let mut w = Conditions::default();
        assert_eq!(w.where_clause(), "");
        w.push("status = ?", ["a"]);
        w.push("(created_at, uuid) < (?, ?)", ["b", "c"]);
        assert_eq!(
            w.where_clause(),
            " WHERE status = $1 AND (created_at, uuid) < ($2, $3)"
        );
        assert_eq!(w.args, ["a", "b", "c"]);
    }
}
