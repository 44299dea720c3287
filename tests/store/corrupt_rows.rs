//! A stored message whose recipient, copies or error code does not decode is a store error
//! when read, on both backends: never a message with a silently defaulted field.

use herald::store::{MessageStore, Store};
use uuid::Uuid;

use crate::suite::{dealer, department, message, now};

/// What is written over a stored message's columns, one at a time.
const DAMAGE: &[(&str, &str)] = &[
    ("recipient", "not a number"),
    ("cc", "[\"not an address\"]"),
    ("error_code", "NO_SUCH_CODE"),
];

async fn stored_message(store: &dyn Store) -> Uuid {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let m = message(&dealer, &department, now());
    store.accept_message(&m, None, None, None).await.unwrap();
    assert!(store.message(m.uuid).await.unwrap().is_some());
    m.uuid
}

#[tokio::test]
async fn sqlite_refuses_a_message_row_that_does_not_decode() {
    use sqlx::Connection;
    for (column, value) in DAMAGE {
        let (store, dir) = crate::sqlite_store().await.unwrap();
        let uuid = stored_message(store.as_ref()).await;
        let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET {column} = $1 WHERE uuid = $2"
        )))
        .bind(value)
        .bind(uuid.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
        assert!(
            store.message(uuid).await.is_err(),
            "a message with {column} = {value:?} was read"
        );
    }
}

#[tokio::test]
async fn postgres_refuses_a_message_row_that_does_not_decode() {
    use sqlx::Connection;
    for (column, value) in DAMAGE {
        let Some((url, guard)) = crate::postgres_support::fresh_database_url().await else {
            return;
        };
        let store = herald::store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        herald::store::Lifecycle::migrate(&store).await.unwrap();
        let uuid = stored_message(&store).await;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let cast = if *column == "cc" { "::jsonb" } else { "" };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET {column} = $1{cast} WHERE uuid = $2"
        )))
        .bind(value)
        .bind(uuid)
        .execute(&mut conn)
        .await
        .unwrap();
        assert!(
            store.message(uuid).await.is_err(),
            "a message with {column} = {value:?} was read"
        );
        drop(conn);
        drop(store);
        drop(guard);
    }
}
