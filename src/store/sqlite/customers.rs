//! SQLite's own part of customers: its search (`LIKE` is already case-blind for ASCII), and
//! completing a customer with two reads of its own.

use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::domain::customer::Customer;
use crate::store::StoreResult;
use crate::store::backend::{Backend, Query, Row};
use crate::store::customers::{CustomerBackend, customer_from_row, email_from_row, phone_from_row};

impl CustomerBackend for SqliteStore {
    const SEARCH_SQL: &'static str = r"SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key, time_zone
              FROM customers c
              WHERE c.dealer_uuid = $1 AND (
                  ($2 <> '' AND (c.customer_key = $2
                      OR c.first_name LIKE $3 ESCAPE '\'
                      OR c.last_name LIKE $3 ESCAPE '\'
                      OR (COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, '')) LIKE $3 ESCAPE '\'
                      OR c.company LIKE $3 ESCAPE '\'))
                  OR EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_uuid = c.uuid AND p.phone_number = $4)
                  OR EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_uuid = c.uuid AND e.email_address = $5))
              ORDER BY c.last_name, c.first_name, c.uuid
              LIMIT $6";

    async fn hydrate(
        conn: &mut SqliteConnection,
        rows: Vec<SqliteRow>,
    ) -> StoreResult<Vec<Customer>> {
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            let uuid = r.uuid("uuid")?;
            let phones = Self::query(
                "SELECT phone_number, label, ok_to_text, is_preferred FROM customer_phones
                 WHERE customer_uuid = $1 ORDER BY position",
            )
            .uuid(uuid)
            .fetch_all(conn)
            .await?;
            let emails = Self::query(
                "SELECT email_address, label, ok_to_email, do_not_cc, is_preferred FROM customer_emails
                 WHERE customer_uuid = $1 ORDER BY position",
            )
            .uuid(uuid)
            .fetch_all(conn)
            .await?;
            found.push(customer_from_row(
                r,
                phones
                    .iter()
                    .map(phone_from_row)
                    .collect::<StoreResult<_>>()?,
                emails
                    .iter()
                    .map(email_from_row)
                    .collect::<StoreResult<_>>()?,
            )?);
        }
        Ok(found)
    }
}
