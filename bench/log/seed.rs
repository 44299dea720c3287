//! The store under measurement: a directory made through the admin API, one message sent
//! through the send endpoint, and that message's row copied in the database itself, so every
//! copy is a row Herald wrote (its options, metadata and warnings as Herald stores them).

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

use crate::target::{FreshStore, admin, uuid_of as field};

/// Customers of the busy dealer the copies are spread over.
const CUSTOMERS: usize = 1000;
/// The copies' times are spread over the 30 days before now.
const SPAN_MS: i64 = 30 * 24 * 3600 * 1000;

/// Two dealers: the first with two busy departments and a sparse one (one message in 2,000),
/// the second with one department (one message in 100).
pub struct Directory {
    pub dealers: [String; 2],
    pub departments: [String; 4],
    pub customers: Vec<String>,
    /// Basic credentials holding `message.read` and `message.create` on the first department.
    pub reader: (String, String),
    pub template_message: String,
}

impl Directory {
    pub async fn create(client: &reqwest::Client, base: &str) -> anyhow::Result<Self> {
        let mut dealers = Vec::new();
        let mut departments = Vec::new();
        for (dealer, names) in [
            ("Bench Motors", &["Service", "Sales", "Parts"][..]),
            ("Second Motors", &["Service"][..]),
        ] {
            let uuid = field(
                &admin(client, base, "/admin/v1/dealers", json!({"name": dealer})).await?,
                "uuid",
            )?;
            for (i, name) in names.iter().enumerate() {
                let number = format!("+1415555{:04}", 100 + departments.len() * 10 + i);
                let created = admin(
                    client,
                    base,
                    &format!("/admin/v1/dealers/{uuid}/departments"),
                    json!({"name": name, "textSenderNumber": number}),
                )
                .await?;
                departments.push(field(&created, "uuid")?);
            }
            dealers.push(uuid);
        }
        let people: Vec<Value> = (0..CUSTOMERS)
            .map(|i| {
                json!({"firstName": "John", "lastName": format!("Doe {i}"), "customerKey": format!("DMS-{i}"),
                    "phoneNumbers": [{"phoneNumber": format!("+1555{:07}", i), "isPreferred": true}]})
            })
            .collect();
        let imported = admin(
            client,
            base,
            &format!("/admin/v1/dealers/{}/customers", dealers[0]),
            json!({ "customers": people }),
        )
        .await?;
        let customers: Vec<String> = imported["uuids"]
            .as_array()
            .context("no uuids")?
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect();
        let user = field(
            &admin(
                client,
                base,
                &format!("/admin/v1/departments/{}/users", departments[0]),
                json!({"firstName": "Sarah", "lastName": "Johnson"}),
            )
            .await?,
            "uuid",
        )?;
        let credential = admin(
            client,
            base,
            "/admin/v1/credentials",
            json!({"grants": [
                {"scope": "message.read", "level": "DealerDepartment", "uuid": departments[0]},
                {"scope": "message.create", "level": "DealerDepartment", "uuid": departments[0]}
            ]}),
        )
        .await?;
        let reader = (
            field(&credential, "username")?,
            field(&credential, "password")?,
        );
        let sent = client
            .post(format!(
                "{base}/communications/department/{}/user/{user}/customer/{}/message",
                departments[0], customers[0]
            ))
            .basic_auth(&reader.0, Some(&reader.1))
            .json(&json!({
                "messageAttributes": {"body": "Your vehicle is ready for pick-up.", "isManual": true,
                                      "protocol": "TEXT", "type": "OUTGOING"},
                "messageSendingAttributes": {"communicationValueOfCustomer": "+15550000000"}
            }))
            .send()
            .await?;
        let status = sent.status();
        let body: Value = sent.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("send: {status} {body}");
        }
        Ok(Self {
            dealers: [dealers[0].clone(), dealers[1].clone()],
            departments: [0, 1, 2, 3].map(|i| departments[i].clone()),
            customers,
            reader,
            template_message: field(&body, "messageUUID")?,
        })
    }
}

