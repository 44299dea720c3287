//! The operator's admin API (SPEC 8): departments and their settings, credentials and their
//! grants, the blacklist, and the DMS import.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, assert_error, assert_ok, error_descriptions, search_path, spawn_app, uuid_of,
};

async fn patch_department(app: &TestApp, department: Uuid, patch: Value) -> reqwest::Response {
    app.admin(
        Method::PATCH,
        &format!("/admin/v1/departments/{department}"),
        Some(patch),
    )
    .await
}

/// The settings as stored: an empty merge patch changes nothing and answers the department.
async fn settings_of(app: &TestApp, department: Uuid) -> Value {
    let body = assert_ok(patch_department(app, department, json!({})).await).await;
    body["department"]["settings"].clone()
}

#[tokio::test]
async fn a_department_is_created_with_its_settings_and_the_defaults() {
    // Arrange
    let app = spawn_app().await;
    let dealer = app.create_dealer("Acme Motors").await;

    // Act
    let created = app
        .admin(
            Method::POST,
            &format!("/admin/v1/dealers/{dealer}/departments"),
            Some(json!({
                "name": "Service",
                "textSenderNumber": "(415) 555-0100",
                "emailSender": "Service@Acme.Example.com",
                "footer": "Acme Motors, 1 Main St",
                "rateLimits": {"manualPerHour": 30}
            })),
        )
        .await;

    // Assert
    let created = assert_ok(created).await;
    let department = uuid_of(&created["uuid"]);
    uuid_of(&created["defaultUserUuid"]);
    let settings = settings_of(&app, department).await;
    assert_eq!(settings["textSenderNumber"], "+14155550100");
    assert_eq!(settings["emailSender"], "service@acme.example.com");
    assert_eq!(settings["footer"], "Acme Motors, 1 Main St");
    assert_eq!(settings["tcpaFooter"], "Text STOP to opt-out");
    assert_eq!(settings["optinQueueTimeoutSeconds"], 86_400);
    assert_eq!(
        settings["rateLimits"],
        json!({"automatedPerHour": 10, "automatedPerDay": 30, "manualPerHour": 30})
    );
    assert!(settings["emailSubject"].is_null(), "{settings}");
}

#[tokio::test]
async fn patch_merges_and_null_restores_a_default() {
    // Arrange
    let app = spawn_app().await;
    let dealer = app.create_dealer("Acme Motors").await;
    let (department, _) = app
        .create_department(dealer, json!({"tcpaFooter": "Reply STOP to end"}))
        .await;
    let before = settings_of(&app, department).await;
    assert_eq!(before["tcpaFooter"], "Reply STOP to end");

    // Act
    let changed = patch_department(
        &app,
        department,
        json!({"footer": "Acme Motors, 2 Oak Ave", "rateLimits": {"automatedPerDay": 5}}),
    )
    .await;

    // Assert: the given fields change, the others stay.
    let changed = assert_ok(changed).await["department"]["settings"].clone();
    assert_eq!(changed["footer"], "Acme Motors, 2 Oak Ave");
    assert_eq!(changed["rateLimits"]["automatedPerDay"], 5);
    assert_eq!(changed["rateLimits"]["automatedPerHour"], 10);
    assert_eq!(changed["tcpaFooter"], "Reply STOP to end");
    assert_eq!(changed["textSenderNumber"], before["textSenderNumber"]);
    assert_eq!(settings_of(&app, department).await, changed);

    // Act: null restores a default, and clears an optional setting.
    let restored = patch_department(
        &app,
        department,
        json!({"tcpaFooter": null, "footer": null}),
    )
    .await;

    // Assert
    let restored = assert_ok(restored).await["department"]["settings"].clone();
    assert_eq!(restored["tcpaFooter"], "Text STOP to opt-out");
    assert!(restored["footer"].is_null(), "{restored}");
    assert_eq!(restored["textSenderNumber"], before["textSenderNumber"]);
    assert_eq!(settings_of(&app, department).await, restored);
}

#[tokio::test]
async fn an_invalid_setting_is_refused_with_its_path_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let dealer = app.create_dealer("Acme Motors").await;
    let (department, _) = app.create_department(dealer, json!({})).await;
    let before = settings_of(&app, department).await;

    for (body, path) in [
        (json!({"textSenderNumber": "12"}), "textSenderNumber"),
        (json!({"emailSender": "not-an-email"}), "emailSender"),
        (
            json!({"rateLimits": {"manualPerHour": -1}}),
            "rateLimits.manualPerHour",
        ),
        (json!({"footr": "typo"}), "footr"),
    ] {
        // Act
        let create = app
            .admin(
                Method::POST,
                &format!("/admin/v1/dealers/{dealer}/departments"),
                Some({
                    let mut b = body.clone();
                    b["name"] = json!("Parts");
                    b
                }),
            )
            .await;
        let patch = patch_department(&app, department, body).await;

        // Assert
        for response in [create, patch] {
            let answer = assert_error(response, 400, "INVALID_REQUEST").await;
            assert!(
                error_descriptions(&answer, "INVALID_REQUEST")[0].contains(path),
                "{path}: {answer}"
            );
        }
    }
    assert_eq!(settings_of(&app, department).await, before);
}

#[tokio::test]
async fn a_department_of_an_unknown_dealer_is_refused() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/v1/dealers/{}/departments", Uuid::new_v4()),
            Some(json!({"name": "Service"})),
        )
        .await;

    // Assert
    assert_error(response, 404, "INVALID_DEALER").await;
}

