use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::compliance::{HistoryRow, apply_change, insert_event};
use super::{SqliteStore, corrupt, ms, parse_uuid};
use crate::domain::customer::{
    ContactOrigin, Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel,
};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{
    CustomerQuery, CustomerStore, EmailFlags, EmailOptChange, OptChange, StoreError, StoreResult,
};

#[async_trait]
impl CustomerStore for SqliteStore {
    async fn save_customer_caused(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let uuid = customer.uuid.to_string();
        let upserted = sqlx::query(
            "INSERT INTO customers (uuid, dealer_uuid, first_name, last_name, company, customer_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (uuid) DO UPDATE SET first_name = excluded.first_name,
                 last_name = excluded.last_name, company = excluded.company,
                 customer_key = excluded.customer_key, updated_at = excluded.updated_at
             WHERE customers.dealer_uuid = excluded.dealer_uuid",
        )
        .bind(&uuid)
        .bind(customer.dealer_uuid.to_string())
        .bind(&customer.first_name)
        .bind(&customer.last_name)
        .bind(&customer.company)
        .bind(&customer.customer_key)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if upserted.rows_affected() == 0 {
            // The UUID exists under another dealer: never overwrite across tenants.
            return Err(StoreError::Conflict("customer"));
        }
        let before: Vec<(String, bool)> = sqlx::query_as(
            "SELECT email_address, ok_to_email FROM customer_emails WHERE customer_uuid = $1",
        )
        .bind(&uuid)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM customer_phones WHERE customer_uuid = $1")
            .bind(&uuid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM customer_emails WHERE customer_uuid = $1")
            .bind(&uuid)
            .execute(&mut *tx)
            .await?;
        for (i, p) in customer.phone_numbers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO customer_phones (customer_uuid, position, phone_number, label, ok_to_text, is_preferred)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&uuid)
            .bind(i as i64)
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
            .bind(&uuid)
            .bind(i as i64)
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
        let row = sqlx::query(
            "SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key
             FROM customers WHERE uuid = $1 AND dealer_uuid = $2",
        )
        .bind(uuid.to_string())
        .bind(dealer.to_string())
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(r) => Ok(Some(self.hydrate(r).await?)),
            None => Ok(None),
        }
    }

    async fn customer_by_key(&self, dealer: Uuid, key: &str) -> StoreResult<Option<Customer>> {
        let row = sqlx::query(
            "SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key
             FROM customers WHERE dealer_uuid = $1 AND customer_key = $2
             ORDER BY created_at, uuid LIMIT 1",
        )
        .bind(dealer.to_string())
        .bind(key)
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(r) => Ok(Some(self.hydrate(r).await?)),
            None => Ok(None),
        }
    }

    async fn search_customers(
        &self,
        dealer: Uuid,
        query: &CustomerQuery,
    ) -> StoreResult<Vec<Customer>> {
        let pattern = format!("%{}%", escape_like(&query.text));
        let rows = sqlx::query(
            r"SELECT uuid, dealer_uuid, first_name, last_name, company, customer_key
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
              LIMIT $6",
        )
        .bind(dealer.to_string())
        .bind(&query.text)
        .bind(pattern)
        .bind(query.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(query.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(i64::from(query.limit))
        .fetch_all(&self.reader)
        .await?;
        let mut found = Vec::with_capacity(rows.len());
        for r in rows {
            found.push(self.hydrate(r).await?);
        }
        Ok(found)
    }

    async fn set_ok_to_email(
        &self,
        dealer: Uuid,
        change: &EmailOptChange<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let (email, ok) = (change.email, change.ok_to_email);
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE customer_emails SET ok_to_email = $3
             WHERE email_address = $2
               AND customer_uuid IN (SELECT uuid FROM customers WHERE dealer_uuid = $1)",
        )
        .bind(dealer.to_string())
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
        .bind(dealer.to_string())
        .bind(email.as_str())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .iter()
            .map(|r| EmailFlags {
                ok_to_email: r.get("ok_to_email"),
                do_not_cc: r.get("do_not_cc"),
            })
            .collect())
    }
}

impl SqliteStore {
    /// Completes a customer row with its numbers and addresses.
    async fn hydrate(&self, r: SqliteRow) -> StoreResult<Customer> {
        let uuid_text: String = r.get("uuid");
        let phones = sqlx::query(
            "SELECT phone_number, label, ok_to_text, is_preferred FROM customer_phones
             WHERE customer_uuid = $1 ORDER BY position",
        )
        .bind(&uuid_text)
        .fetch_all(&self.reader)
        .await?;
        let emails = sqlx::query(
            "SELECT email_address, label, ok_to_email, do_not_cc, is_preferred FROM customer_emails
             WHERE customer_uuid = $1 ORDER BY position",
        )
        .bind(&uuid_text)
        .fetch_all(&self.reader)
        .await?;
        Ok(Customer {
            uuid: parse_uuid(&uuid_text)?,
            dealer_uuid: parse_uuid(r.get("dealer_uuid"))?,
            first_name: r.get("first_name"),
            last_name: r.get("last_name"),
            company: r.get("company"),
            customer_key: r.get("customer_key"),
            phone_numbers: phones
                .iter()
                .map(|p| {
                    let number: String = p.get("phone_number");
                    let label: String = p.get("label");
                    Ok(CustomerPhone {
                        phone_number: PhoneNumber::parse(&number)
                            .map_err(|_| corrupt("phone number", &number))?,
                        label: PhoneLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
                        ok_to_text: p.get("ok_to_text"),
                        is_preferred: p.get("is_preferred"),
                    })
                })
                .collect::<StoreResult<_>>()?,
            emails: emails
                .iter()
                .map(|e| {
                    let address: String = e.get("email_address");
                    let label: String = e.get("label");
                    Ok(CustomerEmail {
                        email_address: EmailAddress::parse(&address)
                            .map_err(|_| corrupt("email address", &address))?,
                        label: EmailLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
                        ok_to_email: e.get("ok_to_email"),
                        do_not_cc: e.get("do_not_cc"),
                        is_preferred: e.get("is_preferred"),
                    })
                })
                .collect::<StoreResult<_>>()?,
        })
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
