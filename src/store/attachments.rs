//! The files sent with messages (SPEC 4.5), written once for both backends. A message's
//! attachments are written in the message's own transaction (`insert_attachments`, called by
//! each backend's accept) and read back whole: by the delivery step that hands them to the
//! provider, and by the media route a provider fetches them from.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::backend::{Backend, Query, Row};
use crate::domain::attachment::{Attachment, AttachmentInfo};

/// What a text's media URL is made of: the attachment, and the secret its token is keyed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaKey {
    pub info: AttachmentInfo,
    pub secret: Vec<u8>,
}

/// An attachment as kept: its bytes, and the secret its media URL tokens are keyed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub message_uuid: Uuid,
    pub attachment: Attachment,
    pub secret: Vec<u8>,
}

#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// The attachments of `message`, in the order they were sent.
    async fn attachments_of(&self, message: Uuid) -> StoreResult<Vec<StoredAttachment>>;
    /// The token secret of each attachment of `message`, by attachment UUID, without the
    /// bytes: what a text's media URLs need.
    async fn media_secrets_of(&self, message: Uuid) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    /// One attachment, by its own UUID.
    async fn attachment(&self, uuid: Uuid) -> StoreResult<Option<StoredAttachment>>;
}

const COLUMNS: &str = "uuid, message_uuid, file_name, content_type, secret, content";

#[async_trait]
impl<S: Backend> AttachmentStore for S {
    async fn attachments_of(&self, message: Uuid) -> StoreResult<Vec<StoredAttachment>> {
        let sql =
            format!("SELECT {COLUMNS} FROM attachments WHERE message_uuid = $1 ORDER BY position");
        let mut conn = self.read().await?;
        let rows = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(message)
            .fetch_all(&mut conn)
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn media_secrets_of(&self, message: Uuid) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT uuid, secret FROM attachments WHERE message_uuid = $1 ORDER BY position",
        )
        .uuid(message)
        .fetch_all(&mut conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.uuid("uuid")?, r.field("secret")?)))
            .collect()
    }

    async fn attachment(&self, uuid: Uuid) -> StoreResult<Option<StoredAttachment>> {
        let sql = format!("SELECT {COLUMNS} FROM attachments WHERE uuid = $1");
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(uuid)
            .fetch_optional(&mut conn)
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}

fn from_row(r: &impl Row) -> StoreResult<StoredAttachment> {
    let content: Vec<u8> = r.field("content")?;
    Ok(StoredAttachment {
        message_uuid: r.uuid("message_uuid")?,
        attachment: Attachment {
            info: AttachmentInfo {
                uuid: r.uuid("uuid")?,
                file_name: r.field("file_name")?,
                content_type: r.field("content_type")?,
                size: content.len() as u64,
            },
            content: Arc::from(content),
        },
        secret: r.field("secret")?,
    })
}

/// Writes `message`'s attachments, each with a fresh secret, inside the caller's transaction.
pub(crate) async fn insert_attachments<B: Backend>(
    tx: &mut B::Conn,
    message: Uuid,
    attachments: &[Attachment],
) -> StoreResult<()> {
    for (position, a) in attachments.iter().enumerate() {
        let secret: [u8; 32] = rand::random();
        B::query(
            "INSERT INTO attachments (uuid, message_uuid, position, file_name, content_type, secret, content) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .uuid(a.info.uuid)
        .uuid(message)
        .bind(position as i32)
        .bind(a.info.file_name.as_str())
        .bind(a.info.content_type.as_str())
        .bind(secret.to_vec())
        .bind(a.content.to_vec())
        .execute(tx)
        .await?;
    }
    Ok(())
}
