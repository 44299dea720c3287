//! The processes under load: `herald serve` on a fresh store (a temporary SQLite file, or a
//! new PostgreSQL database dropped afterwards) wired to the fakes, and the no-op ceiling server.
//! Each is a child process so its peak RSS can be read from `/proc/<pid>/status`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::fakes;

pub const ADMIN: &str = "herald-bench-admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// A fresh, empty store; removed again on drop.
pub enum FreshStore {
    Sqlite {
        url: String,
        dir: PathBuf,
    },
    Postgres {
        url: String,
        server: String,
        name: String,
    },
}

impl FreshStore {
    pub async fn create(kind: StoreKind, postgres_server: &str) -> anyhow::Result<Self> {
        match kind {
            StoreKind::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("herald-bench-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}", dir.join("herald.db").display());
                Ok(Self::Sqlite { url, dir })
            }
            StoreKind::Postgres => {
                let mut admin = PgConnection::connect(postgres_server)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {postgres_server}"))?;
                let name = format!("herald_bench_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
                    .await?;
                let _ = admin.close().await;
                let mut url = reqwest::Url::parse(postgres_server)?;
                url.set_path(&format!("/{name}"));
                Ok(Self::Postgres {
                    url: url.into(),
                    server: postgres_server.to_string(),
                    name,
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// Removes the SQLite directory or drops the PostgreSQL database.
    pub async fn remove(self) {
        if let Self::Sqlite { dir, .. } = &self {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Self::Postgres { server, name, .. } = self
            && let Ok(mut admin) = PgConnection::connect(&server).await
        {
            let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
            if let Err(e) = admin.execute(AssertSqlSafe(sql)).await {
                eprintln!("warning: could not drop {name}: {e}");
            }
            let _ = admin.close().await;
        }
    }
}

/// A child process serving HTTP on loopback.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Peak resident set size so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The `herald` binary next to this one (both are built into the same target directory).
pub fn sibling_herald() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("herald")
}

/// Starts `herald serve` on `database_url`, texting through `twilio` and with callbacks
/// allowed to reach loopback, and waits for its "herald listening" log line.
pub async fn start_herald(
    herald: &Path,
    database_url: &str,
    twilio_base_url: &str,
    extra_env: &[(String, String)],
) -> anyhow::Result<Served> {
    let mut command = Command::new(herald);
    command
        .arg("serve")
        .env_clear()
        .env("HERALD_LISTEN", "127.0.0.1:0")
        .env("HERALD_DATABASE_URL", database_url)
        .env("HERALD_ADMIN_TOKEN", ADMIN)
        .env("HERALD_LOG_FORMAT", "json")
        .env("HERALD_TEXT__PROVIDER", "twilio")
        .env("HERALD_TEXT__TWILIO__BASE_URL", twilio_base_url)
        .env("HERALD_TEXT__TWILIO__ACCOUNT_SID", fakes::ACCOUNT_SID)
        .env("HERALD_TEXT__TWILIO__AUTH_TOKEN", fakes::AUTH_TOKEN)
        .env("HERALD_CALLBACKS__ALLOW_PRIVATE_NETWORKS", "true")
        .env("HERALD_PUBLIC_BASE_URL", fakes::PUBLIC_BASE_URL);
    // Herald's own defaults (`info,sqlx=warn`) unless the operator asks for another filter.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        command.env("RUST_LOG", filter);
    }
    command.envs(extra_env.iter().map(|(k, v)| (k, v)));
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", herald.display()))?;
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let address = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "herald listening" {
                return Ok(entry["fields"]["address"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string());
            }
        }
        bail!("herald exited before listening")
    })
    .await
    .context("herald did not listen within 60 s")??;
    // Keep draining its log so the pipe never fills; show only warnings and errors.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
                eprintln!("herald: {line}");
            }
        }
    });
    Ok(Served {
        child,
        url: format!("http://{address}"),
    })
}

/// Starts this program again as the no-op ceiling server and reads its address.
pub async fn start_noop() -> anyhow::Result<Served> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve-noop")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let address = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .context("no-op server did not start")??
        .context("no-op server exited")?;
    Ok(Served {
        child,
        url: format!("http://{}", address.trim()),
    })
}

