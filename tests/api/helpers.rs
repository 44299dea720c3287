//! `spawn_app()` and the calls most tests need: an admin to build a directory, and integrators
//! holding credentials.

#![allow(dead_code)]

use std::sync::Arc;

use herald::clock::Clock;
use herald::{Application, Settings};
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The number test departments text from, unless another dealer of the database has it.
pub const SENDER_NUMBER: &str = "+14155550100";

/// A sender number no other department of this test process has (+1 415 556 xxxx).
pub fn fresh_sender_number() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("+1415556{:04}", n % 10_000)
}

pub const ALL_SCOPES: [&str; 8] = [
    "message.create",
    "message.read",
    "customer.search",
    "customer.update",
    "optoutstatus.read",
    "optoutstatus.update",
    "manage.dealerassociate.default.read",
    "message.override_optout",
];

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    dir: Arc<TestData>,
    /// The time Herald's rules see: move it forward to expire waits, windows and locks.
    pub clock: Clock,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// This node's database, to start another node on it.
    pub fn data(&self) -> Arc<TestData> {
        self.dir.clone()
    }

    /// Stops Herald and waits until it has stopped; returns its data directory so another
    /// Herald can start on the same database.
    pub async fn stop(mut self) -> Arc<TestData> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("herald task")
                .expect("herald stops cleanly");
        }
        self.dir.clone()
    }
}

/// A test's database, shared by every Herald started on it: an SQLite file in a temporary
/// directory, or, with `HERALD_TEST_STORE=postgres`, a fresh PostgreSQL database (dropped
/// with the last reference).
pub struct TestData {
    _dir: TempDir,
    database_url: String,
    _postgres: Option<crate::postgres_support::DropGuard>,
}

impl TestData {
    pub async fn new() -> Arc<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = match std::env::var("HERALD_TEST_STORE").as_deref() {
            // Without a reachable server this says "skipped" and runs on SQLite instead;
            // under CI=true it fails.
            Ok("postgres") => match crate::postgres_support::fresh_database_url().await {
                Some((url, guard)) => (url, Some(guard)),
                None => (
                    format!("sqlite://{}", dir.path().join("herald.db").display()),
                    None,
                ),
            },
            Ok("sqlite") | Err(_) => (
                format!("sqlite://{}", dir.path().join("herald.db").display()),
                None,
            ),
            Ok(other) => panic!("HERALD_TEST_STORE={other}: expected sqlite or postgres"),
        };
        Arc::new(Self {
            _dir: dir,
            database_url,
            _postgres: postgres,
        })
    }
}

/// Test settings: port 0, the test's database, the admin API enabled.
pub fn test_settings(data: &TestData) -> Settings {
    let mut settings = Settings::load_without_env(None).expect("default settings");
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database_url = herald::config::DatabaseUrl::new(data.database_url.clone());
    settings.admin_token = Some(SecretString::from(ADMIN_TOKEN));
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts Herald with test settings adjusted by `configure`; returns once it is listening.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_in(TestData::new().await, configure).await
}

/// Starts Herald on the database in `dir` (a restart when another Herald used it before).
pub async fn spawn_app_in(dir: Arc<TestData>, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&dir);
    configure(&mut settings);
    let store = herald::store::connect(&settings.database_url)
        .await
        .expect("store opens");
    store.migrate().await.expect("migrations run");
    let clock = Clock::system();
    let app = Application::build_with(settings.clone(), store, clock.clone())
        .await
        .expect("herald builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        settings,
        shutdown,
        task: Some(task),
        dir,
        clock,
    }
}

/// A credential as issued by the admin API.
#[derive(Debug, Clone)]
pub struct Credential {
    pub username: String,
    pub password: String,
    pub webhook_secret: String,
}