/// Which department, status and protocol copy `i` gets, the same in both dialects: 60% and
/// 39% of the first dealer's copies in its two busy departments, one in 2,000 in the sparse
/// one, one in 100 at the second dealer; 5% `FAILED`, 2% `UNDELIVERED`, 1% `EXPIRED`, the rest
/// `DELIVERED`; a quarter EMAIL.
const MIX: &str = "
    CASE WHEN i % 100 = 99 THEN {d1} ELSE {d0} END,
    CASE WHEN i % 100 = 99 THEN {p3} WHEN i % 2000 = 1 THEN {p2} WHEN i % 100 < 60 THEN {p0} ELSE {p1} END,
    CASE WHEN i % 100 = 99 THEN NULL ELSE {customer} END,
    t.user_uuid, t.credential, t.direction,
    CASE WHEN i % 4 = 0 THEN 'EMAIL' ELSE 'TEXT' END,
    t.purpose, t.is_manual, t.body, t.subject, t.recipient, t.cc, t.bcc, t.options,
    t.override_optout, t.callback_url, t.callback_metadata, t.request_uuid,
    CASE WHEN i % 20 = 3 THEN 'FAILED' WHEN i % 50 = 7 THEN 'UNDELIVERED'
         WHEN i % 100 = 11 THEN 'EXPIRED' ELSE 'DELIVERED' END,
    CASE WHEN i % 20 = 3 THEN 'MESSAGE_SEND_FAILED' ELSE NULL END,
    t.error_description, t.warnings, {provider_id}, t.composed_body, t.sender,
    {at}, {at}";

const COLUMNS: &str = "uuid, dealer_uuid, department_uuid, customer_uuid, user_uuid, credential, \
    direction, protocol, purpose, is_manual, body, subject, recipient, cc, bcc, options, \
    override_optout, callback_url, callback_metadata, request_uuid, status, error_code, \
    error_description, warnings, provider_message_id, composed_body, sender, created_at, updated_at";

fn mix(
    dir: &Directory,
    customer: &str,
    provider_id: &str,
    at: &str,
    quote: impl Fn(&str) -> String,
) -> String {
    MIX.replace("{d0}", &quote(&dir.dealers[0]))
        .replace("{d1}", &quote(&dir.dealers[1]))
        .replace("{p0}", &quote(&dir.departments[0]))
        .replace("{p1}", &quote(&dir.departments[1]))
        .replace("{p2}", &quote(&dir.departments[2]))
        .replace("{p3}", &quote(&dir.departments[3]))
        .replace("{customer}", customer)
        .replace("{provider_id}", provider_id)
        .replace("{at}", at)
}

/// Copies the template message `count` times, newest at now.
pub async fn copy_messages(store: &FreshStore, dir: &Directory, count: u32) -> anyhow::Result<()> {
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let step = SPAN_MS / i64::from(count.max(1));
    let customers = serde_json::to_string(&dir.customers)?;
    match store {
        FreshStore::Sqlite { url, .. } => {
            let at = format!("{now_ms} - ({count} - i) * {step}");
            let sql = format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {count}) \
                 INSERT INTO messages ({COLUMNS}) SELECT printf('00000000-0000-4000-8000-%012d', i), {} \
                 FROM n, messages t WHERE t.uuid = $1",
                mix(
                    dir,
                    &format!("json_extract($2, '$[' || (i % {CUSTOMERS}) || ']')"),
                    "'SM' || i",
                    &at,
                    |u| format!("'{u}'"),
                )
            );
            let mut db = SqliteConnection::connect(url).await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(&dir.template_message)
                .bind(&customers)
                .execute(&mut db)
                .await
                .context("copying messages")?;
            db.close().await?;
        }
        FreshStore::Postgres { url, .. } => {
            let at = format!(
                "to_timestamp(({now_ms}::bigint - ({count} - i) * {step}::bigint) / 1000.0)"
            );
            let sql = format!(
                "INSERT INTO messages ({COLUMNS}) SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, {} \
                 FROM generate_series(0, {count} - 1) AS i, messages t WHERE t.uuid = $1::uuid",
                mix(
                    dir,
                    &format!("($2::jsonb ->> (i % {CUSTOMERS}))::uuid"),
                    "'SM' || i",
                    &at,
                    |u| format!("'{u}'::uuid"),
                )
            );
            let mut db = PgConnection::connect(url).await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(&dir.template_message)
                .bind(&customers)
                .execute(&mut db)
                .await
                .context("copying messages")?;
            // What autovacuum does on its own a minute after a bulk load.
            sqlx::query("ANALYZE messages").execute(&mut db).await?;
            db.close().await?;
        }
    }
    Ok(())
}
