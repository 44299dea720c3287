//! Customers with their numbers and addresses, and the `okToEmail` of an address: the trait,
//! and its one implementation over both backends. A backend keeps its own search SQL
//! (PostgreSQL matches any case and sorts as SQLite does) and its own way of completing
//! customer rows with their contacts ([`CustomerBackend::hydrate`]).

use std::future::Future;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Query, Row, corrupt};
use super::compliance::ComplianceBackend;
use super::compliance_rows::{EMAIL_HISTORY, HistoryRow, apply_change, insert_event};
use super::{OptChange, StoreError, StoreResult};
use crate::domain::customer::{
    ContactOrigin, Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel,
};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use crate::domain::quiet_hours::settings::ZoneName;
use crate::domain::{EmailAddress, PhoneNumber};

/// One requested change to the `okToEmail` of an address, wherever the dealer's customers
/// have it, recorded in the address's history.
#[derive(Debug, Clone, Copy)]
pub struct EmailOptChange<'a> {
    pub email: &'a EmailAddress,
    pub ok_to_email: bool,
    pub event: OptEvent,
    pub source: OptSource,
    pub cause: &'a OptCause,
}

/// `okToEmail` and `doNotCC` of one customer's registration of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailFlags {
    pub ok_to_email: bool,
    pub do_not_cc: bool,
}

/// What a customer search matches on; built by the API from one search term.
#[derive(Debug, Clone)]
pub struct CustomerQuery {
    /// Matched against first name, last name, "first last", company (substring, any case)
    /// and customer key (exact). Empty matches no one (inbound texts look up by phone only).
    pub text: String,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub limit: u32,
}

