//! Opt-out status (SPEC 1 and 3): where a number's first state comes from, how events change
//! it, that it is kept per dealer, and that a batch with one bad value changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    assert_error, assert_ok, error_descriptions, optout_read_path, optout_update_path, spawn_app,
};

#[tokio::test]
async fn numbers_added_through_the_customer_api_start_not_set() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    app.create_customer(
        &tenant,
        json!({"firstName": "John", "phoneNumbers": [{"phoneNumber": "(415) 555-2671"}]}),
    )
    .await;

    // Act
    let status = app.opt_status(&tenant, "TEXT", "+14155552671").await;

    // Assert
    assert_eq!(
        status,
        json!({"optOutState": "NOT_SET", "canSendOptinRequest": true, "timeOfChange": null})
    );
}

#[tokio::test]
async fn numbers_imported_from_the_dms_start_opted_in() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    app.import_customers(
        tenant.dealer,
        json!([{"firstName": "John", "customerKey": "DMS-1",
            "phoneNumbers": [{"phoneNumber": "4155552671"}]}]),
    )
    .await;

    // Act
    let status = app.opt_status(&tenant, "TEXT", "4155552671").await;

    // Assert
    assert_eq!(status["optOutState"], "OPTED_IN");
    assert_eq!(status["canSendOptinRequest"], false);
    assert!(status["timeOfChange"].is_string(), "{status}");
}

#[tokio::test]
async fn stop_then_optin_changes_the_state_whatever_the_spelling() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    app.create_customer(
        &tenant,
        json!({"firstName": "John", "phoneNumbers": [{"phoneNumber": "4155552671"}]}),
    )
    .await;

    // Act: STOP given as 10 digits.
    let stop = app
        .opt_event(&tenant, &[("TEXT", "4155552671")], "STOP_MESSAGE_RECEIVED")
        .await;

    // Assert
    let stop = assert_ok(stop).await;
    assert_eq!(stop["optOutStatusList"][0]["optOutState"], "OPTED_OUT");
    for spelling in ["4155552671", "+14155552671"] {
        let status = app.opt_status(&tenant, "TEXT", spelling).await;
        assert_eq!(status["optOutState"], "OPTED_OUT", "{spelling}");
        assert_eq!(status["canSendOptinRequest"], false, "{spelling}");
        assert!(status["timeOfChange"].is_string(), "{status}");
    }

    // Act: opt back in, given in E.164.
    let optin = app
        .opt_event(
            &tenant,
            &[("TEXT", "+14155552671")],
            "OPTIN_MESSAGE_RECEIVED",
        )
        .await;

    // Assert
    assert_ok(optin).await;
    for spelling in ["4155552671", "+14155552671"] {
        let status = app.opt_status(&tenant, "TEXT", spelling).await;
        assert_eq!(status["optOutState"], "OPTED_IN", "{spelling}");
    }
}

#[tokio::test]
async fn a_user_requested_opt_out_opts_out() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    app.import_customers(
        tenant.dealer,
        json!([{"firstName": "John", "phoneNumbers": [{"phoneNumber": "4155552671"}]}]),
    )
    .await;

    // Act
    let response = app
        .opt_event(&tenant, &[("TEXT", "4155552671")], "USER_REQUESTED_OPT_OUT")
        .await;

    // Assert
    assert_ok(response).await;
    assert_eq!(
        app.opt_status(&tenant, "TEXT", "4155552671").await["optOutState"],
        "OPTED_OUT"
    );
}

#[tokio::test]
async fn a_dms_reimport_does_not_undo_an_opt_out() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = json!([{"firstName": "John", "customerKey": "DMS-1",
        "phoneNumbers": [{"phoneNumber": "4155552671"}]}]);
    app.import_customers(tenant.dealer, customer.clone()).await;
    assert_ok(
        app.opt_event(&tenant, &[("TEXT", "4155552671")], "STOP_MESSAGE_RECEIVED")
            .await,
    )
    .await;
    let opted_out = app.opt_status(&tenant, "TEXT", "4155552671").await;

    // Act
    app.import_customers(tenant.dealer, customer).await;

    // Assert
    let after = app.opt_status(&tenant, "TEXT", "4155552671").await;
    assert_eq!(after["optOutState"], "OPTED_OUT");
    assert_eq!(after, opted_out, "the re-import did not touch the state");
}

#[tokio::test]
async fn opt_state_is_kept_per_dealer() {
    // Arrange
    let app = spawn_app().await;
    let a = app.tenant("Acme Motors").await;
    let b = app.tenant("Bravo Autos").await;
    let customer = json!({"firstName": "John",
        "phoneNumbers": [{"phoneNumber": "4155552671"}],
        "emails": [{"emailAddress": "john@example.com"}]});
    app.create_customer(&a, customer.clone()).await;
    let at_b = app.create_customer(&b, customer).await;

    // Act
    assert_ok(
        app.opt_event(
            &a,
            &[("TEXT", "4155552671"), ("EMAIL", "john@example.com")],
            "STOP_MESSAGE_RECEIVED",
        )
        .await,
    )
    .await;

    // Assert
    assert_eq!(
        app.opt_status(&a, "TEXT", "+14155552671").await["optOutState"],
        "OPTED_OUT"
    );
    assert_eq!(
        app.opt_status(&b, "TEXT", "+14155552671").await,
        json!({"optOutState": "NOT_SET", "canSendOptinRequest": true, "timeOfChange": null})
    );
    assert_eq!(
        app.get_customer(&b, at_b).await["emails"][0]["okToEmail"],
        true
    );
}

