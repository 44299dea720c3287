//! `spawn_app()` and the calls most tests need: an admin to build a directory, and integrators
//! holding credentials.

#![allow(dead_code)]

use herald::{Application, Settings};
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token";

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
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Test settings: port 0, a database in a fresh temporary directory, the admin API enabled.
pub fn test_settings(dir: &TempDir) -> Settings {
    let mut settings = Settings::load_without_env(None).expect("default settings");
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database_url = herald::config::DatabaseUrl::new(format!(
        "sqlite://{}",
        dir.path().join("herald.db").display()
    ));
    settings.admin_token = Some(SecretString::from(ADMIN_TOKEN));
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts Herald with test settings adjusted by `configure`; returns once it is listening.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&dir);
    configure(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("herald builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        settings,
        shutdown,
        _dir: dir,
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
    /// `(department, default user)`.
    pub async fn create_department(&self, dealer: Uuid, settings: Value) -> (Uuid, Uuid) {
        let mut body = json!({
            "name": "Service",
            "textSenderNumber": "+14155550100",
            "emailSender": "service@dealer.example.com",
            "emailSenderName": "Service Team",
            "footer": "Acme Motors, 1 Main St",
        });
        if let (Some(base), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        let created = self
            .admin_ok(
                Method::POST,
                &format!("/admin/v1/dealers/{dealer}/departments"),
                body,
            )
            .await;
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

/// Asserts the seed's response shape with one error of `code`; returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let actual = response.status().as_u16();
    let header_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string())
        .expect("X-Request-Id header");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(actual, status, "unexpected status, body {body}");
    assert_eq!(
        body["requestUUID"].as_str(),
        Some(header_id.as_str()),
        "{body}"
    );
    assert!(body["warnings"].is_array(), "{body}");
    let errors = body["errors"].as_array().expect("errors[]");
    assert!(
        errors.iter().any(|e| e["errorCode"] == code),
        "expected {code} in {body}"
    );
    for e in errors {
        assert!(
            e["errorDescription"].is_string() && e["errorUID"].is_string(),
            "{body}"
        );
    }
    body
}
