//! A credential reaches only the departments its grants name, for the scope each endpoint
//! needs; anything else (another dealer's department, an unknown or malformed one) answers the
//! same `403 INSUFFICIENT_SCOPE`, so nobody can tell which departments exist (SPEC 2).

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ALL_SCOPES, Tenant, TestApp, assert_envelope, assert_error, customer_path, customers_path,
    default_associate_path, lock_path, optout_read_path, optout_update_path, search_path,
    spawn_app,
};

const PHONE: &str = "4155552671";

/// One call to an integrator endpoint, aimed at a department.
struct Endpoint {
    name: &'static str,
    scope: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Every integrator endpoint of SPEC 3 (except sending) for `department`, naming `user` and
/// `customer` where the path needs them.
fn endpoints(department: &str, user: Uuid, customer: Uuid) -> Vec<Endpoint> {
    vec![
        Endpoint {
            name: "customer create",
            scope: "customer.update",
            method: Method::POST,
            path: customers_path(department),
            body: Some(json!({"customer": {"firstName": "Eve", "lastName": "Intruder"}})),
        },
        Endpoint {
            name: "customer get",
            scope: "customer.search",
            method: Method::GET,
            path: customer_path(department, customer),
            body: None,
        },
        Endpoint {
            name: "customer search",
            scope: "customer.search",
            method: Method::GET,
            path: search_path(department, "Doe"),
            body: None,
        },
        Endpoint {
            name: "optoutstatus GET",
            scope: "optoutstatus.read",
            method: Method::GET,
            path: optout_read_path(department, "TEXT", PHONE),
            body: None,
        },
        Endpoint {
            name: "optoutstatus POST",
            scope: "optoutstatus.update",
            method: Method::POST,
            path: optout_update_path(department),
            body: Some(json!({
                "communicationAttributesList": [
                    {"communicationType": "TEXT", "communicationValue": PHONE}
                ],
                "event": "STOP_MESSAGE_RECEIVED"
            })),
        },
        Endpoint {
            name: "default dealer associate GET",
            scope: "manage.dealerassociate.default.read",
            method: Method::GET,
            path: default_associate_path(department),
            body: None,
        },
        Endpoint {
            name: "lock POST",
            scope: "customer.update",
            method: Method::POST,
            path: lock_path(department, user, customer),
            body: Some(json!({"ttlSeconds": 60})),
        },
        Endpoint {
            name: "lock DELETE",
            scope: "customer.update",
            method: Method::DELETE,
            path: lock_path(department, user, customer),
            body: None,
        },
    ]
}

/// Two dealers, each with a department, a user, and a customer holding [`PHONE`].
async fn two_dealers(app: &TestApp) -> (Tenant, Uuid, Tenant, Uuid) {
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let customer = json!({"firstName": "John", "lastName": "Doe",
        "phoneNumbers": [{"phoneNumber": PHONE}]});
    let a_customer = app.create_customer(&a, customer.clone()).await;
    let b_customer = app.create_customer(&b, customer).await;
    (a, a_customer, b, b_customer)
}

/// `(status, errorCode, errorDescription)` of a refusal.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body = assert_envelope(response, status).await;
    let error = &body["errors"][0];
    (
        status,
        error["errorCode"].as_str().unwrap_or_default().to_string(),
        error["errorDescription"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn every_endpoint_refuses_a_department_of_another_dealer() {
    // Arrange
    let app = spawn_app().await;
    let (a, _, b, b_customer) = two_dealers(&app).await;
    let b_department = b.department.to_string();

    // Act + Assert: A's credential on B's department, B's user and B's customer.
    for endpoint in endpoints(&b_department, b.user, b_customer) {
        let response = app
            .call(
                &a.credential,
                endpoint.method.clone(),
                &endpoint.path,
                endpoint.body.clone(),
            )
            .await;
        assert_eq!(response.status(), 403, "{}", endpoint.name);
        assert_error(response, 403, "INSUFFICIENT_SCOPE").await;
    }

    // Assert: the refused writes changed nothing of B's.
    assert_eq!(app.search(&b, "Intruder").await, Vec::<Uuid>::new());
    assert_eq!(
        app.opt_status(&b, "TEXT", PHONE).await["optOutState"],
        "NOT_SET"
    );
    let lock_by_other_user = app
        .call(
            &b.credential,
            Method::POST,
            &lock_path(b.department, b.default_user, b_customer),
            None,
        )
        .await;
    assert_eq!(
        lock_by_other_user.status(),
        200,
        "A's refused lock must not have locked B's customer"
    );
    app.call(
        &b.credential,
        Method::DELETE,
        &lock_path(b.department, b.default_user, b_customer),
        None,
    )
    .await;

    // Control: the same calls with B's own credential are allowed, so the 403s above came
    // from the grant and nothing else.
    for endpoint in endpoints(&b_department, b.user, b_customer) {
        let response = app
            .call(
                &b.credential,
                endpoint.method.clone(),
                &endpoint.path,
                endpoint.body.clone(),
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "{} with the owner's credential",
            endpoint.name
        );
    }
}

#[tokio::test]
async fn an_unknown_or_malformed_department_answers_exactly_like_a_foreign_one() {
    // Arrange
    let app = spawn_app().await;
    let (a, a_customer, b, _) = two_dealers(&app).await;
    let departments = [
        b.department.to_string(),
        Uuid::new_v4().to_string(),
        "not-a-uuid".to_string(),
        "12345".to_string(),
    ];

    for (i, endpoint) in endpoints(&departments[0], a.user, a_customer)
        .into_iter()
        .enumerate()
    {
        // Act
        let mut answers = Vec::new();
        for department in &departments {
            let same = endpoints(department, a.user, a_customer).remove(i);
            let response = app
                .call(&a.credential, same.method, &same.path, same.body)
                .await;
            answers.push(refusal(response).await);
        }

        // Assert
        assert_eq!(answers[0].0, 403, "{}: {:?}", endpoint.name, answers[0]);
        assert_eq!(answers[0].1, "INSUFFICIENT_SCOPE", "{}", endpoint.name);
        for answer in &answers[1..] {
            assert_eq!(answer, &answers[0], "{}", endpoint.name);
        }
    }
}

#[tokio::test]
async fn each_endpoint_needs_its_own_scope() {
    // Arrange
    let app = spawn_app().await;
    let (a, a_customer, _, _) = two_dealers(&app).await;
    let department = a.department.to_string();

    for endpoint in endpoints(&department, a.user, a_customer) {
        let grants: Vec<Value> = ALL_SCOPES
            .iter()
            .filter(|s| **s != endpoint.scope)
            .map(|s| json!({"scope": s, "level": "DealerDepartment", "uuid": a.department}))
            .collect();
        let all_but_one = app.create_credential(Value::Array(grants)).await;

        // Act
        let response = app
            .call(&all_but_one, endpoint.method, &endpoint.path, endpoint.body)
            .await;

        // Assert
        assert_eq!(
            response.status(),
            403,
            "{} without {}",
            endpoint.name,
            endpoint.scope
        );
        assert_error(response, 403, "INSUFFICIENT_SCOPE").await;
    }
}

#[tokio::test]
async fn a_search_only_credential_cannot_create_customers() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let search_only = app
        .create_credential(json!([
            {"scope": "customer.search", "level": "DealerDepartment", "uuid": a.department}
        ]))
        .await;

    // Act
    let create = app
        .call(
            &search_only,
            Method::POST,
            &customers_path(a.department),
            Some(json!({"customer": {"firstName": "Eve", "lastName": "Intruder"}})),
        )
        .await;
    let search = app
        .call(
            &search_only,
            Method::GET,
            &search_path(a.department, "Intruder"),
            None,
        )
        .await;

    // Assert
    assert_error(create, 403, "INSUFFICIENT_SCOPE").await;
    assert_eq!(search.status(), 200, "the credential itself works");
    assert_eq!(app.search(&a, "Intruder").await, Vec::<Uuid>::new());
}

#[tokio::test]
async fn a_dealer_grant_covers_every_department_of_that_dealer_and_no_other() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let (sales, sales_default_user) = app
        .create_department(a.dealer, json!({"name": "Sales"}))
        .await;
    let b = app.tenant("Bravo Autos").await;
    let dealer_wide = app
        .create_credential(json!([
            {"scope": "manage.dealerassociate.default.read", "level": "Dealer", "uuid": a.dealer}
        ]))
        .await;

    // Act
    let service = app
        .call(
            &dealer_wide,
            Method::GET,
            &default_associate_path(a.department),
            None,
        )
        .await;
    let sales_answer = app
        .call(
            &dealer_wide,
            Method::GET,
            &default_associate_path(sales),
            None,
        )
        .await;
    let other_dealer = app
        .call(
            &dealer_wide,
            Method::GET,
            &default_associate_path(b.department),
            None,
        )
        .await;

    // Assert
    let service: Value = service.json().await.unwrap();
    assert_eq!(
        service["dealerAssociate"]["uuid"],
        a.default_user.to_string()
    );
    let sales_answer: Value = sales_answer.json().await.unwrap();
    assert_eq!(
        sales_answer["dealerAssociate"]["uuid"],
        sales_default_user.to_string()
    );
    assert_error(other_dealer, 403, "INSUFFICIENT_SCOPE").await;
}

#[tokio::test]
async fn another_dealers_customer_is_not_found_through_a_department_path() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let b_customer = app
        .create_customer(
            &b,
            json!({"firstName": "Mallory", "lastName": "Bravo",
                "phoneNumbers": [{"phoneNumber": "6505550199"}],
                "emails": [{"emailAddress": "mallory@bravo.example.com"}]}),
        )
        .await;

