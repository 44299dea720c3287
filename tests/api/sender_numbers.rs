//! A `textSenderNumber` belongs to one dealer (opt state is per dealer, so a number two dealers
//! text from would let a STOP reach only one of them); departments of one dealer may share
//! it, and a text to a shared number goes to the department that last texted the customer.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ALL_SCOPES, Credential, SENDER_NUMBER, TestApp, assert_error, assert_ok, optout_read_path,
    spawn_app, uuid_of,
};
use crate::send_support::text;

const BRAVO_NUMBER: &str = "+14155550199";

async fn new_department(app: &TestApp, dealer: Uuid, settings: Value) -> reqwest::Response {
    app.admin(
        Method::POST,
        &format!("/admin/v1/dealers/{dealer}/departments"),
        Some(settings),
    )
    .await
}

async fn patch_department(app: &TestApp, department: Uuid, patch: Value) -> reqwest::Response {
    app.admin(
        Method::PATCH,
        &format!("/admin/v1/departments/{department}"),
        Some(patch),
    )
    .await
}

async fn sender_of(app: &TestApp, department: Uuid) -> Value {
    let body = assert_ok(patch_department(app, department, json!({})).await).await;
    body["department"]["settings"]["textSenderNumber"].clone()
}

/// The one error description of a `409 SENDER_NUMBER_IN_USE`.
async fn in_use(response: reqwest::Response) -> String {
    let body = assert_error(response, 409, "SENDER_NUMBER_IN_USE").await;
    body["errors"][0]["errorDescription"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_number_another_dealer_texts_from_is_refused_on_create_and_on_patch() {
    // Arrange: Acme texts from SENDER_NUMBER; Bravo from a number of its own.
    let app = spawn_app().await;
    let acme = app.tenant("Acme Motors").await;
    assert_eq!(sender_of(&app, acme.department).await, SENDER_NUMBER);
    let bravo = app.create_dealer("Bravo Autos").await;
    let (bravo_department, _) = app
        .create_department(bravo, json!({"textSenderNumber": BRAVO_NUMBER}))
        .await;

    // Act: Acme's number, spelled another way, for a new and for an existing department.
    let created = new_department(
        &app,
        bravo,
        json!({"name": "Sales", "textSenderNumber": "(415) 555-0100"}),
    )
    .await;
    let patched = patch_department(
        &app,
        bravo_department,
        json!({"textSenderNumber": SENDER_NUMBER}),
    )
    .await;

    // Assert: refused, naming the number but not who has it; nothing changed.
    for description in [in_use(created).await, in_use(patched).await] {
        assert!(description.contains(SENDER_NUMBER), "{description}");
        assert!(
            !description.contains("Acme") && !description.contains(&acme.dealer.to_string()),
            "names the other dealer: {description}"
        );
    }
    assert_eq!(sender_of(&app, bravo_department).await, BRAVO_NUMBER);
    assert_eq!(sender_of(&app, acme.department).await, SENDER_NUMBER);
}

#[tokio::test]
async fn departments_of_one_dealer_share_a_number_until_they_all_let_it_go() {
    // Arrange
    let app = spawn_app().await;
    let acme = app.tenant("Acme Motors").await;
    let (sales, _) = app
        .create_department(
            acme.dealer,
            json!({"name": "Sales", "textSenderNumber": SENDER_NUMBER}),
        )
        .await;
    let bravo = app.create_dealer("Bravo Autos").await;
    let (bravo_department, _) = app
        .create_department(bravo, json!({"textSenderNumber": BRAVO_NUMBER}))
        .await;

    // Act / Assert: while one of Acme's departments texts from it, Bravo cannot take it.
    assert_ok(patch_department(&app, acme.department, json!({"textSenderNumber": null})).await)
        .await;
    in_use(
        patch_department(
            &app,
            bravo_department,
            json!({"textSenderNumber": SENDER_NUMBER}),
        )
        .await,
    )
    .await;
    assert_ok(patch_department(&app, sales, json!({"textSenderNumber": "+14155550111"})).await)
        .await;

    // Now no department of Acme texts from it: it is Bravo's to take, and no longer Acme's.
    assert_ok(
        patch_department(
            &app,
            bravo_department,
            json!({"textSenderNumber": SENDER_NUMBER}),
        )
        .await,
    )
    .await;
    in_use(
        patch_department(
            &app,
            acme.department,
            json!({"textSenderNumber": SENDER_NUMBER}),
        )
        .await,
    )
    .await;
    // Renaming a department keeps its number without asking for it again.
    assert_ok(patch_department(&app, bravo_department, json!({"name": "Front Desk"})).await).await;
    assert_eq!(sender_of(&app, bravo_department).await, SENDER_NUMBER);
}

/// A dealer whose Service (the older) and Sales departments both text from [`SENDER_NUMBER`],
/// a credential for the dealer, and two customers from the DMS (so opted in).
struct SharedNumber {
    service: Uuid,
    service_user: Uuid,
    sales: Uuid,
    sales_user: Uuid,
    credential: Credential,
    john: Uuid,
    jane: Uuid,
}

const JOHN: &str = "+11234567890";
const JANE: &str = "+14155552671";

async fn shared_number(app: &TestApp) -> SharedNumber {
    let dealer = app.create_dealer("Acme Motors").await;
    let (service, service_user) = app
        .create_department(dealer, json!({"name": "Service"}))
        .await;
    let (sales, sales_user) = app
        .create_department(dealer, json!({"name": "Sales"}))
        .await;
    assert_eq!(sender_of(app, service).await, SENDER_NUMBER);
    assert_eq!(sender_of(app, sales).await, SENDER_NUMBER);
    let grants: Vec<Value> = ALL_SCOPES
        .iter()
        .map(|s| json!({"scope": s, "level": "Dealer", "uuid": dealer}))
        .collect();
    let credential = app.create_credential(Value::Array(grants)).await;
    let customers = app
        .import_customers(
            dealer,
            json!([
                {"firstName": "John", "lastName": "Doe", "phoneNumbers": [{"phoneNumber": JOHN}]},
                {"firstName": "Jane", "lastName": "Roe", "phoneNumbers": [{"phoneNumber": JANE}]}
            ]),
        )
        .await;
    SharedNumber {
        service,
        service_user,
        sales,
        sales_user,
        credential,
        john: customers[0],
        jane: customers[1],
    }
}

/// Texts `customer` at `number` from `department` (accepted, sent later).
async fn text_from(
    app: &TestApp,
    shop: &SharedNumber,
    department: Uuid,
    user: Uuid,
    customer: Uuid,
    number: &str,
) {
    let response = app
        .call(
            &shop.credential,
            Method::POST,
            &format!(
                "/communications/department/{department}/user/{user}/customer/{customer}/message"
            ),
            Some(text(
                "Your car is ready",
                json!({"communicationValueOfCustomer": number}),
            )),
        )
        .await;
    assert_ok(response).await;
}

/// A text from `from` to the shared number; returns the `/dev/inbound` answer.
async fn text_in(app: &TestApp, from: &str, body: &str) -> Value {
    app.admin_ok(
        Method::POST,
        "/dev/inbound",
        json!({"from": from, "to": SENDER_NUMBER, "body": body}),
    )
    .await
}

/// The UUIDs of the INCOMING messages in `department`'s thread with `customer`.
async fn incoming_in_thread(
    app: &TestApp,
    shop: &SharedNumber,
    department: Uuid,
    customer: Uuid,
) -> Vec<Uuid> {
    let response = app
        .call(
            &shop.credential,
            Method::GET,
            &format!("/communications/department/{department}/customer/{customer}/messages"),
            None,
        )
        .await;
    assert_ok(response).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "INCOMING")
        .map(|m| uuid_of(&m["messageUUID"]))
        .collect()
}

#[tokio::test]
async fn a_text_to_a_shared_number_goes_to_the_department_that_last_texted_the_customer() {
    // Arrange
    let app = spawn_app().await;
    let shop = shared_number(&app).await;

    // Act / Assert: nobody texted John yet, so the oldest department has him.
    let first = text_in(&app, JOHN, "Hello?").await;
    assert_eq!(uuid_of(&first["departmentUUID"]), shop.service);

    // Sales texts John: his answer goes to Sales, into Sales' thread with him.
    text_from(&app, &shop, shop.sales, shop.sales_user, shop.john, JOHN).await;
    let answer = text_in(&app, JOHN, "Thanks, on my way").await;
    assert_eq!(uuid_of(&answer["departmentUUID"]), shop.sales);
    assert_eq!(uuid_of(&answer["customerUUID"]), shop.john);
    let in_sales = incoming_in_thread(&app, &shop, shop.sales, shop.john).await;
    assert_eq!(in_sales, vec![uuid_of(&answer["messageUUID"])]);
    // Jane was texted by nobody: the oldest department still has her.
    let jane = text_in(&app, JANE, "Hi").await;
    assert_eq!(uuid_of(&jane["departmentUUID"]), shop.service);
    assert_eq!(uuid_of(&jane["customerUUID"]), shop.jane);

    // Service texts John after Sales did: his next answer goes to Service.
    text_from(
        &app,
        &shop,
        shop.service,
        shop.service_user,
        shop.john,
        JOHN,
    )
    .await;
    let later = text_in(&app, JOHN, "Which of you was that?").await;
    assert_eq!(uuid_of(&later["departmentUUID"]), shop.service);
    assert_eq!(
        incoming_in_thread(&app, &shop, shop.service, shop.john).await,
        vec![
            uuid_of(&later["messageUUID"]),
            uuid_of(&first["messageUUID"])
        ]
    );
}

#[tokio::test]
async fn stop_to_a_shared_number_stops_every_department_of_the_dealer() {
    // Arrange: Sales texted John last, so his STOP is routed to Sales.
    let app = spawn_app().await;
    let shop = shared_number(&app).await;
    text_from(&app, &shop, shop.sales, shop.sales_user, shop.john, JOHN).await;

    // Act
    let stop = text_in(&app, JOHN, "STOP").await;

    // Assert: opted out for the dealer, so Service cannot text him either.
    assert_eq!(uuid_of(&stop["departmentUUID"]), shop.sales);
    assert_eq!(stop["optOutState"], "OPTED_OUT");
    for department in [shop.service, shop.sales] {
        let status = app
            .call(
                &shop.credential,
                Method::GET,
                &optout_read_path(department, "TEXT", JOHN),
                None,
            )
            .await;
        assert_eq!(
            assert_ok(status).await["optOutStatus"]["optOutState"],
            "OPTED_OUT",
            "department {department}"
        );
    }
    let from_service = app
        .call(
            &shop.credential,
            Method::POST,
            &format!(
                "/communications/department/{}/user/{}/customer/{}/message",
                shop.service, shop.service_user, shop.john
            ),
            Some(text(
                "Still there?",
                json!({"communicationValueOfCustomer": JOHN, "sendSynchronously": true}),
            )),
        )
        .await;
    assert_eq!(from_service.status(), 422);
    let body: Value = from_service.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["errorCode"], "OPTED_OUT_COMMUNICATION_VALUE",
        "{body}"
    );

    // START from John opts him in again for both.
    let start = text_in(&app, JOHN, "START").await;
    assert_eq!(start["optOutState"], "OPTED_IN");
}