#[tokio::test]
async fn one_bad_value_refuses_the_whole_batch_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(
            &tenant,
            json!({"firstName": "John",
                "phoneNumbers": [{"phoneNumber": "4155552671"}, {"phoneNumber": "6505550199"}],
                "emails": [{"emailAddress": "john@example.com"}]}),
        )
        .await;

    // Act
    let response = app
        .opt_event(
            &tenant,
            &[
                ("TEXT", "4155552671"),
                ("TEXT", "555-12"),
                ("EMAIL", "john@example.com"),
                ("TEXT", "6505550199"),
            ],
            "STOP_MESSAGE_RECEIVED",
        )
        .await;

    // Assert
    let body = assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    let descriptions = error_descriptions(&body, "INVALID_COMMUNICATION_VALUE");
    assert_eq!(descriptions.len(), 1, "{body}");
    assert!(
        descriptions[0].contains("communicationAttributesList[1].communicationValue"),
        "{body}"
    );
    for phone in ["4155552671", "6505550199"] {
        assert_eq!(
            app.opt_status(&tenant, "TEXT", phone).await["optOutState"],
            "NOT_SET",
            "{phone}"
        );
    }
    assert_eq!(
        app.get_customer(&tenant, customer).await["emails"][0]["okToEmail"],
        true
    );
}

#[tokio::test]
async fn an_email_opt_out_marks_the_address_not_ok_to_email() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;
    let customer = app
        .create_customer(
            &tenant,
            json!({"firstName": "Pat", "emails": [
                {"emailAddress": "Pat@Example.com"},
                {"emailAddress": "pat.work@example.com"}
            ]}),
        )
        .await;
    assert_eq!(
        app.opt_status(&tenant, "EMAIL", "pat@example.com").await["optOutState"],
        "OPTED_IN"
    );

    // Act
    let stop = app
        .opt_event(
            &tenant,
            &[("EMAIL", "PAT@example.COM")],
            "STOP_MESSAGE_RECEIVED",
        )
        .await;

    // Assert
    assert_ok(stop).await;
    let emails = app.get_customer(&tenant, customer).await["emails"].clone();
    assert_eq!(emails[0]["okToEmail"], false, "{emails}");
    assert_eq!(
        emails[1]["okToEmail"], true,
        "only the named address: {emails}"
    );
    assert_eq!(
        app.opt_status(&tenant, "EMAIL", "pat@example.com").await["optOutState"],
        "OPTED_OUT"
    );

    // Act: and back in.
    let optin = app
        .opt_event(
            &tenant,
            &[("EMAIL", "pat@example.com")],
            "OPTIN_MESSAGE_RECEIVED",
        )
        .await;

    // Assert
    assert_ok(optin).await;
    assert_eq!(
        app.get_customer(&tenant, customer).await["emails"][0]["okToEmail"],
        true
    );
}

#[tokio::test]
async fn an_unknown_communication_type_is_an_invalid_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let update = app
        .opt_event(&tenant, &[("FAX", "4155552671")], "STOP_MESSAGE_RECEIVED")
        .await;
    let read = app
        .call(
            &tenant.credential,
            Method::GET,
            &optout_read_path(tenant.department, "FAX", "4155552671"),
            None,
        )
        .await;

    // Assert
    let body = assert_error(update, 400, "INVALID_REQUEST").await;
    assert!(
        error_descriptions(&body, "INVALID_REQUEST")[0]
            .contains("communicationAttributesList[0].communicationType"),
        "{body}"
    );
    assert_error(read, 400, "INVALID_REQUEST").await;
    assert_eq!(
        app.opt_status(&tenant, "TEXT", "4155552671").await["optOutState"],
        "NOT_SET"
    );
}

#[tokio::test]
async fn an_unknown_event_is_an_invalid_request() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for event in [
        json!("UNSUBSCRIBE"),
        json!("stop_message_received"),
        json!(3),
        json!(null),
    ] {
        // Act
        let response = app
            .call(
                &tenant.credential,
                Method::POST,
                &optout_update_path(tenant.department),
                Some(json!({"communicationAttributesList": [
                    {"communicationType": "TEXT", "communicationValue": "4155552671"}
                ], "event": event})),
            )
            .await;

        // Assert
        let body = assert_error(response, 400, "INVALID_REQUEST").await;
        assert!(
            error_descriptions(&body, "INVALID_REQUEST")[0].contains("event"),
            "{body}"
        );
    }
    assert_eq!(
        app.opt_status(&tenant, "TEXT", "4155552671").await["optOutState"],
        "NOT_SET"
    );
}

#[tokio::test]
async fn a_malformed_value_in_the_read_path_is_an_invalid_communication_value() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    for (kind, value) in [("TEXT", "555-12"), ("EMAIL", "not-an-email")] {
        // Act
        let response = app
            .call(
                &tenant.credential,
                Method::GET,
                &optout_read_path(tenant.department, kind, value),
                None,
            )
            .await;

        // Assert
        assert_error(response, 400, "INVALID_COMMUNICATION_VALUE").await;
    }
}