    // Act
    let get = app
        .call(
            &a.credential,
            Method::GET,
            &customer_path(a.department, b_customer),
            None,
        )
        .await;
    let update = app
        .call(
            &a.credential,
            Method::POST,
            &customers_path(a.department),
            Some(json!({"customer": {"uuid": b_customer, "lastName": "Overwritten"}})),
        )
        .await;

    // Assert
    let body = assert_error(get, 404, "INVALID_CUSTOMER").await;
    let text = body.to_string();
    assert!(
        !text.contains("Mallory") && !text.contains("6505550199") && !text.contains("bravo"),
        "B's data leaked: {text}"
    );
    assert!(body.get("customer").is_none(), "{body}");
    assert_error(update, 404, "INVALID_CUSTOMER").await;
    assert_eq!(app.get_customer(&b, b_customer).await["lastName"], "Bravo");
    assert_eq!(app.search(&a, "Mallory").await, Vec::<Uuid>::new());
    assert_eq!(app.search(&a, "6505550199").await, Vec::<Uuid>::new());
}

#[tokio::test]
async fn a_department_without_a_grant_is_refused_before_the_body_is_read() {
    // Arrange
    let app = spawn_app().await;
    let (a, _, b, b_customer) = two_dealers(&app).await;
    let bodies_to_foreign_department = [
        ("customer create", customers_path(b.department)),
        ("optoutstatus POST", optout_update_path(b.department)),
        ("lock POST", lock_path(b.department, b.user, b_customer)),
    ];

    for (name, path) in bodies_to_foreign_department {
        // Act
        let response = app
            .call_raw(&a.credential, Method::POST, &path, "{not json")
            .await;

        // Assert: the grant is checked first (SPEC 4.2 order), so a stranger learns nothing
        // from the validation of its body.
        assert_eq!(response.status(), 403, "{name}");
        assert_error(response, 403, "INSUFFICIENT_SCOPE").await;
    }
}