/// A dealer with one department, one ordinary user and a credential holding every scope for
/// that department.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub dealer: Uuid,
    pub department: Uuid,
    pub default_user: Uuid,
    pub user: Uuid,
    pub credential: Credential,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request reaches herald")
    }

    /// An admin call that must succeed; returns its JSON body.
    pub async fn admin_ok(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self.admin(method, path, Some(body)).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        assert!(
            status.is_success(),
            "admin {path} answered {status}: {body}"
        );
        body
    }

    pub async fn create_dealer(&self, name: &str) -> Uuid {
        let body = self
            .admin_ok(Method::POST, "/admin/v1/dealers", json!({"name": name}))
            .await;
        uuid_of(&body["uuid"])
    }

    /// Creates a department with `settings` merged into sensible test defaults; returns
    /// `(department, default user)`. Quiet hours are off unless `settings` turns them on: the
    /// suite runs at whatever hour CI does, and quiet hours are tested on the clock the tests
    /// move (`quiet_hours.rs`). Without a `textSenderNumber` of the test's own, it texts
    /// from [`SENDER_NUMBER`] if no other dealer does (a number belongs to one dealer), else
    /// from a number of its own.
    pub async fn create_department(&self, dealer: Uuid, settings: Value) -> (Uuid, Uuid) {
        let mut body = json!({
            "name": "Service",
            "textSenderNumber": SENDER_NUMBER,
            "emailSender": "service@dealer.example.com",
            "emailSenderName": "Service Team",
            "footer": "Acme Motors, 1 Main St",
            "quietHours": null,
        });
        let own_number = settings.get("textSenderNumber").is_some();
        if let (Some(base), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        let path = format!("/admin/v1/dealers/{dealer}/departments");
        let first = self.admin(Method::POST, &path, Some(body.clone())).await;
        let created: Value = if first.status() == 409 && !own_number {
            body["textSenderNumber"] = json!(fresh_sender_number());
            self.admin_ok(Method::POST, &path, body).await
        } else {
            let status = first.status();
            let answer: Value = first.json().await.expect("json body");
            assert!(
                status.is_success(),
                "admin {path} answered {status}: {answer}"
            );
            answer
        };
        (
            uuid_of(&created["uuid"]),
            uuid_of(&created["defaultUserUuid"]),
        )
    }

    pub async fn create_user(&self, department: Uuid, body: Value) -> Uuid {
        let created = self
            .admin_ok(
                Method::POST,
                &format!("/admin/v1/departments/{department}/users"),
                body,
            )
            .await;
        uuid_of(&created["uuid"])
    }

    pub async fn create_credential(&self, grants: Value) -> Credential {
        let body = self
            .admin_ok(
                Method::POST,
                "/admin/v1/credentials",
                json!({"grants": grants}),
            )
            .await;
        Credential {
            username: body["username"].as_str().unwrap().to_string(),
            password: body["password"].as_str().unwrap().to_string(),
            webhook_secret: body["webhookSecret"].as_str().unwrap().to_string(),
        }
    }

    /// A credential holding every scope at `DealerDepartment` level for `department`.
    pub async fn department_credential(&self, department: Uuid) -> Credential {
        let grants: Vec<Value> = ALL_SCOPES
            .iter()
            .map(|s| json!({"scope": s, "level": "DealerDepartment", "uuid": department}))
            .collect();
        self.create_credential(Value::Array(grants)).await
    }

    pub async fn tenant(&self, dealer_name: &str) -> Tenant {
        let dealer = self.create_dealer(dealer_name).await;
        let (department, default_user) = self.create_department(dealer, json!({})).await;
        let user = self
            .create_user(
                department,
                json!({"firstName": "Sarah", "lastName": "Johnson"}),
            )
            .await;
        let credential = self.department_credential(department).await;
        Tenant {
            dealer,
            department,
            default_user,
            user,
            credential,
        }
    }

    /// An integrator call with HTTP Basic credentials.
    pub async fn call(
        &self,
        credential: &Credential,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .basic_auth(&credential.username, Some(&credential.password));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request reaches herald")
    }

    /// An integrator call with a raw body sent as `application/json`, for bodies a
    /// `serde_json::Value` cannot express (malformed JSON, invalid UTF-8, empty).
    pub async fn call_raw(
        &self,
        credential: &Credential,
        method: Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .basic_auth(&credential.username, Some(&credential.password))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches herald")
    }

    /// Customer search that must succeed; returns the UUIDs found, in order.
    pub async fn search(&self, tenant: &Tenant, term: &str) -> Vec<Uuid> {
        let response = self
            .call(
                &tenant.credential,
                Method::GET,
                &search_path(tenant.department, term),
                None,
            )
            .await;
        customer_uuids(&assert_ok(response).await)
    }

    /// A customer as the customer API answers it (`customer` of the body).
    pub async fn get_customer(&self, tenant: &Tenant, customer: Uuid) -> Value {
        let response = self
            .call(
                &tenant.credential,
                Method::GET,
                &customer_path(tenant.department, customer),
                None,
            )
            .await;
        assert_ok(response).await["customer"].clone()
    }

    /// The `optOutStatus` object of `GET .../optoutstatus`, which must succeed.
    pub async fn opt_status(&self, tenant: &Tenant, kind: &str, value: &str) -> Value {
        let response = self
            .call(
                &tenant.credential,
                Method::GET,
                &optout_read_path(tenant.department, kind, value),
                None,
            )
            .await;
        assert_ok(response).await["optOutStatus"].clone()
    }

    /// `POST .../optoutstatus` with `(communicationType, communicationValue)` pairs.
    pub async fn opt_event(
        &self,
        tenant: &Tenant,
        values: &[(&str, &str)],
        event: &str,
    ) -> Response {
        let list: Vec<Value> = values
            .iter()
            .map(|(kind, value)| json!({"communicationType": kind, "communicationValue": value}))
            .collect();
        self.call(
            &tenant.credential,
            Method::POST,
            &optout_update_path(tenant.department),
            Some(json!({"communicationAttributesList": list, "event": event})),
        )
        .await
    }

    /// Creates a customer through the customer API; returns its UUID.
    pub async fn create_customer(&self, tenant: &Tenant, customer: Value) -> Uuid {
        let response = self
            .call(
                &tenant.credential,
                Method::POST,
                &format!("/customer/v2/department/{}/customer", tenant.department),
                Some(json!({"customer": customer})),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "customer create answered {body}");
        uuid_of(&body["customer"]["uuid"])
    }

    /// Imports customers as the DMS would; returns their UUIDs.
    pub async fn import_customers(&self, dealer: Uuid, customers: Value) -> Vec<Uuid> {
        let body = self
            .admin_ok(
                Method::POST,
                &format!("/admin/v1/dealers/{dealer}/customers"),
                json!({"customers": customers}),
            )
            .await;
        body["uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(uuid_of)
            .collect()
    }
}

pub fn uuid_of(value: &Value) -> Uuid {
    Uuid::parse_str(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a uuid: {value}")),
    )
    .unwrap()
}

/// Asserts `status` and the seed's response shape: a JSON body whose `requestUUID` is the
/// `X-Request-Id` header, with `errors[]` (each with code, description and UID) and
/// `warnings[]`. Returns the body.
pub async fn assert_envelope(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let header_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string())
        .expect("X-Request-Id header");
    let text = response.text().await.expect("a body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {actual}: body is not JSON ({e}): {text:?}"));
    assert_eq!(actual, status, "unexpected status, body {body}");
    assert_eq!(
        body["requestUUID"].as_str(),
        Some(header_id.as_str()),
        "{body}"
    );
    assert!(body["warnings"].is_array(), "{body}");
    let errors = body["errors"].as_array().expect("errors[]");
    for e in errors {
        assert!(
            e["errorCode"].is_string()
                && e["errorDescription"].is_string()
                && e["errorUID"].is_string(),
            "{body}"
        );
    }
    body
}

