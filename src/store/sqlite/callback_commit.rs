//! Group commit for callback results. Every callback attempt ends with one update of its row;
//! instead of one hand-off to SQLite's thread each, one task takes the results waiting in its
//! channel and writes them with one statement (the rows travel as one JSON array, unpacked by
//! `json_each`); each dispatcher is answered once that write is durable.

use std::collections::HashSet;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};

use super::ms;
use super::writer::Writer;
use crate::store::batcher::{Batcher, Waiting};
use crate::store::{CallbackResult, StoreError, StoreResult};

/// The most results one statement carries.
const MAX_BATCH: usize = 256;

/// One attempt's result, as `finish_callback` takes it.
pub(super) struct CallbackDone {
    pub webhook_id: String,
    pub lease_id: String,
    pub result: CallbackResult,
}

impl CallbackDone {
    fn row(&self) -> Value {
        let (state, due_at, detail) = match &self.result {
            CallbackResult::Delivered { detail } => ("DELIVERED", None, detail),
            CallbackResult::Retry { due_at, detail } => ("PENDING", Some(ms(*due_at)), detail),
            CallbackResult::Failed { detail } => ("FAILED", None, detail),
        };
        json!({
            "id": self.webhook_id,
            "lease": self.lease_id,
            "state": state,
            "due": due_at,
            "detail": detail,
        })
    }
}

/// Results queue here; each answer (whether the lease was still held) comes once durable.
pub(super) type CallbackCommit = Batcher<CallbackDone, bool>;

/// Starts the committing task on `writer`.
pub(super) fn start(writer: Writer) -> CallbackCommit {
    super::runtime::batcher(MAX_BATCH, writer, |writer, batch| async move {
        commit(&writer, batch).await
    })
}

async fn commit(writer: &Writer, batch: Vec<Waiting<CallbackDone, bool>>) {
    let items: Vec<&CallbackDone> = batch.iter().map(|w| &w.item).collect();
    // One callback twice in a batch (a result from a dispatcher whose lease has passed to
    // another) is written in order, one statement each; the lease decides which one counts.
    let mut seen = HashSet::with_capacity(items.len());
    let groups: Vec<Vec<&CallbackDone>> = if items.iter().all(|c| seen.insert(&c.webhook_id)) {
        vec![items]
    } else {
        items.into_iter().map(|c| vec![c]).collect()
    };
    // One statement needs no savepoint: SQLite undoes a failed statement by itself.
    let tx = if groups.len() == 1 {
        writer.begin_statement().await
    } else {
        writer.begin().await
    };
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let mut updated = HashSet::new();
    for group in &groups {
        match update(&mut tx, group).await {
            Ok(ids) => updated.extend(ids),
            Err(e) => {
                drop(tx);
                return fail_all(batch, &e);
            }
        }
    }
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &e);
    }
    // A webhook id appears once per group, and only the holder of its lease updates it.
    for w in batch {
        let done = updated.contains(&(w.item.webhook_id.clone(), w.item.lease_id.clone()));
        w.answer(Ok(done));
    }
}

/// Records `group` (no webhook id twice); returns the (webhook id, lease) pairs that held.
async fn update(
    conn: &mut SqliteConnection,
    group: &[&CallbackDone],
) -> StoreResult<Vec<(String, String)>> {
    let rows: Vec<Value> = group.iter().map(|c| c.row()).collect();
    let leases: std::collections::HashMap<&str, &str> = group
        .iter()
        .map(|c| (c.webhook_id.as_str(), c.lease_id.as_str()))
        .collect();
    let done = sqlx::query(
        "UPDATE callbacks SET state = c.value ->> 'state', attempts = callbacks.attempts + 1,
             due_at = COALESCE(c.value ->> 'due', callbacks.due_at),
             last_result = c.value ->> 'detail', lease_id = NULL, lease_expires_at = NULL
         FROM json_each($1) AS c
         WHERE callbacks.webhook_id = c.value ->> 'id' AND callbacks.lease_id = c.value ->> 'lease'
         RETURNING webhook_id",
    )
    .bind(Value::from(rows).to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(done
        .iter()
        .map(|r| {
            let id: String = r.get("webhook_id");
            let lease = leases
                .get(id.as_str())
                .copied()
                .unwrap_or_default()
                .to_string();
            (id, lease)
        })
        .collect())
}

fn fail_all(batch: Vec<Waiting<CallbackDone, bool>>, e: &StoreError) {
    tracing::error!(error = %e, results = batch.len(), "writing callback results failed");
    for w in batch {
        w.answer(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
    }
}