/// What a send needs: a department, its user, an opted-in customer and a credential.
pub struct Tenant {
    /// One send path per customer, with the customer's number.
    pub customers: Vec<(String, String)>,
    pub username: String,
    pub password: String,
}

/// The number of customer `i`: John Doe's `1234567890` first, then the ones after it.
pub fn customer_number(i: usize) -> String {
    format!("12345{}", 67890 + i)
}

/// A POST to the admin API that must succeed; its JSON answer.
pub async fn admin(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

/// The string `field` of `value`.
pub fn uuid_of(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no {field} in {value}"))
}

/// One dealer, one department with rate limits far above any benchmark's volume, its user
/// Sarah Johnson, `customers` John Does imported from the DMS (so their numbers are
/// OPTED_IN; the first has the seed's `1234567890`) and a credential holding
/// `message.create`.
pub async fn tenant(base: &str, customers: usize) -> anyhow::Result<Tenant> {
    let client = reqwest::Client::new();
    let dealer = uuid_of(
        &admin(
            &client,
            base,
            "/admin/v1/dealers",
            json!({"name": "Bench Motors"}),
        )
        .await?,
        "uuid",
    )?;
    let department = uuid_of(
        &admin(
            &client,
            base,
            &format!("/admin/v1/dealers/{dealer}/departments"),
            json!({
                "name": "Service", "textSenderNumber": "+14155550100",
                "rateLimits": {"automatedPerHour": 1_000_000_000u32, "automatedPerDay": 1_000_000_000u32,
                               "manualPerHour": 1_000_000_000u32}
            }),
        )
        .await?,
        "uuid",
    )?;
    let user = uuid_of(
        &admin(
            &client,
            base,
            &format!("/admin/v1/departments/{department}/users"),
            json!({"firstName": "Sarah", "lastName": "Johnson"}),
        )
        .await?,
        "uuid",
    )?;
    let people: Vec<Value> = (0..customers)
        .map(|i| {
            json!({"firstName": "John", "lastName": "Doe", "customerKey": format!("DMS-{}", i + 1),
                "phoneNumbers": [{"phoneNumber": customer_number(i), "isPreferred": true}]})
        })
        .collect();
    let imported = admin(
        &client,
        base,
        &format!("/admin/v1/dealers/{dealer}/customers"),
        json!({ "customers": people }),
    )
    .await?;
    let uuids = imported["uuids"]
        .as_array()
        .filter(|u| u.len() == customers)
        .with_context(|| format!("not {customers} customers in {imported}"))?;
    let customers = uuids
        .iter()
        .enumerate()
        .map(|(i, uuid)| {
            let customer = uuid.as_str().unwrap_or_default();
            (
                format!(
                    "/communications/department/{department}/user/{user}/customer/{customer}/message"
                ),
                customer_number(i),
            )
        })
        .collect();
    let credential = admin(
        &client,
        base,
        "/admin/v1/credentials",
        json!({"grants": [{"scope": "message.create", "level": "DealerDepartment", "uuid": department}]}),
    )
    .await?;
    Ok(Tenant {
        customers,
        username: uuid_of(&credential, "username")?,
        password: uuid_of(&credential, "password")?,
    })
}

/// The seed's example 1 (asynchronous), verbatim but for the callback URL and, past the
/// first customer, the customer's number.
pub fn example_one(callback: &str, number: &str) -> Value {
    json!({
        "messageAttributes": {
            "body": "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!",
            "isManual": true,
            "protocol": "TEXT",
            "type": "OUTGOING"
        },
        "messageSendingAttributes": {
            "communicationValueOfCustomer": number,
            "sendSynchronously": false,
            "callbackURL": callback,
            "callbackMetaData": {"appointmentId": "12345", "source": "appointment-reminder"},
            "addTCPAFooter": true,
            "addSignature": true,
            "addFooter": false,
            "sendVCard": false
        }
    })
}

/// A JPEG-sized attachment of `bytes` bytes, different for each customer `i`, in base64.
pub fn picture(bytes: usize, i: usize) -> Value {
    use base64::Engine as _;
    let mut content = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = i as u32 + 1;
    while content.len() < bytes.max(6) - 2 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        content.push((x >> 16) as u8);
    }
    content.extend([0xFF, 0xD9]);
    json!({
        "fileName": "pads.jpg",
        "contentType": "image/jpeg",
        "content": base64::engine::general_purpose::STANDARD.encode(content),
    })
}
