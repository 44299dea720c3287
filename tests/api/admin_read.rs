//! The admin read API (SPEC 8): the directory, credentials and the message log read back by
//! the operator, paged with an opaque token.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, assert_ok, eventually, spawn_app, uuid_of};
use crate::send_support::{send, shop, text};

async fn get(app: &TestApp, path: &str) -> Value {
    assert_ok(app.admin(Method::GET, path, None).await).await
}

async fn send_text(app: &TestApp, shop: &crate::send_support::Shop, body: &str) -> Uuid {
    let answer = assert_ok(send(app, shop, text(body, json!({}))).await).await;
    uuid_of(&answer["messageUUID"])
}

/// Every item of a list, following nextPageToken.
async fn walk(app: &TestApp, path: &str, page_size: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}pageSize={page_size}");
        if let Some(t) = &token {
            url.push_str(&format!("&pageToken={t}"));
        }
        let page = get(app, &url).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn dealers_are_listed_in_pages_and_a_dealer_shows_its_departments() {
    // Arrange
    let app = spawn_app().await;
    let mut dealers = Vec::new();
    for i in 0..5 {
        dealers.push(app.create_dealer(&format!("Dealer {i}")).await);
    }
    let (department, default_user) = app.create_department(dealers[0], json!({})).await;

    // Act
    let first = get(&app, "/admin/v1/dealers?pageSize=2").await;
    let all = walk(&app, "/admin/v1/dealers", 2).await;
    let detail = get(&app, &format!("/admin/v1/dealers/{}", dealers[0])).await;

    // Assert
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["nextPageToken"].is_string());
    let listed: Vec<Uuid> = all.iter().map(|d| uuid_of(&d["uuid"])).collect();
    // Each once, oldest first; two dealers created within one millisecond tie on time and
    // come in UUID order, so the order is checked against the times listed.
    let mut sorted = listed.clone();
    sorted.sort();
    let mut created = dealers.clone();
    created.sort();
    assert_eq!(sorted, created, "each dealer once");
    let at = |d: &Value| {
        time::OffsetDateTime::parse(
            d["createdAt"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let mut by_time = all.clone();
    by_time.sort_by_key(|d| (at(d), uuid_of(&d["uuid"])));
    assert_eq!(all, by_time, "oldest first");
    assert!(all.iter().any(|d| d["name"] == "Dealer 1"));
    assert!(all[1]["createdAt"].is_string());
    assert_eq!(detail["dealer"]["name"], "Dealer 0");
    let departments = detail["dealer"]["departments"].as_array().unwrap();
    assert_eq!(departments.len(), 1);
    assert_eq!(uuid_of(&departments[0]["uuid"]), department);
    assert_eq!(uuid_of(&departments[0]["defaultUserUuid"]), default_user);
    assert_eq!(
        departments[0]["settings"]["footer"],
        "Acme Motors, 1 Main St"
    );
}

#[tokio::test]
async fn a_department_shows_its_settings_and_users() {
    // Arrange
    let app = spawn_app().await;
    let tenant = app.tenant("Acme Motors").await;

    // Act
    let body = get(
        &app,
        &format!("/admin/v1/departments/{}", tenant.department),
    )
    .await;

    // Assert
    let department = &body["department"];
    assert_eq!(uuid_of(&department["dealerUuid"]), tenant.dealer);
    assert_eq!(
        department["settings"]["emailSender"],
        "service@dealer.example.com"
    );
    let users: Vec<Uuid> = department["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| uuid_of(&u["uuid"]))
        .collect();
    assert_eq!(users, vec![tenant.default_user, tenant.user]);
    assert_eq!(department["users"][1]["firstName"], "Sarah");
    assert_eq!(department["users"][0]["isDefault"], true);
}

#[tokio::test]
async fn credentials_are_listed_with_grants_and_last_use_and_never_a_secret() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let unused = app.department_credential(shop.tenant.department).await;
    send_text(&app, &shop, "Hello").await;

    // Act: the use is stamped in the background, a moment after the request.
    let raw = eventually("the credential's use stamped", || async {
        let response = app.admin(Method::GET, "/admin/v1/credentials", None).await;
        let raw = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&raw).unwrap();
        body["items"][0]["lastUsedAt"].is_string().then_some(raw)
    })
    .await;

    // Assert
    for secret in [
        &shop.tenant.credential.password,
        &shop.tenant.credential.webhook_secret,
        &unused.password,
        &unused.webhook_secret,
    ] {
        assert!(!raw.contains(secret.as_str()), "a secret was listed: {raw}");
    }
    let body: Value = serde_json::from_str(&raw).unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let used = &items[0];
    assert_eq!(used["username"], shop.tenant.credential.username);
    assert!(used["lastUsedAt"].is_string(), "{used}");
    assert!(used["createdAt"].is_string());
    assert_eq!(used["revokedAt"], Value::Null);
    assert_eq!(uuid_of(&used["grants"][0]["uuid"]), shop.tenant.department);
    assert_eq!(items[1]["username"], unused.username);
    assert_eq!(items[1]["lastUsedAt"], Value::Null);
    let keys: HashSet<&str> = used
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["username", "grants", "createdAt", "revokedAt", "lastUsedAt"])
    );
}

