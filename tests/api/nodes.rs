//! Two Herald nodes on one database: what one node does, the other honours.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{lock_path, spawn_app_in};
use crate::send_support::{callback_settings, message_path, shop, spawn_sending_app, text};

#[tokio::test]
async fn a_credential_revoked_on_one_node_is_refused_by_the_other_within_a_second() {
    let a = spawn_sending_app().await;
    let b = spawn_app_in(a.data(), callback_settings).await;
    let shop = shop(&a).await;
    let path = format!(
        "/manage/v2/departments/{}/dealerAssociate/default",
        shop.tenant.department
    );
    // B has the credential in its cache.
    assert_eq!(
        b.call(&shop.tenant.credential, Method::GET, &path, None)
            .await
            .status(),
        200
    );

    let revoked = a
        .admin(
            Method::DELETE,
            &format!("/admin/v1/credentials/{}", shop.tenant.credential.username),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 200);
    // SPEC 2 allows every node one second (B's cache trusts an entry for at most
    // CREDENTIAL_CACHE_TTL): B must refuse within it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let status = b
            .call(&shop.tenant.credential, Method::GET, &path, None)
            .await
            .status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200, "until it refuses, B answers as before");
        assert!(
            std::time::Instant::now() < deadline,
            "B still accepted a revoked credential a second after its revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_node_replays_on_the_other() {
    let a = spawn_sending_app().await;
    let b = spawn_app_in(a.data(), callback_settings).await;
    let shop = shop(&a).await;
    let path = message_path(&shop.tenant, shop.tenant.user, shop.john);
    let post = |app: &crate::helpers::TestApp| {
        app.client
            .post(app.url(&path))
            .basic_auth(
                &shop.tenant.credential.username,
                Some(&shop.tenant.credential.password),
            )
            .header("Idempotency-Key", "visit-7")
            .json(&text("See you at 10", json!({})))
            .send()
    };
    let (first, second) = tokio::join!(post(&a), post(&b));
    let first: Value = first.unwrap().json().await.unwrap();
    let second: Value = second.unwrap().json().await.unwrap();
    assert_eq!(
        first["messageUUID"], second["messageUUID"],
        "one message for one key"
    );
}

#[tokio::test]
async fn a_lock_taken_on_one_node_holds_on_the_other() {
    let a = spawn_sending_app().await;
    let b = spawn_app_in(a.data(), callback_settings).await;
    let shop = shop(&a).await;
    let locked = a
        .call(
            &shop.tenant.credential,
            Method::POST,
            &lock_path(shop.tenant.department, shop.tenant.user, shop.john),
            None,
        )
        .await;
    assert_eq!(locked.status(), 200);
    let other = b
        .call(
            &shop.tenant.credential,
            Method::POST,
            &lock_path(shop.tenant.department, shop.tenant.default_user, shop.john),
            None,
        )
        .await;
    assert_eq!(other.status(), 409);
    let sent_by_other = b
        .call(
            &shop.tenant.credential,
            Method::POST,
            &message_path(&shop.tenant, shop.tenant.default_user, shop.john),
            Some(text("Hi", json!({}))),
        )
        .await;
    assert_eq!(sent_by_other.status(), 409);
}