#[async_trait]
pub trait CustomerStore: Send + Sync + 'static {
    /// Inserts or replaces a customer with its numbers and addresses, and gives numbers from a
    /// DMS import their opt-in, all in one transaction.
    async fn save_customer(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.save_customer_caused(customer, origin, &OptCause::NONE, now)
            .await
    }
    /// [`CustomerStore::save_customer`], with the cause kept in the opt history of what it
    /// changes: a DMS import's numbers, and every address whose `okToEmail` is new or changed.
    async fn save_customer_caused(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The customer, if it exists and belongs to `dealer`.
    async fn customer(&self, dealer: Uuid, uuid: Uuid) -> StoreResult<Option<Customer>>;
    async fn customer_by_key(&self, dealer: Uuid, key: &str) -> StoreResult<Option<Customer>>;
    async fn search_customers(
        &self,
        dealer: Uuid,
        query: &CustomerQuery,
    ) -> StoreResult<Vec<Customer>>;
    /// Sets `okToEmail` on every address equal to `change.email` among the dealer's
    /// customers and records the event in the address's history, in one transaction;
    /// returns how many were changed.
    async fn set_ok_to_email(
        &self,
        dealer: Uuid,
        change: &EmailOptChange<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// The flags of `email` wherever the dealer's customers have it (empty when unknown).
    async fn email_flags(&self, dealer: Uuid, email: &EmailAddress)
    -> StoreResult<Vec<EmailFlags>>;
}

/// What each backend does its own way for [`CustomerStore`].
pub trait CustomerBackend: ComplianceBackend {
    /// The search of [`CustomerStore::search_customers`]: $1 dealer, $2 the text, $3 its
    /// `LIKE` pattern, $4 phone, $5 email, $6 limit; selects [`CUSTOMER_COLUMNS`].
    const SEARCH_SQL: &'static str;

    /// Completes customer rows (of [`CUSTOMER_COLUMNS`]) with their numbers and addresses,
    /// in the order of `rows`.
    fn hydrate(
        conn: &mut Self::Conn,
        rows: Vec<Self::Row>,
    ) -> impl Future<Output = StoreResult<Vec<Customer>>> + Send;
}

pub(crate) const CUSTOMER_COLUMNS: &str =
    "uuid, dealer_uuid, first_name, last_name, company, customer_key, time_zone";

#[async_trait]
impl<S: CustomerBackend> CustomerStore for S {
    async fn save_customer_caused(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let uuid = customer.uuid;
        let upserted = S::query(
            "INSERT INTO customers (uuid, dealer_uuid, first_name, last_name, company, customer_key, created_at, updated_at, time_zone)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
             ON CONFLICT (uuid) DO UPDATE SET first_name = excluded.first_name,
                 last_name = excluded.last_name, company = excluded.company,
                 customer_key = excluded.customer_key, updated_at = excluded.updated_at,
                 time_zone = excluded.time_zone
             WHERE customers.dealer_uuid = excluded.dealer_uuid",
        )
        .uuid(uuid)
        .uuid(customer.dealer_uuid)
        .bind(&customer.first_name)
        .bind(&customer.last_name)
        .bind(&customer.company)
        .bind(&customer.customer_key)
        .time(now)
        .bind(customer.time_zone.as_ref().map(|z| z.as_str()))
        .execute(&mut tx)
        .await?;
        if upserted == 0 {
            // The UUID exists under another dealer: never overwrite across tenants.
            return Err(StoreError::Conflict("customer"));
        }
        // On PostgreSQL the upsert holds the customer's row lock, so concurrent saves of one
        // customer replace its contacts one after the other.
        let before = S::query(
            "SELECT email_address, ok_to_email FROM customer_emails WHERE customer_uuid = $1",
        )
        .uuid(uuid)
        .fetch_all(&mut tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.field::<String>("email_address")?,
                r.field::<bool>("ok_to_email")?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        S::query("DELETE FROM customer_phones WHERE customer_uuid = $1")
            .uuid(uuid)
            .execute(&mut tx)
            .await?;
        S::query("DELETE FROM customer_emails WHERE customer_uuid = $1")
            .uuid(uuid)
            .execute(&mut tx)
            .await?;
        for (i, p) in customer.phone_numbers.iter().enumerate() {
            S::query(
                "INSERT INTO customer_phones (customer_uuid, position, phone_number, label, ok_to_text, is_preferred)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .uuid(uuid)
            .bind(position(i)?)
            .bind(p.phone_number.as_str())
            .bind(p.label.as_str())
            .bind(p.ok_to_text)
            .bind(p.is_preferred)
            .execute(&mut tx)
            .await?;
            if origin == ContactOrigin::DmsImport {
                let change = OptChange {
                    phone: &p.phone_number,
                    event: OptEvent::DmsImport,
                    source: OptSource::DmsImport,
                    cause,
                };
                apply_change::<S>(&mut tx, customer.dealer_uuid, &change, now).await?;
            }
        }
        for (i, e) in customer.emails.iter().enumerate() {
            S::query(
                "INSERT INTO customer_emails (customer_uuid, position, email_address, label, ok_to_email, do_not_cc, is_preferred)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .uuid(uuid)
            .bind(position(i)?)
            .bind(e.email_address.as_str())
            .bind(e.label.as_str())
            .bind(e.ok_to_email)
            .bind(e.do_not_cc)
            .bind(e.is_preferred)
            .execute(&mut tx)
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
                let dealer = customer.dealer_uuid;
                insert_event::<S>(&mut tx, EMAIL_HISTORY, dealer, address, &row, now).await?;
            }
        }
        S::commit(tx).await?;
        Ok(())
    }

    async fn customer(&self, dealer: Uuid, uuid: Uuid) -> StoreResult<Option<Customer>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE uuid = $1 AND dealer_uuid = $2"
        );
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(uuid)
            .uuid(dealer)
            .fetch_optional(&mut conn)
            .await?;
        Ok(S::hydrate(&mut conn, row.into_iter().collect())
            .await?
            .pop())
    }

    async fn customer_by_key(&self, dealer: Uuid, key: &str) -> StoreResult<Option<Customer>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE dealer_uuid = $1 AND customer_key = $2
             ORDER BY created_at, uuid LIMIT 1"
        );
        let mut conn = self.read().await?;
        let row = S::query(sqlx::AssertSqlSafe(sql))
            .uuid(dealer)
            .bind(key)
            .fetch_optional(&mut conn)
            .await?;
        Ok(S::hydrate(&mut conn, row.into_iter().collect())
            .await?
            .pop())
    }

    async fn search_customers(
        &self,
        dealer: Uuid,
        query: &CustomerQuery,
    ) -> StoreResult<Vec<Customer>> {
        let pattern = format!("%{}%", escape_like(&query.text));
        let mut conn = self.read().await?;
        let rows = S::query(S::SEARCH_SQL)
            .uuid(dealer)
            .bind(&query.text)
            .bind(pattern)
            .bind(query.phone.as_ref().map(|p| p.as_str()))
            .bind(query.email.as_ref().map(|e| e.as_str()))
            .bind(i64::from(query.limit))
            .fetch_all(&mut conn)
            .await?;
        S::hydrate(&mut conn, rows).await
    }

    async fn set_ok_to_email(
        &self,
        dealer: Uuid,
        change: &EmailOptChange<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let (email, ok) = (change.email, change.ok_to_email);
        let mut tx = self.begin().await?;
        let done = S::query(
            "UPDATE customer_emails SET ok_to_email = $3
             WHERE email_address = $2
               AND customer_uuid IN (SELECT uuid FROM customers WHERE dealer_uuid = $1)",
        )
        .uuid(dealer)
        .bind(email.as_str())
        .bind(ok)
        .execute(&mut tx)
        .await?;
        let row = HistoryRow {
            event: change.event,
            source: change.source,
            state: if done == 0 {
                OptState::NotSet
            } else {
                OptState::of_ok_to_email(ok)
            },
            cause: change.cause,
        };
        insert_event::<S>(&mut tx, EMAIL_HISTORY, dealer, email.as_str(), &row, now).await?;
        S::commit(tx).await?;
        Ok(done)
    }

    async fn email_flags(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<EmailFlags>> {
        let mut conn = self.read().await?;
        let rows = S::query(
            "SELECT e.ok_to_email, e.do_not_cc FROM customer_emails e JOIN customers c ON c.uuid = e.customer_uuid
             WHERE c.dealer_uuid = $1 AND e.email_address = $2",
        )
        .uuid(dealer)
        .bind(email.as_str())
        .fetch_all(&mut conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EmailFlags {
                    ok_to_email: r.field("ok_to_email")?,
                    do_not_cc: r.field("do_not_cc")?,
                })
            })
            .collect()
    }
}

