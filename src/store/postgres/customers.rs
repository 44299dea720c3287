use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::compliance::{HistoryRow, apply_change, insert_event};
use super::{PgStore, at, corrupt};
use crate::domain::customer::{
    ContactOrigin, Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel,
};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{
    CustomerQuery, CustomerStore, EmailFlags, EmailOptChange, OptChange, StoreError, StoreResult,
};

const CUSTOMER_COLUMNS: &str = "uuid, dealer_uuid, first_name, last_name, company, customer_key";

#[async_trait]
impl CustomerStore for PgStore {
    async fn save_customer_caused(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let uuid = customer.uuid;
        let upserted = sqlx::query(
            "INSERT INTO customers (uuid, dealer_uuid, first_name, last_name, company, customer_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (uuid) DO UPDATE SET first_name = excluded.first_name,
                 last_name = excluded.last_name, company = excluded.company,
                 customer_key = excluded.customer_key, updated_at = excluded.updated_at
             WHERE customers.dealer_uuid = excluded.dealer_uuid",
        )
        .bind(uuid)
        .bind(customer.dealer_uuid)
        .bind(&customer.first_name)
        .bind(&customer.last_name)
        .bind(&customer.company)
        .bind(&customer.customer_key)
        .bind(at(now))
        .execute(&mut *tx)
        .await?;
        if upserted.rows_affected() == 0 {
            // The UUID exists under another dealer: never overwrite across tenants.
            return Err(StoreError::Conflict("customer"));
        }
        // The upsert holds the customer's row lock, so concurrent saves of one customer
        // replace its contacts one after the other.
        let before: Vec<(String, bool)> = sqlx::query_as(
            "SELECT email_address, ok_to_email FROM customer_emails WHERE customer_uuid = $1",
        )
        .bind(uuid)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM customer_phones WHERE customer_uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM customer_emails WHERE customer_uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        for (i, p) in customer.phone_numbers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO customer_phones (customer_uuid, position, phone_number, label, ok_to_text, is_preferred)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid)
            .bind(position(i)?)
            .bind(p.phone_number.as_str())
            .bind(p.label.as_str())
            .bind(p.ok_to_text)
            .bind(p.is_preferred)
            .execute(&mut *tx)
            .await?;
            if origin == ContactOrigin::DmsImport {
                let change = OptChange {
                    phone: &p.phone_number,
                    event: OptEvent::DmsImport,
                    source: OptSource::DmsImport,
                    cause,
                };
                apply_change(&mut tx, customer.dealer_uuid, &change, now).await?;
            }
        }
        for (i, e) in customer.emails.iter().enumerate() {
            sqlx::query(
                "INSERT INTO customer_emails (customer_uuid, position, email_address, label, ok_to_email, do_not_cc, is_preferred)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(uuid)
            .bind(position(i)?)
            .bind(e.email_address.as_str())
            .bind(e.label.as_str())
            .bind(e.ok_to_email)
            .bind(e.do_not_cc)
            .bind(e.is_preferred)
            .execute(&mut *tx)
            .await?;
            let unchanged = before
                .iter()
                .any(|(a, ok)| a == e.email_address.as_str() && *ok == e.ok_to_email);
            if !unchanged {
                let row = HistoryRow {
                    event: OptEvent::CustomerSaved,
                    source: origin.opt_source(),
                    state: OptState::of_ok_to_email(e.ok_to_email),
                    cause,
                };
                let address = e.email_address.as_str();
                insert_event(
                    &mut tx,
                    "email_opt_events",
                    "email_address",
                    customer.dealer_uuid,
                    address,
                    &row,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn customer(&self, dealer: Uuid, uuid: Uuid) -> StoreResult<Option<Customer>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE uuid = $1 AND dealer_uuid = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid)
            .bind(dealer)
            .fetch_optional(&self.pool)
            .await?;
        Ok(self.hydrate(row.into_iter().collect()).await?.pop())
    }

    async fn customer_by_key(&self, dealer: Uuid, key: &str) -> StoreResult<Option<Customer>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE dealer_uuid = $1 AND customer_key = $2
             ORDER BY created_at, uuid LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dealer)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(self.hydrate(row.into_iter().collect()).await?.pop())
    }

    async fn search_customers(
        &self,
        dealer: Uuid,
        query: &CustomerQuery,
    ) -> StoreResult<Vec<Customer>> {
        let pattern = format!("%{}%", escape_like(&query.text));
        // Sorted as SQLite sorts: byte order ("C"), missing names first.
        let rows = sqlx::query(
            r#"SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key
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
              LIMIT $6"#,
        )
        .bind(dealer)
        .bind(&query.text)
        .bind(pattern)
        .bind(query.phone.as_ref().map(|p| p.as_str()))
        .bind(query.email.as_ref().map(|e| e.as_str()))
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await?;
        self.hydrate(rows).await
    }

    async fn set_ok_to_email(
        &self,
        dealer: Uuid,
        change: &EmailOptChange<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let (email, ok) = (change.email, change.ok_to_email);
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE customer_emails SET ok_to_email = $3
             WHERE email_address = $2
               AND customer_uuid IN (SELECT uuid FROM customers WHERE dealer_uuid = $1)",
        )
        .bind(dealer)
        .bind(email.as_str())
        .bind(ok)
        .execute(&mut *tx)
        .await?;
        let row = HistoryRow {
            event: change.event,
            source: change.source,
            state: if done.rows_affected() == 0 {
                OptState::NotSet
            } else {
                OptState::of_ok_to_email(ok)
            },
            cause: change.cause,
        };
        insert_event(
            &mut tx,
            "email_opt_events",
            "email_address",
            dealer,
            email.as_str(),
            &row,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn email_flags(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<EmailFlags>> {
        let rows = sqlx::query(
            "SELECT e.ok_to_email, e.do_not_cc FROM customer_emails e JOIN customers c ON c.uuid = e.customer_uuid
             WHERE c.dealer_uuid = $1 AND e.email_address = $2",
        )
        .bind(dealer)
        .bind(email.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EmailFlags {
                    ok_to_email: r.try_get("ok_to_email")?,
                    do_not_cc: r.try_get("do_not_cc")?,
                })
            })
            .collect()
    }
}