#[tokio::test]
async fn grants_must_name_an_existing_dealer_or_department() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let grants = json!([
        {"scope": "customer.search", "level": "DealerDepartment", "uuid": tenant.department},
        {"scope": "customer.search", "level": "Dealer", "uuid": Uuid::new_v4()},
        {"scope": "customer.search", "level": "DealerDepartment", "uuid": Uuid::new_v4()},
        {"scope": "customer.search", "level": "Dealer", "uuid": tenant.department},
        {"scope": "customer.search", "level": "DealerDepartment", "uuid": tenant.dealer}
    ]);

    // Act
    let response = app
        .admin(
            Method::POST,
            "/admin/v1/credentials",
            Some(json!({"grants": grants})),
        )
        .await;

    // Assert
    let body = assert_error(response, 400, "INVALID_GRANT").await;
    let descriptions = error_descriptions(&body, "INVALID_GRANT");
    assert_eq!(descriptions.len(), 4, "{body}");
    for i in 1..=4 {
        assert!(
            descriptions
                .iter()
                .any(|d| d.contains(&format!("grants[{i}]"))),
            "grants[{i}] missing from {body}"
        );
    }
    assert!(body.get("password").is_none(), "{body}");
}

#[tokio::test]
async fn an_unknown_scope_or_level_is_an_invalid_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for (grant, path) in [
        (
            json!({"scope": "message.delete", "level": "Dealer", "uuid": tenant.dealer}),
            "grants[0].scope",
        ),
        (
            json!({"scope": "customer.search", "level": "Galaxy", "uuid": tenant.dealer}),
            "grants[0].level",
        ),
        (
            json!({"scope": "customer.search", "level": "Dealer", "uuid": "nope"}),
            "grants[0].uuid",
        ),
    ] {
        // Act
        let response = app
            .admin(
                Method::POST,
                "/admin/v1/credentials",
                Some(json!({"grants": [grant]})),
            )
            .await;

        // Assert
        let body = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(
            error_descriptions(&body, "INVALID_REQUEST")[0].contains(path),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn the_blacklist_takes_addresses_and_domains_and_refuses_malformed_ones() {
    // Arrange
    let app = spawn_app().await;
    let dealer = app.create_dealer("Acme Motors").await;
    let path = format!("/admin/v1/dealers/{dealer}/blacklist");

    // Act
    let accepted = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"emails": ["Spam@Example.com"],
                "domains": ["junk.example.org", "@Spam.Example.net"]})),
        )
        .await;
    let refused = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"emails": ["fine@example.com", "not-an-email"],
                "domains": ["localhost", "exa mple.com", "ok.example.com"]})),
        )
        .await;
    let unknown_dealer = app
        .admin(
            Method::POST,
            &format!("/admin/v1/dealers/{}/blacklist", Uuid::new_v4()),
            Some(json!({"emails": ["spam@example.com"]})),
        )
        .await;

    // Assert
    let accepted = assert_ok(accepted).await;
    assert_eq!(accepted["emails"], 1);
    assert_eq!(accepted["domains"], 2);
    let refused = assert_error(refused, 400, "INVALID_REQUEST").await;
    let descriptions = error_descriptions(&refused, "INVALID_REQUEST");
    assert_eq!(descriptions.len(), 3, "{refused}");
    for at in ["emails[1]", "domains[0]", "domains[1]"] {
        assert!(
            descriptions.iter().any(|d| d.contains(at)),
            "{at} missing from {refused}"
        );
    }
    assert_error(unknown_dealer, 404, "INVALID_DEALER").await;
}

#[tokio::test]
async fn a_dms_import_with_a_known_customer_key_updates_that_customer() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let first = app
        .import_customers(
            tenant.dealer,
            json!([{"firstName": "John", "lastName": "Doe", "customerKey": "DMS-1001",
                "phoneNumbers": [{"phoneNumber": "4155552671"}]}]),
        )
        .await;

    // Act
    let second = app
        .admin_ok(
            Method::POST,
            &format!("/admin/v1/dealers/{}/customers", tenant.dealer),
            json!({"customer": {"firstName": "John", "lastName": "Doe-Smith",
                "customerKey": "DMS-1001",
                "phoneNumbers": [{"phoneNumber": "6505550199"}]}}),
        )
        .await;

    // Assert
    assert_eq!(second["uuids"], json!([first[0]]));
    assert_eq!(app.search(&tenant, "DMS-1001").await, first);
    let stored = app.get_customer(&tenant, first[0]).await;
    assert_eq!(stored["lastName"], "Doe-Smith");
    assert_eq!(stored["phoneNumbers"][0]["phoneNumber"], "+16505550199");
    assert_eq!(stored["phoneNumbers"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.opt_status(&tenant, "TEXT", "6505550199").await["optOutState"],
        "OPTED_IN"
    );
}

#[tokio::test]
async fn a_dms_import_keeps_customer_keys_apart_per_dealer() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let customer = json!([{"firstName": "John", "customerKey": "DMS-1001"}]);

    // Act
    let at_a = app.import_customers(a.dealer, customer.clone()).await;
    let at_b = app.import_customers(b.dealer, customer).await;

    // Assert
    assert_ne!(at_a, at_b);
    let response = app
        .call(
            &a.credential,
            Method::GET,
            &search_path(a.department, "DMS-1001"),
            None,
        )
        .await;
    let found = assert_ok(response).await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1);
    assert_eq!(app.search(&b, "DMS-1001").await, at_b);
}