/// A customer row (of [`CUSTOMER_COLUMNS`]) with its numbers and addresses.
pub(crate) fn customer_from_row(
    r: &impl Row,
    phone_numbers: Vec<CustomerPhone>,
    emails: Vec<CustomerEmail>,
) -> StoreResult<Customer> {
    Ok(Customer {
        uuid: r.uuid("uuid")?,
        dealer_uuid: r.uuid("dealer_uuid")?,
        first_name: r.field("first_name")?,
        last_name: r.field("last_name")?,
        company: r.field("company")?,
        customer_key: r.field("customer_key")?,
        time_zone: match r.field::<Option<String>>("time_zone")? {
            Some(name) => Some(ZoneName::parse(&name).ok_or_else(|| corrupt("time_zone", &name))?),
            None => None,
        },
        phone_numbers,
        emails,
    })
}

/// A `customer_phones` row.
pub(crate) fn phone_from_row(p: &impl Row) -> StoreResult<CustomerPhone> {
    let number: String = p.field("phone_number")?;
    let label: String = p.field("label")?;
    Ok(CustomerPhone {
        phone_number: PhoneNumber::parse(&number).map_err(|_| corrupt("phone number", &number))?,
        label: PhoneLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
        ok_to_text: p.field("ok_to_text")?,
        is_preferred: p.field("is_preferred")?,
    })
}

/// A `customer_emails` row.
pub(crate) fn email_from_row(e: &impl Row) -> StoreResult<CustomerEmail> {
    let address: String = e.field("email_address")?;
    let label: String = e.field("label")?;
    Ok(CustomerEmail {
        email_address: EmailAddress::parse(&address)
            .map_err(|_| corrupt("email address", &address))?,
        label: EmailLabel::parse(&label).ok_or_else(|| corrupt("label", &label))?,
        ok_to_email: e.field("ok_to_email")?,
        do_not_cc: e.field("do_not_cc")?,
        is_preferred: e.field("is_preferred")?,
    })
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