impl PgStore {
    /// Completes customer rows with their numbers and addresses: two queries for any number
    /// of customers.
    async fn hydrate(&self, rows: Vec<PgRow>) -> StoreResult<Vec<Customer>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let uuids = rows
            .iter()
            .map(|r| r.try_get::<Uuid, _>("uuid"))
            .collect::<Result<Vec<_>, _>>()?;
        let phone_rows = sqlx::query(
            "SELECT customer_uuid, phone_number, label, ok_to_text, is_preferred FROM customer_phones
             WHERE customer_uuid = ANY($1) ORDER BY customer_uuid, position",
        )
        .bind(&uuids)
        .fetch_all(&self.pool)
        .await?;
        let email_rows = sqlx::query(
            "SELECT customer_uuid, email_address, label, ok_to_email, do_not_cc, is_preferred FROM customer_emails
             WHERE customer_uuid = ANY($1) ORDER BY customer_uuid, position",
        )
        .bind(&uuids)
        .fetch_all(&self.pool)
        .await?;

        let mut phones: HashMap<Uuid, Vec<CustomerPhone>> = HashMap::new();
        for p in &phone_rows {
            let number: String = p.try_get("phone_number")?;
            let label: String = p.try_get("label")?;
            phones
                .entry(p.try_get("customer_uuid")?)
                .or_default()
                .push(CustomerPhone {
                    phone_number: PhoneNumber::parse(&number)
                        .map_err(|_| corrupt("phone number", &number))?,
                    label: PhoneLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
                    ok_to_text: p.try_get("ok_to_text")?,
                    is_preferred: p.try_get("is_preferred")?,
                });
        }
        let mut emails: HashMap<Uuid, Vec<CustomerEmail>> = HashMap::new();
        for e in &email_rows {
            let address: String = e.try_get("email_address")?;
            let label: String = e.try_get("label")?;
            emails
                .entry(e.try_get("customer_uuid")?)
                .or_default()
                .push(CustomerEmail {
                    email_address: EmailAddress::parse(&address)
                        .map_err(|_| corrupt("email address", &address))?,
                    label: EmailLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
                    ok_to_email: e.try_get("ok_to_email")?,
                    do_not_cc: e.try_get("do_not_cc")?,
                    is_preferred: e.try_get("is_preferred")?,
                });
        }
        rows.iter()
            .zip(uuids)
            .map(|(r, uuid)| {
                Ok(Customer {
                    uuid,
                    dealer_uuid: r.try_get("dealer_uuid")?,
                    first_name: r.try_get("first_name")?,
                    last_name: r.try_get("last_name")?,
                    company: r.try_get("company")?,
                    customer_key: r.try_get("customer_key")?,
                    phone_numbers: phones.remove(&uuid).unwrap_or_default(),
                    emails: emails.remove(&uuid).unwrap_or_default(),
                })
            })
            .collect()
    }
}

fn position(i: usize) -> StoreResult<i32> {
    i32::try_from(i).map_err(|_| StoreError::Corrupt(format!("contact position {i}")))
}

/// Escapes `LIKE` wildcards so a search term matches literally.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
