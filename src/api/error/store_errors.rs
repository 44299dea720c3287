//! What a store failure tells the client: a sender number already taken is the operator's
//! conflict; a database that cannot take the request now is `503` with `Retry-After`;
//! anything else is Herald's own failure.

use axum::http::StatusCode;
use sqlx::error::DatabaseError;

use super::ApiError;
use crate::domain::codes::ErrorCode;
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if let StoreError::SenderNumberInUse(number) = &err {
            // The operator's mistake, not Herald's; the other dealer is not named.
            return Self::new(
                StatusCode::CONFLICT,
                ErrorCode::SenderNumberInUse,
                format!(
                    "textSenderNumber {number} is already used by a department of another dealer; \
                     departments of one dealer may share a number, dealers may not"
                ),
            );
        }
        if is_transient(&err) {
            Self::store_unavailable(err)
        } else {
            Self::internal(err)
        }
    }
}

/// Whether a store failure says the database could not take the request now, rather than
/// that something is wrong with the data or with Herald: worth a retry, not a bug report.
fn is_transient(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(_) => true,
        StoreError::Database(e) => is_transient_sqlx(e),
        StoreError::Migration(_)
        | StoreError::Corrupt(_)
        | StoreError::Conflict(_)
        | StoreError::SenderNumberInUse(_) => false,
    }
}

fn is_transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                sqlite
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(is_transient_sqlite)
            } else {
                db.code().is_some_and(|state| is_transient_sqlstate(&state))
            }
        }
        _ => false,
    }
}

/// SQLite result codes (the primary code is the low byte of an extended one) that mean "not
/// now": busy or locked past the busy timeout, out of memory, an I/O error, a full disk, a
/// file that cannot be opened. Corruption (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) is not one.
fn is_transient_sqlite(extended: i32) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const NOMEM: i32 = 7;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    const PROTOCOL: i32 = 15;
    matches!(
        extended & 0xff,
        BUSY | LOCKED | NOMEM | IOERR | FULL | CANTOPEN | PROTOCOL
    )
}

/// PostgreSQL SQLSTATEs that mean "not now": the connection failed (class 08), the server
/// is out of resources such as disk space (53), was shut down or cancelled the statement
/// (57), hit an I/O error (58030), is a read-only standby (25006), or chose this
/// transaction to fail a serialization conflict or deadlock (40001, 40P01).
fn is_transient_sqlstate(state: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| state.starts_with(class))
        || ["58030", "25006", "40001", "40P01"].contains(&state)
}

#[cfg(test)]
mod tests {
    use axum::http::header;
    use axum::response::IntoResponse;

    use super::*;
    use crate::api::error::STORE_RETRY_AFTER_SECONDS;

    fn status_and_retry_after(err: StoreError) -> (StatusCode, Option<String>) {
        let response = ApiError::from(err).into_response();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry_after)
    }

    /// A real SQLite error: an in-memory database capped at its current size, then grown.
    async fn sqlite_full() -> sqlx::Error {
        use sqlx::{Connection, SqliteConnection};
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA max_page_count = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut conn)
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_database_that_cannot_take_the_request_now_is_503_with_retry_after() {
        let retry = Some(STORE_RETRY_AFTER_SECONDS.to_string());
        for err in [
            StoreError::Unavailable("commit failed: disk full".into()),
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())),
            StoreError::Database(sqlite_full().await),
        ] {
            let shown = err.to_string();
            assert_eq!(
                status_and_retry_after(err),
                (StatusCode::SERVICE_UNAVAILABLE, retry.clone()),
                "{shown}"
            );
        }
    }

    #[tokio::test]
    async fn corrupt_data_and_bugs_stay_500_without_retry_after() {
        let missing_table = {
            use sqlx::{Connection, SqliteConnection};
            let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            sqlx::query("SELECT * FROM nowhere")
                .execute(&mut conn)
                .await
                .unwrap_err()
        };
        for err in [
            StoreError::Corrupt("uuid \"x\"".into()),
            StoreError::Database(sqlx::Error::RowNotFound),
            StoreError::Database(missing_table),
        ] {
            assert_eq!(
                status_and_retry_after(err),
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            );
        }
    }

    #[test]
    fn sqlite_codes_are_judged_by_their_primary_code() {
        assert!(is_transient_sqlite(13), "SQLITE_FULL");
        assert!(is_transient_sqlite(778), "SQLITE_IOERR_WRITE");
        assert!(is_transient_sqlite(5), "SQLITE_BUSY");
        assert!(!is_transient_sqlite(11), "SQLITE_CORRUPT");
        assert!(!is_transient_sqlite(26), "SQLITE_NOTADB");
        assert!(!is_transient_sqlite(2067), "SQLITE_CONSTRAINT_UNIQUE");
    }

    #[test]
    fn sqlstates_of_an_unavailable_server_are_transient() {
        for state in [
            "08006", "08001", "53100", "57P01", "57P03", "58030", "25006",
        ] {
            assert!(is_transient_sqlstate(state), "{state}");
        }
        for state in ["23505", "42P01", "XX001", "22P02"] {
            assert!(!is_transient_sqlstate(state), "{state}");
        }
    }
}
