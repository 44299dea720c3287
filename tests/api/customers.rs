//! The customer API (SPEC 3): create and update, get, and search by every key SPEC 3 lists.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    assert_error, assert_ok, customer_path, customers_path, error_descriptions, search_path,
    spawn_app,
};

#[tokio::test]
async fn create_answers_e164_numbers_lowercased_emails_and_the_seed_field_names() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let body = json!({"customer": {
        "firstName": "John", "lastName": "Doe", "company": "Doe Logistics",
        "customerKey": "DMS-1001",
        "phoneNumbers": [
            {"phoneNumber": "(415) 555-2671", "label": "HOME", "okToText": false},
            {"phoneNumber": "1-650-555-0199", "isPreferred": true}
        ],
        "emails": [{"emailAddress": "John.Doe@Example.COM", "label": "WORK", "doNotCC": true}]
    }});

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(body),
        )
        .await;

    // Assert
    let created = assert_ok(response).await["customer"].clone();
    assert_eq!(created["firstName"], "John");
    assert_eq!(created["company"], "Doe Logistics");
    assert_eq!(created["customerKey"], "DMS-1001");
    let phones = &created["phoneNumbers"];
    assert_eq!(phones[0]["phoneNumber"], "+14155552671");
    assert_eq!(phones[0]["label"], "HOME");
    assert_eq!(phones[0]["okToText"], false);
    assert_eq!(phones[1]["phoneNumber"], "+16505550199");
    assert_eq!(phones[1]["label"], "CELL", "label defaults to CELL");
    assert_eq!(phones[1]["okToText"], true, "okToText defaults to true");
    assert_eq!(phones[1]["isPreferred"], true);
    let email = &created["emails"][0];
    assert_eq!(email["emailAddress"], "john.doe@example.com");
    assert_eq!(email["label"], "WORK");
    assert_eq!(email["doNotCC"], true);
    assert_eq!(email["okToEmail"], true);
    assert!(email.get("doNotCc").is_none(), "{email}");

    // Assert: GET answers what was stored.
    let uuid = Uuid::parse_str(created["uuid"].as_str().unwrap()).unwrap();
    assert_eq!(app.get_customer(&tenant, uuid).await, created);
}

#[tokio::test]
async fn update_replaces_the_fields_given_and_keeps_the_others() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let uuid = app
        .create_customer(
            &tenant,
            json!({"firstName": "John", "lastName": "Doe", "company": "Doe Logistics",
                "customerKey": "DMS-1001",
                "phoneNumbers": [{"phoneNumber": "4155552671"}],
                "emails": [{"emailAddress": "john@example.com"}]}),
        )
        .await;

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(json!({"customer": {"uuid": uuid, "lastName": "Smith",
                "phoneNumbers": [{"phoneNumber": "6505550199", "label": "WORK"}]}})),
        )
        .await;

    // Assert
    let answered = assert_ok(response).await["customer"].clone();
    let stored = app.get_customer(&tenant, uuid).await;
    assert_eq!(answered, stored);
    assert_eq!(stored["uuid"], uuid.to_string());
    assert_eq!(stored["firstName"], "John");
    assert_eq!(stored["lastName"], "Smith");
    assert_eq!(stored["company"], "Doe Logistics");
    assert_eq!(stored["customerKey"], "DMS-1001");
    assert_eq!(
        stored["phoneNumbers"],
        json!([{"phoneNumber": "+16505550199", "label": "WORK", "okToText": true, "isPreferred": false}])
    );
    assert_eq!(stored["emails"][0]["emailAddress"], "john@example.com");
    assert_eq!(app.search(&tenant, "John Smith").await, vec![uuid]);
}

#[tokio::test]
async fn updating_an_unknown_customer_is_not_found() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let unknown = Uuid::new_v4();

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(json!({"customer": {"uuid": unknown, "firstName": "Ghost"}})),
        )
        .await;

    // Assert
    assert_error(response, 404, "INVALID_CUSTOMER").await;
    assert_eq!(app.search(&tenant, "Ghost").await, Vec::<Uuid>::new());
    let get = app
        .call(
            &tenant.credential,
            Method::GET,
            &customer_path(tenant.department, unknown),
            None,
        )
        .await;
    assert_error(get, 404, "INVALID_CUSTOMER").await;
}