/// Asserts the seed's response shape with one error of `code`; returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let body = assert_envelope(response, status).await;
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["errorCode"] == code),
        "expected {code} in {body}"
    );
    body
}

/// Asserts a `200` in the seed's shape with no errors; returns the body.
pub async fn assert_ok(response: Response) -> Value {
    let body = assert_envelope(response, 200).await;
    assert_eq!(body["errors"], serde_json::json!([]), "{body}");
    body
}

/// The descriptions of all errors of `code` in a response body.
pub fn error_descriptions(body: &Value, code: &str) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .filter(|e| e["errorCode"] == code)
        .map(|e| e["errorDescription"].as_str().unwrap().to_string())
        .collect()
}

/// The UUIDs of the customers in a search answer, in order.
pub fn customer_uuids(body: &Value) -> Vec<Uuid> {
    body["customers"]
        .as_array()
        .unwrap_or_else(|| panic!("no customers[] in {body}"))
        .iter()
        .map(|c| uuid_of(&c["uuid"]))
        .collect()
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// The integrator endpoints of SPEC 3, by department.

pub fn customers_path(department: impl std::fmt::Display) -> String {
    format!("/customer/v2/department/{department}/customer")
}

pub fn customer_path(
    department: impl std::fmt::Display,
    customer: impl std::fmt::Display,
) -> String {
    format!("/customer/v2/department/{department}/customer/{customer}")
}

pub fn search_path(department: impl std::fmt::Display, term: &str) -> String {
    format!(
        "/customer/v2/department/{department}/customer?searchTerm={}",
        encode(term)
    )
}

pub fn optout_read_path(department: impl std::fmt::Display, kind: &str, value: &str) -> String {
    format!(
        "/communications/department/{department}/communicationType/{kind}/communicationValue/{value}/optoutstatus"
    )
}

pub fn optout_update_path(department: impl std::fmt::Display) -> String {
    format!("/communications/department/{department}/optoutstatus")
}

pub fn default_associate_path(department: impl std::fmt::Display) -> String {
    format!("/manage/v2/departments/{department}/dealerAssociate/default")
}

pub fn lock_path(
    department: impl std::fmt::Display,
    user: impl std::fmt::Display,
    customer: impl std::fmt::Display,
) -> String {
    format!("/communications/department/{department}/user/{user}/customer/{customer}/lock")
}

/// Polls `check` until it yields a value, failing the test after 10 s. For effects a client
/// cannot be told about by an event (a keyword reply has no callback); where an event exists,
/// tests wait on the event instead.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
