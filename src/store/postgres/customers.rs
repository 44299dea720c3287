//! PostgreSQL's own part of customers: a search that matches any case and sorts as SQLite
//! does, and customers completed with two queries for any number of them.

use std::collections::HashMap;

use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use crate::domain::customer::{Customer, CustomerEmail, CustomerPhone};
use crate::store::StoreResult;
use crate::store::backend::Row;
use crate::store::customers::{CustomerBackend, customer_from_row, email_from_row, phone_from_row};

impl CustomerBackend for PgStore {
    // Sorted as SQLite sorts: byte order ("C"), missing names first.
    const SEARCH_SQL: &'static str = r#"SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key, time_zone
              FROM customers c
              WHERE c.dealer_uuid = $1 AND (
                  ($2 <> '' AND (c.customer_key = $2
                      OR c.first_name ILIKE $3 ESCAPE '\'
                      OR c.last_name ILIKE $3 ESCAPE '\'
                      OR (COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, '')) ILIKE $3 ESCAPE '\'
                      OR c.company ILIKE $3 ESCAPE '\'))
                  OR EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_uuid = c.uuid AND p.phone_number = $4)
                  OR EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_uuid = c.uuid AND e.email_address = $5))
              ORDER BY c.last_name COLLATE "C" NULLS FIRST, c.first_name COLLATE "C" NULLS FIRST, c.uuid
              LIMIT $6"#;

    async fn hydrate(conn: &mut PgConnection, rows: Vec<PgRow>) -> StoreResult<Vec<Customer>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let uuids = rows
            .iter()
            .map(|r| r.uuid("uuid"))
            .collect::<StoreResult<Vec<_>>>()?;
        let phone_rows = sqlx::query(
            "SELECT customer_uuid, phone_number, label, ok_to_text, is_preferred FROM customer_phones
             WHERE customer_uuid = ANY($1) ORDER BY customer_uuid, position",
        )
        .bind(&uuids)
        .fetch_all(&mut *conn)
        .await?;
        let email_rows = sqlx::query(
            "SELECT customer_uuid, email_address, label, ok_to_email, do_not_cc, is_preferred FROM customer_emails
             WHERE customer_uuid = ANY($1) ORDER BY customer_uuid, position",
        )
        .bind(&uuids)
        .fetch_all(&mut *conn)
        .await?;
        let mut phones: HashMap<Uuid, Vec<CustomerPhone>> = HashMap::new();
        for p in &phone_rows {
            let phone = phone_from_row(p)?;
            phones
                .entry(p.uuid("customer_uuid")?)
                .or_default()
                .push(phone);
        }
        let mut emails: HashMap<Uuid, Vec<CustomerEmail>> = HashMap::new();
        for e in &email_rows {
            let email = email_from_row(e)?;
            emails
                .entry(e.uuid("customer_uuid")?)
                .or_default()
                .push(email);
        }
        rows.iter()
            .zip(uuids)
            .map(|(r, uuid)| {
                let phones = phones.remove(&uuid).unwrap_or_default();
                customer_from_row(r, phones, emails.remove(&uuid).unwrap_or_default())
            })
            .collect()
    }
}