#[tokio::test]
async fn search_finds_a_customer_by_every_key_and_never_another_dealers() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let john = json!({"firstName": "John", "lastName": "Doe", "customerKey": "DMS-1001",
        "phoneNumbers": [{"phoneNumber": "+14155552671"}],
        "emails": [{"emailAddress": "John.Doe@Example.com"}]});
    let found = app.create_customer(&a, john.clone()).await;
    app.create_customer(
        &a,
        json!({"firstName": "Jane", "lastName": "Roe", "customerKey": "DMS-2002",
            "phoneNumbers": [{"phoneNumber": "6505550199"}],
            "emails": [{"emailAddress": "jane@example.org"}]}),
    )
    .await;
    let twin_at_b = app.create_customer(&b, john).await;
    let terms = [
        "John",
        "Doe",
        "john doe",
        "John Doe",
        "DMS-1001",
        "4155552671",
        "+14155552671",
        "(415) 555-2671",
        "john.doe@example.com",
        "JOHN.DOE@EXAMPLE.COM",
    ];

    for term in terms {
        // Act
        let uuids = app.search(&a, term).await;

        // Assert
        assert_eq!(uuids, vec![found], "searching {term:?}");
        assert!(!uuids.contains(&twin_at_b));
    }
    assert_eq!(app.search(&a, "Nobody").await, Vec::<Uuid>::new());
    assert_eq!(app.search(&b, "DMS-1001").await, vec![twin_at_b]);
}

#[tokio::test]
async fn max_results_is_bounded_and_honoured() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    for first in ["Ann", "Bob", "Cid"] {
        app.create_customer(
            &tenant,
            json!({"firstName": first, "lastName": "Fleetbuyer"}),
        )
        .await;
    }
    let search = |max: &str| {
        format!(
            "{}&maxResults={max}",
            search_path(tenant.department, "Fleetbuyer")
        )
    };

    for bad in ["0", "101", "-1", "ten", ""] {
        // Act
        let response = app
            .call(&tenant.credential, Method::GET, &search(bad), None)
            .await;

        // Assert
        let body = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(
            error_descriptions(&body, "INVALID_REQUEST")[0].contains("maxResults"),
            "{body}"
        );
    }
    for (max, expected) in [("1", 1), ("2", 2), ("100", 3)] {
        let response = app
            .call(&tenant.credential, Method::GET, &search(max), None)
            .await;
        let body = assert_ok(response).await;
        assert_eq!(
            body["customers"].as_array().unwrap().len(),
            expected,
            "{max}"
        );
    }
    assert_eq!(app.search(&tenant, "Fleetbuyer").await.len(), 3);
}

#[tokio::test]
async fn an_empty_search_term_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    app.create_customer(&tenant, json!({"firstName": "John"}))
        .await;
    let base = format!("/customer/v2/department/{}/customer", tenant.department);

    for path in [
        format!("{base}?searchTerm="),
        format!("{base}?searchTerm=%20%20"),
        base.clone(),
    ] {
        // Act
        let response = app.call(&tenant.credential, Method::GET, &path, None).await;

        // Assert
        let body = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(body.get("customers").is_none(), "{body}");
    }
}

#[tokio::test]
async fn an_invalid_phone_number_is_refused_with_its_json_path() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(json!({"customer": {"firstName": "Invalid",
                "phoneNumbers": [{"phoneNumber": "4155552671"}, {"phoneNumber": "555-12"}]}})),
        )
        .await;

    // Assert
    let body = assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    let descriptions = error_descriptions(&body, "INVALID_COMMUNICATION_VALUE");
    assert_eq!(descriptions.len(), 1, "{body}");
    assert!(
        descriptions[0].contains("customer.phoneNumbers[1].phoneNumber"),
        "{body}"
    );
}

#[tokio::test]
async fn every_bad_value_is_reported_together_and_nothing_is_stored() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let body = json!({"customer": {"firstName": "Refused", "lastName": "Entirely",
    "phoneNumbers": [
        {"phoneNumber": "4155552671"},
        {"phoneNumber": "555-12"},
        {"phoneNumber": "5551234"}
    ],
    "emails": [
        {"emailAddress": "fine@example.com"},
        {"emailAddress": "not-an-email"}
    ]}});

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(body),
        )
        .await;

    // Assert
    let answer = assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    let descriptions = error_descriptions(&answer, "INVALID_COMMUNICATION_VALUE");
    for path in [
        "customer.phoneNumbers[1].phoneNumber",
        "customer.phoneNumbers[2].phoneNumber",
        "customer.emails[1].emailAddress",
    ] {
        assert!(
            descriptions.iter().any(|d| d.contains(path)),
            "{path} missing from {answer}"
        );
    }
    assert_eq!(descriptions.len(), 3, "{answer}");
    assert!(answer.get("customer").is_none(), "{answer}");
    for term in ["Refused", "4155552671", "fine@example.com"] {
        assert_eq!(
            app.search(&tenant, term).await,
            Vec::<Uuid>::new(),
            "{term}"
        );
    }
}

#[tokio::test]
async fn a_refused_update_leaves_the_customer_as_it_was() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let uuid = app
        .create_customer(
            &tenant,
            json!({"firstName": "John", "phoneNumbers": [{"phoneNumber": "4155552671"}]}),
        )
        .await;
    let before: Value = app.get_customer(&tenant, uuid).await;

    // Act
    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &customers_path(tenant.department),
            Some(json!({"customer": {"uuid": uuid, "firstName": "Changed",
                "phoneNumbers": [{"phoneNumber": "not a number"}]}})),
        )
        .await;

    // Assert
    assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    assert_eq!(app.get_customer(&tenant, uuid).await, before);
}