#[tokio::test]
async fn the_message_log_is_newest_first_and_filtered() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let other = app.tenant("Other Motors").await;
    let first = send_text(&app, &shop, "one").await;
    let second = send_text(&app, &shop, "two").await;

    // Act
    let all = get(&app, "/admin/v1/messages").await;
    let by_dealer = get(
        &app,
        &format!("/admin/v1/messages?dealerUuid={}", shop.tenant.dealer),
    )
    .await;
    let by_other = get(
        &app,
        &format!("/admin/v1/messages?departmentUuid={}", other.department),
    )
    .await;
    let by_customer = get(
        &app,
        &format!("/admin/v1/messages?customerUuid={}", shop.john),
    )
    .await;
    let emails = get(&app, "/admin/v1/messages?protocol=EMAIL").await;
    let texts = get(&app, "/admin/v1/messages?protocol=TEXT&status=").await;
    let future = get(&app, "/admin/v1/messages?since=2999-01-01T00:00:00Z").await;
    let past = get(&app, "/admin/v1/messages?until=2000-01-01T00:00:00Z").await;
    let window = get(
        &app,
        "/admin/v1/messages?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    )
    .await;

    // Assert
    let uuids = |v: &Value| -> Vec<Uuid> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| uuid_of(&m["messageUUID"]))
            .collect()
    };
    assert_eq!(uuids(&all), vec![second, first]);
    assert_eq!(uuid_of(&all["items"][0]["dealerUUID"]), shop.tenant.dealer);
    assert_eq!(all["nextPageToken"], Value::Null);
    assert_eq!(uuids(&by_dealer), vec![second, first]);
    assert_eq!(uuids(&by_other), Vec::<Uuid>::new());
    assert_eq!(uuids(&by_customer), vec![second, first]);
    assert_eq!(uuids(&emails), Vec::<Uuid>::new());
    assert_eq!(uuids(&texts), vec![second, first]);
    assert_eq!(uuids(&future), Vec::<Uuid>::new());
    assert_eq!(uuids(&past), Vec::<Uuid>::new());
    assert_eq!(uuids(&window), vec![second, first]);

    // A status filter: the message's own status matches it, another does not.
    // Delivery may move it meanwhile: read its status before and after the log.
    let (status, same) = eventually("a status that holds while the log is read", || async {
        let path = format!("/admin/v1/messages/{first}");
        let before = get(&app, &path).await["message"]["messageStatus"].clone();
        let status = before.as_str().unwrap().to_string();
        let same = get(
            &app,
            &format!("/admin/v1/messages?status={status}&pageSize=200"),
        )
        .await;
        let after = get(&app, &path).await["message"]["messageStatus"].clone();
        (before == after).then_some((status, same))
    })
    .await;
    assert!(uuids(&same).contains(&first));
    assert!(
        same["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["messageStatus"] == status.as_str())
    );
    let other_status = if status == "EXPIRED" {
        "FAILED"
    } else {
        "EXPIRED"
    };
    let none = get(&app, &format!("/admin/v1/messages?status={other_status}")).await;
    assert_eq!(uuids(&none), Vec::<Uuid>::new());
}

#[tokio::test]
async fn a_message_shows_its_attempts_and_callbacks() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let message = send_text(&app, &shop, "Hello").await;

    // Act
    let body = get(&app, &format!("/admin/v1/messages/{message}")).await;
    let unknown = app
        .admin(
            Method::GET,
            &format!("/admin/v1/messages/{}", Uuid::new_v4()),
            None,
        )
        .await;
    let malformed = app
        .admin(Method::GET, "/admin/v1/messages/nope", None)
        .await;

    // Assert
    assert_eq!(uuid_of(&body["message"]["messageUUID"]), message);
    assert_eq!(uuid_of(&body["message"]["dealerUUID"]), shop.tenant.dealer);
    assert_eq!(body["message"]["communicationValue"], "+11234567890");
    assert!(body["attempts"].is_array());
    assert!(body["callbacks"].is_array());
    assert_error(unknown, 404, "NOT_FOUND").await;
    assert_error(malformed, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn paging_while_messages_arrive_gives_every_earlier_message_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app).await;
    for i in 0..11 {
        send_text(&app, &shop, &format!("before {i}")).await;
    }
    let expected: Vec<Uuid> = get(&app, "/admin/v1/messages?pageSize=200").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| uuid_of(&m["messageUUID"]))
        .collect();
    assert_eq!(expected.len(), 11);

    // Act: two new messages arrive between every two pages.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut arrived = 0;
    loop {
        let mut url = "/admin/v1/messages?pageSize=3".to_string();
        if let Some(t) = &token {
            url.push_str(&format!("&pageToken={t}"));
        }
        let page = get(&app, &url).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| uuid_of(&m["messageUUID"])),
        );
        for _ in 0..2 {
            send_text(&app, &shop, &format!("during {arrived}")).await;
            arrived += 1;
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }

    // Assert
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a message was given twice: {seen:?}"
    );
    let earlier: Vec<Uuid> = seen.into_iter().filter(|u| expected.contains(u)).collect();
    assert_eq!(earlier, expected);
}

#[tokio::test]
async fn bad_query_parameters_are_invalid_requests() {
    // Arrange
    let app = spawn_app().await;
    app.create_dealer("Acme Motors").await;
    let garbled = "bm90LWEtdG9rZW4";
    let dealers_token = get(&app, "/admin/v1/dealers?pageSize=1").await;
    assert_eq!(dealers_token["nextPageToken"], Value::Null);
    app.create_dealer("Second Motors").await;
    let dealers_token = get(&app, "/admin/v1/dealers?pageSize=1").await["nextPageToken"]
        .as_str()
        .unwrap()
        .to_string();

    // Act and Assert
    for path in [
        "/admin/v1/messages?status=LOST".to_string(),
        "/admin/v1/messages?protocol=FAX".to_string(),
        "/admin/v1/messages?dealerUuid=not-a-uuid".to_string(),
        "/admin/v1/messages?departmentUuid=123".to_string(),
        "/admin/v1/messages?customerUuid=x".to_string(),
        "/admin/v1/messages?since=yesterday".to_string(),
        "/admin/v1/messages?until=2026-13-01T00:00:00Z".to_string(),
        "/admin/v1/messages?pageSize=0".to_string(),
        "/admin/v1/messages?pageSize=201".to_string(),
        "/admin/v1/messages?pageSize=ten".to_string(),
        format!("/admin/v1/messages?pageToken={garbled}"),
        format!("/admin/v1/messages?pageToken={dealers_token}"),
        "/admin/v1/messages?departmentUUID=x".to_string(),
        "/admin/v1/dealers?pageSize=-1".to_string(),
        format!("/admin/v1/dealers?pageToken={garbled}"),
        "/admin/v1/credentials?pageSize=1000".to_string(),
        "/admin/v1/credentials?pageToken=%%%".to_string(),
    ] {
        let response = app.admin(Method::GET, &path, None).await;
        assert_error(response, 400, "INVALID_REQUEST").await;
    }
    let ok = app
        .admin(Method::GET, "/admin/v1/messages?pageSize=200", None)
        .await;
    assert_ok(ok).await;
}

#[tokio::test]
async fn unknown_directory_rows_are_not_found() {
    let app = spawn_app().await;
    let unknown = Uuid::new_v4();
    let dealer = app
        .admin(Method::GET, &format!("/admin/v1/dealers/{unknown}"), None)
        .await;
    let department = app
        .admin(
            Method::GET,
            &format!("/admin/v1/departments/{unknown}"),
            None,
        )
        .await;
    assert_error(dealer, 404, "INVALID_DEALER").await;
    assert_error(department, 404, "INVALID_DEPARTMENT").await;
}

#[tokio::test]
async fn tenant_data_is_read_only_with_the_admin_token() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app).await;
    let message = send_text(&app, &shop, "Hello").await;
    let credential = &shop.tenant.credential;

    for path in [
        "/admin/v1/dealers".to_string(),
        format!("/admin/v1/dealers/{}", shop.tenant.dealer),
        format!("/admin/v1/departments/{}", shop.tenant.department),
        "/admin/v1/credentials".to_string(),
        "/admin/v1/messages?status=LOST".to_string(),
        format!("/admin/v1/messages/{message}"),
    ] {
        // Act
        let missing = app.client.get(app.url(&path)).send().await.unwrap();
        let wrong = app
            .client
            .get(app.url(&path))
            .bearer_auth("not-the-admin-token")
            .send()
            .await
            .unwrap();
        let integrator = app
            .client
            .get(app.url(&path))
            .basic_auth(&credential.username, Some(&credential.password))
            .send()
            .await
            .unwrap();
        let write_as_integrator = app
            .client
            .post(app.url("/admin/v1/dealers"))
            .basic_auth(&credential.username, Some(&credential.password))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();

        // Assert: the same answers as the admin API's other routes.
        assert_error(missing, 401, "INVALID_ADMIN_TOKEN").await;
        assert_error(wrong, 401, "INVALID_ADMIN_TOKEN").await;
        let expected = write_as_integrator.status().as_u16();
        let body = assert_error(integrator, expected, "INVALID_ADMIN_TOKEN").await;
        assert!(!body.to_string().contains("Hello"), "{path}: {body}");
    }
}
