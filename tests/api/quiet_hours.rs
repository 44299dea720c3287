//! Quiet hours, holidays and scheduled sends (SPEC 5.5, 4.1 `sendAt`, 4.3 `scheduledFor`), on
//! the clock the tests move: each test sets Herald's clock to the local time it names, and no
//! test waits for a real hour. "Not sent yet" is shown by a marker: a message that may go at
//! once, sent to the same customer after the clock moved, arrives while the held one is still
//! `SCHEDULED`.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::helpers::{Tenant, TestApp, assert_error, eventually, spawn_app_in, spawn_app_with};
use crate::receiver::Receiver;
use crate::send_support::{callback_settings, message_path, outbox, spawn_sending_app};

const NEW_YORK: &str = "America/New_York";
/// Area code 123 is no North American area code: the department's clock (New York) counts.
const NO_AREA: &str = "+11234567890";
/// Miami: Florida's window, 08:00–20:00.
const MIAMI: &str = "+13055550123";
/// Manhattan: New York's clock, no state window of its own.
const MANHATTAN: &str = "+12125550123";

/// A dealer whose department keeps the default quiet hours (21:00–08:00 in the recipient's
/// time) with `settings` on top, and customers imported from the DMS (opted in).
struct QuietShop {
    tenant: Tenant,
    customers: Vec<Uuid>,
}

async fn quiet_shop(app: &TestApp, settings: Value, customers: Value) -> QuietShop {
    let tenant = app.tenant("Acme Motors").await;
    let mut patch = json!({"quietHours": {"start": "21:00", "end": "08:00"}});
    if let (Some(p), Some(extra)) = (patch.as_object_mut(), settings.as_object()) {
        for (k, v) in extra {
            p.insert(k.clone(), v.clone());
        }
    }
    app.admin_ok(
        Method::PATCH,
        &format!("/admin/v1/departments/{}", tenant.department),
        patch,
    )
    .await;
    let customers = app.import_customers(tenant.dealer, customers).await;
    QuietShop { tenant, customers }
}

fn customer(number: &str, zone: Option<&str>) -> Value {
    let mut c = json!({"firstName": "Pat", "lastName": "Lee",
        "phoneNumbers": [{"phoneNumber": number, "isPreferred": true}]});
    if let Some(zone) = zone {
        c["timeZone"] = json!(zone);
    }
    c
}

/// A TEXT to the customer's preferred number: `isManual` as given, `extra` merged into
/// `messageSendingAttributes`.
fn text(body: &str, manual: bool, extra: Value) -> Value {
    json!({
        "messageAttributes": {"body": body, "isManual": manual, "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": extra
    })
}

async fn send_to(app: &TestApp, shop: &QuietShop, customer: usize, body: Value) -> Value {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &message_path(&shop.tenant, shop.tenant.user, shop.customers[customer]),
            Some(body),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn uuid(body: &Value) -> String {
    body["messageUUID"].as_str().unwrap().to_string()
}

fn scheduled_for(body: &Value) -> OffsetDateTime {
    let at = body["scheduledFor"]
        .as_str()
        .unwrap_or_else(|| panic!("scheduledFor in {body}"));
    assert!(at.ends_with('Z'), "UTC: {at}");
    OffsetDateTime::parse(at, &Rfc3339).unwrap()
}

async fn status_of(app: &TestApp, shop: &QuietShop, message: &str) -> Value {
    let response = app
        .call(
            &shop.tenant.credential,
            Method::GET,
            &format!(
                "/communications/department/{}/message/{message}",
                shop.tenant.department
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["message"].clone()
}

async fn sent(app: &TestApp) -> Vec<String> {
    outbox(app)
        .await
        .iter()
        .map(|m| m["messageUUID"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_until_sent(app: &TestApp, message: &str) {
    eventually(&format!("{message} in the outbox"), || async {
        sent(app).await.iter().any(|m| m == message).then_some(())
    })
    .await
}

/// Sends a manual text (never held) to the customer and waits until it is out: every job due
/// before it has been claimed by then.
async fn marker(app: &TestApp, shop: &QuietShop, customer: usize) {
    let body = send_to(app, shop, customer, text("Marker", true, json!({}))).await;
    assert_eq!(body["messageStatus"], "ACCEPTED");
    wait_until_sent(app, &uuid(&body)).await;
}

/// `hh:mm` on `date` in `zone`, in UTC.
fn local(zone: &str, date: Date, hour: i8, minute: i8) -> OffsetDateTime {
    let tz = TimeZone::get(zone).unwrap();
    let t = tz.to_timestamp(date.at(hour, minute, 0, 0)).unwrap();
    OffsetDateTime::from_unix_timestamp(t.as_second()).unwrap()
}

/// The next day after the app's clock (in `zone`) on which `hh:mm` is still ahead.
fn next_date(app: &TestApp, zone: &str, hour: i8, minute: i8) -> Date {
    let tz = TimeZone::get(zone).unwrap();
    let now = jiff::Timestamp::from_second(app.clock.now().unix_timestamp()).unwrap();
    let mut date = tz.to_datetime(now).date();
    while local(zone, date, hour, minute) <= app.clock.now() {
        date = date.tomorrow().unwrap();
    }
    date
}

/// Moves the app's clock to the next `hh:mm` in `zone`; returns that day's date there.
fn move_to(app: &TestApp, zone: &str, hour: i8, minute: i8) -> Date {
    let date = next_date(app, zone, hour, minute);
    app.clock.advance_to(local(zone, date, hour, minute));
    date
}

#[tokio::test]
async fn an_automated_text_at_22_30_is_held_and_sent_at_08_00_the_next_day() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    let mut receiver = Receiver::start(&[]).await;
    let day = move_to(&app, NEW_YORK, 22, 30);
    let morning = local(NEW_YORK, day.tomorrow().unwrap(), 8, 0);

    let held = send_to(
        &app,
        &shop,
        0,
        text(
            "Your car is due for service",
            false,
            json!({"callbackURL": receiver.url}),
        ),
    )
    .await;
    assert_eq!(held["status"], "SUCCESS");
    assert_eq!(held["messageStatus"], "SCHEDULED");
    assert_eq!(scheduled_for(&held), morning);
    let message = uuid(&held);
    let status = status_of(&app, &shop, &message).await;
    assert_eq!(status["messageStatus"], "SCHEDULED");
    assert_eq!(status["scheduledFor"], held["scheduledFor"]);

    // The admin list shows it held, and when it will go.
    let list = app
        .admin_ok(
            Method::GET,
            &format!(
                "/admin/v1/messages?status=SCHEDULED&dealerUuid={}",
                shop.tenant.dealer
            ),
            Value::Null,
        )
        .await;
    assert_eq!(list["items"][0]["messageUUID"], held["messageUUID"]);
    assert_eq!(list["items"][0]["scheduledFor"], held["scheduledFor"]);

    // 07:59: still held.
    app.clock.advance_to(morning - time::Duration::minutes(1));
    marker(&app, &shop, 0).await;
    assert!(!sent(&app).await.contains(&message));
    assert_eq!(
        status_of(&app, &shop, &message).await["messageStatus"],
        "SCHEDULED"
    );

    // 08:00: sent, and the client hears it.
    app.clock.advance_to(morning);
    let callback = receiver.next().await;
    assert_eq!(callback.body["messageUUID"], held["messageUUID"]);
    assert_eq!(callback.body["messageStatus"], "SENT");
    assert!(
        callback.body.get("scheduledFor").is_none(),
        "{}",
        callback.raw
    );
    wait_until_sent(&app, &message).await;
}

#[tokio::test]
async fn a_florida_number_is_held_at_20_30_by_the_state_window() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(
        &app,
        json!({}),
        json!([customer(MIAMI, None), customer(MANHATTAN, None)]),
    )
    .await;
    let day = move_to(&app, NEW_YORK, 20, 30);
    let florida = send_to(&app, &shop, 0, text("Recall notice", false, json!({}))).await;
    assert_eq!(florida["messageStatus"], "SCHEDULED");
    assert_eq!(
        scheduled_for(&florida),
        local(NEW_YORK, day.tomorrow().unwrap(), 8, 0)
    );
    // The same text to New York at the same minute is inside the federal window.
    let new_york = send_to(&app, &shop, 1, text("Recall notice", false, json!({}))).await;
    assert_eq!(new_york["messageStatus"], "ACCEPTED");
    wait_until_sent(&app, &uuid(&new_york)).await;
}

#[tokio::test]
async fn the_customers_zone_wins_over_the_area_code() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(
        &app,
        json!({}),
        json!([
            customer(MANHATTAN, Some("America/Los_Angeles")),
            customer(MANHATTAN, None)
        ]),
    )
    .await;
    // The customer API says the zone it keeps.
    let read = app.get_customer(&shop.tenant, shop.customers[0]).await;
    assert_eq!(read["timeZone"], "America/Los_Angeles");

    // 22:30 in New York is 19:30 in Los Angeles.
    let day = move_to(&app, NEW_YORK, 22, 30);
    let in_la = send_to(&app, &shop, 0, text("Your part arrived", false, json!({}))).await;
    assert_eq!(in_la["messageStatus"], "ACCEPTED");
    assert!(in_la.get("scheduledFor").is_none(), "{in_la}");
    wait_until_sent(&app, &uuid(&in_la)).await;
    let in_ny = send_to(&app, &shop, 1, text("Your part arrived", false, json!({}))).await;
    assert_eq!(in_ny["messageStatus"], "SCHEDULED");
    assert_eq!(
        scheduled_for(&in_ny),
        local(NEW_YORK, day.tomorrow().unwrap(), 8, 0)
    );
}

#[tokio::test]
async fn a_holiday_holds_automated_texts_unless_the_message_overrides_it() {
    let app = spawn_sending_app().await;
    // The holiday: the next day on which 10:00 in New York is ahead.
    let holiday = next_date(&app, NEW_YORK, 10, 0);
    let shop = quiet_shop(
        &app,
        json!({"holidays": [holiday.to_string()]}),
        json!([customer(NO_AREA, None)]),
    )
    .await;
    move_to(&app, NEW_YORK, 10, 0);

    let held = send_to(&app, &shop, 0, text("Holiday sale", false, json!({}))).await;
    assert_eq!(held["messageStatus"], "SCHEDULED");
    assert_eq!(
        scheduled_for(&held),
        local(NEW_YORK, holiday.tomorrow().unwrap(), 8, 0),
        "the first allowed minute after the holiday"
    );
    let lifted = send_to(
        &app,
        &shop,
        0,
        text(
            "Your car is ready",
            false,
            json!({"overrideHolidays": true}),
        ),
    )
    .await;
    assert_eq!(lifted["messageStatus"], "ACCEPTED");
    wait_until_sent(&app, &uuid(&lifted)).await;
    assert!(!sent(&app).await.contains(&uuid(&held)));
}

#[tokio::test]
async fn override_holidays_never_lifts_quiet_hours() {
    let app = spawn_sending_app().await;
    let holiday = next_date(&app, NEW_YORK, 23, 0);
    let shop = quiet_shop(
        &app,
        json!({"holidays": [holiday.to_string()]}),
        json!([customer(NO_AREA, None)]),
    )
    .await;
    move_to(&app, NEW_YORK, 23, 0);
    let held = send_to(
        &app,
        &shop,
        0,
        text("Late", false, json!({"overrideHolidays": true})),
    )
    .await;
    assert_eq!(held["messageStatus"], "SCHEDULED");
    assert_eq!(
        scheduled_for(&held),
        local(NEW_YORK, holiday.tomorrow().unwrap(), 8, 0)
    );
}

#[tokio::test]
async fn a_manual_text_and_a_synchronous_code_at_23_00_go_at_once_and_email_is_never_held() {
    let app = spawn_sending_app().await;
    let tenant_customers = json!([{
        "firstName": "Pat", "lastName": "Lee",
        "phoneNumbers": [{"phoneNumber": NO_AREA, "isPreferred": true}],
        "emails": [{"emailAddress": "pat@example.com", "isPreferred": true}]
    }]);
    let shop = quiet_shop(&app, json!({}), tenant_customers).await;
    move_to(&app, NEW_YORK, 23, 0);

    let manual = send_to(&app, &shop, 0, text("On my way", true, json!({}))).await;
    assert_eq!(manual["messageStatus"], "ACCEPTED");
    let code = send_to(
        &app,
        &shop,
        0,
        text(
            "Your code is 493021",
            false,
            json!({"sendSynchronously": true}),
        ),
    )
    .await;
    assert_eq!(code["status"], "SUCCESS", "{code}");
    assert!(
        code["messageStatus"] == "SENT" || code["messageStatus"] == "DELIVERED",
        "answered once handed over: {code}"
    );
    let email = send_to(
        &app,
        &shop,
        0,
        json!({
            "messageAttributes": {"body": "Invoice attached", "isManual": false, "protocol": "EMAIL", "type": "OUTGOING"},
            "messageSendingAttributes": {}
        }),
    )
    .await;
    assert_eq!(email["messageStatus"], "ACCEPTED");
    for message in [&manual, &code, &email] {
        wait_until_sent(&app, &uuid(message)).await;
    }
}

#[tokio::test]
async fn a_keyword_reply_at_23_00_is_sent_at_once() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    move_to(&app, NEW_YORK, 23, 0);
    let sender = app
        .admin_ok(
            Method::GET,
            &format!("/admin/v1/departments/{}", shop.tenant.department),
            Value::Null,
        )
        .await["department"]["settings"]["textSenderNumber"]
        .as_str()
        .unwrap()
        .to_string();
    app.admin_ok(
        Method::POST,
        "/dev/inbound",
        json!({"from": NO_AREA, "to": sender, "body": "HELP"}),
    )
    .await;
    eventually("the HELP reply in the outbox", || async {
        outbox(&app)
            .await
            .iter()
            .any(|m| m["to"] == NO_AREA && m["body"].as_str().unwrap_or("").contains("Reply STOP"))
            .then_some(())
    })
    .await;
}

fn twilio_settings(twilio: &FakeTwilio) -> impl FnOnce(&mut herald::Settings) + use<> {
    let base_url = twilio.base_url.clone();
    move |s| {
        callback_settings(s);
        s.public_base_url = Some("https://herald.example.com".into());
        s.text.provider = herald::config::TextProviderKind::Twilio;
        s.text.twilio.account_sid = Some(ACCOUNT_SID.into());
        s.text.twilio.auth_token = Some(SecretString::from(AUTH_TOKEN));
        s.text.twilio.base_url = base_url;
        // One retry, five minutes after a transient failure.
        s.delivery.retry_schedule_seconds = vec![300];
    }
}

#[tokio::test]
async fn a_transient_failure_at_20_59_is_retried_at_08_00() {
    let mut twilio = FakeTwilio::start().await;
    let app = spawn_app_with(twilio_settings(&twilio)).await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    let day = move_to(&app, NEW_YORK, 20, 59);
    let morning = local(NEW_YORK, day.tomorrow().unwrap(), 8, 0);
    twilio.script([Reply::Error {
        status: 503,
        code: 20500,
        message: "Service unavailable",
    }]);

    let body = send_to(&app, &shop, 0, text("Service reminder", false, json!({}))).await;
    assert_eq!(body["messageStatus"], "ACCEPTED");
    let message = uuid(&body);
    twilio.next_request().await;
    eventually("the 503 recorded", || async {
        let detail = app
            .admin_ok(
                Method::GET,
                &format!("/admin/v1/messages/{message}"),
                Value::Null,
            )
            .await;
        (detail["attempts"][0]["outcome"] == "TRANSIENT").then_some(())
    })
    .await;
    // The retry comes due at about 21:04, inside quiet hours: held until 08:00.
    app.clock.advance(std::time::Duration::from_secs(10 * 60));
    let held = eventually("the retry held", || async {
        let status = status_of(&app, &shop, &message).await;
        (status["messageStatus"] == "SCHEDULED").then_some(status)
    })
    .await;
    assert_eq!(scheduled_for(&held), morning);
    assert!(
        twilio.created().is_empty(),
        "nothing was created by the 503"
    );
    assert!(
        twilio.try_next_request().is_none(),
        "no second attempt in quiet hours"
    );

    app.clock.advance_to(morning);
    let retried = twilio.next_request().await;
    assert!(retried.sid.is_some(), "created at 08:00");
    assert_eq!(twilio.created().len(), 1);
    eventually("SENT after 08:00", || async {
        (status_of(&app, &shop, &message).await["messageStatus"] == "SENT").then_some(())
    })
    .await;
}

/// Both of New York's daylight-saving changes ahead of `app`'s clock, as the local date each
/// falls on: spring forward first or fall back first, whichever comes next.
fn dst_dates(app: &TestApp) -> Vec<(Date, bool)> {
    let tz = TimeZone::get(NEW_YORK).unwrap();
    // From two days on, so the evening before the first change is still ahead.
    let now = jiff::Timestamp::from_second(app.clock.now().unix_timestamp() + 2 * 86_400).unwrap();
    tz.following(now)
        .take(2)
        .map(|t| {
            let before = tz.to_offset(t.timestamp() - jiff::SignedDuration::from_secs(1));
            let forward = t.offset() > before;
            (tz.to_datetime(t.timestamp()).date(), forward)
        })
        .collect()
}

#[tokio::test]
async fn a_text_held_over_either_daylight_saving_change_goes_at_08_00_local() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    let changes = dst_dates(&app);
    assert_eq!(changes.len(), 2);
    for (change_day, forward) in changes {
        let evening = local(NEW_YORK, change_day.yesterday().unwrap(), 22, 30);
        app.clock.advance_to(evening);
        let held = send_to(&app, &shop, 0, text("Night before", false, json!({}))).await;
        assert_eq!(held["messageStatus"], "SCHEDULED");
        let release = scheduled_for(&held);
        // 22:30 to 08:00 is 9 h 30 on the wall; an hour less when clocks go forward, an hour
        // more when they go back.
        let hours = if forward { 8 * 60 + 30 } else { 10 * 60 + 30 };
        assert_eq!(
            release
                - app
                    .clock
                    .now()
                    .replace_second(0)
                    .unwrap()
                    .replace_nanosecond(0)
                    .unwrap(),
            time::Duration::minutes(hours),
            "forward: {forward}"
        );
        assert_eq!(release, local(NEW_YORK, change_day, 8, 0));
        app.clock.advance_to(release);
        wait_until_sent(&app, &uuid(&held)).await;
    }
}

#[tokio::test]
async fn send_at_holds_a_message_until_then_and_at_most_35_days_ahead() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    let day = move_to(&app, NEW_YORK, 12, 0);
    let in_ten_days = local(
        NEW_YORK,
        day.checked_add(jiff::Span::new().days(10)).unwrap(),
        12,
        0,
    );
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();

    let later = send_to(
        &app,
        &shop,
        0,
        text(
            "Your lease ends soon",
            false,
            json!({"sendAt": at(in_ten_days)}),
        ),
    )
    .await;
    assert_eq!(later["messageStatus"], "SCHEDULED");
    assert_eq!(scheduled_for(&later), in_ten_days);

    // Quiet hours apply to the time sendAt names: 23:00 becomes 08:00.
    let late = local(NEW_YORK, day, 23, 0);
    let night = send_to(
        &app,
        &shop,
        0,
        text("Night", false, json!({"sendAt": at(late)})),
    )
    .await;
    assert_eq!(
        scheduled_for(&night),
        local(NEW_YORK, day.tomorrow().unwrap(), 8, 0)
    );

    // A time already past means now.
    let past = send_to(
        &app,
        &shop,
        0,
        text("Now", true, json!({"sendAt": "2020-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(past["messageStatus"], "ACCEPTED");

    let forty = app.clock.now() + time::Duration::days(40);
    let response = app
        .call(
            &shop.tenant.credential,
            Method::POST,
            &message_path(&shop.tenant, shop.tenant.user, shop.customers[0]),
            Some(text("Too far", false, json!({"sendAt": at(forty)}))),
        )
        .await;
    let refused = assert_error(response, 400, "INVALID_REQUEST").await;
    assert!(
        refused["errors"][0]["errorDescription"]
            .as_str()
            .unwrap()
            .contains("sendAt"),
        "{refused}"
    );

    app.clock.advance_to(in_ten_days);
    wait_until_sent(&app, &uuid(&later)).await;
}

#[tokio::test]
async fn held_messages_survive_a_restart_and_go_once() {
    let first = spawn_sending_app().await;
    let shop = quiet_shop(&first, json!({}), json!([customer(NO_AREA, None)])).await;
    let day = move_to(&first, NEW_YORK, 22, 30);
    let held = send_to(&first, &shop, 0, text("Tomorrow", false, json!({}))).await;
    assert_eq!(held["messageStatus"], "SCHEDULED");
    let data = first.stop().await;

    let second = spawn_app_in(data, callback_settings).await;
    second
        .clock
        .advance_to(local(NEW_YORK, day.tomorrow().unwrap(), 8, 0));
    wait_until_sent(&second, &uuid(&held)).await;
    marker(&second, &shop, 0).await;
    let copies = sent(&second)
        .await
        .iter()
        .filter(|m| **m == uuid(&held))
        .count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn two_nodes_release_each_held_message_once() {
    let twilio = FakeTwilio::start().await;
    let a = spawn_app_with(twilio_settings(&twilio)).await;
    let b = spawn_app_in(a.data(), twilio_settings(&twilio)).await;
    let shop = quiet_shop(
        &a,
        json!({"rateLimits": {"automatedPerHour": 1000, "automatedPerDay": 1000}}),
        json!([customer(NO_AREA, None)]),
    )
    .await;
    let day = move_to(&a, NEW_YORK, 22, 30);
    b.clock.advance_to(a.clock.now());
    let mut held = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = send_to(
            node,
            &shop,
            0,
            text(&format!("Reminder {i}"), false, json!({})),
        )
        .await;
        assert_eq!(body["messageStatus"], "SCHEDULED");
        held.push(uuid(&body));
    }
    let morning = local(NEW_YORK, day.tomorrow().unwrap(), 8, 0);
    a.clock.advance_to(morning);
    b.clock.advance_to(morning);
    eventually("all 20 created at Twilio", || async {
        (twilio.created().len() >= 20).then_some(())
    })
    .await;
    for message in &held {
        eventually("SENT", || async {
            (status_of(&a, &shop, message).await["messageStatus"] == "SENT").then_some(())
        })
        .await;
    }
    let counts = twilio.created_count_by_body();
    assert_eq!(counts.len(), 20);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test]
async fn cancelling_a_held_message_ends_it_cancelled_with_a_callback() {
    let app = spawn_sending_app().await;
    let shop = quiet_shop(&app, json!({}), json!([customer(NO_AREA, None)])).await;
    let mut receiver = Receiver::start(&[]).await;
    let day = move_to(&app, NEW_YORK, 22, 30);
    let held = send_to(
        &app,
        &shop,
        0,
        text("Cancel me", false, json!({"callbackURL": receiver.url})),
    )
    .await;
    let message = uuid(&held);
    let cancelled = app
        .admin(
            Method::POST,
            &format!("/admin/v1/messages/{message}/cancel"),
            None,
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let callback = receiver.next().await;
    assert_eq!(callback.body["messageStatus"], "CANCELLED");
    app.clock
        .advance_to(local(NEW_YORK, day.tomorrow().unwrap(), 8, 1));
    marker(&app, &shop, 0).await;
    assert!(!sent(&app).await.contains(&message));
    assert_eq!(
        status_of(&app, &shop, &message).await["messageStatus"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn department_and_customer_settings_are_checked() {
    let app = spawn_app_with(|_| {}).await;
    let tenant = app.tenant("Acme Motors").await;
    let path = format!("/admin/v1/departments/{}", tenant.department);
    for bad in [
        json!({"timeZone": "Mars/Olympus"}),
        json!({"timeZone": "EST"}),
        json!({"quietHours": {"start": "9pm", "end": "08:00"}}),
        json!({"quietHours": {"start": "21:00", "end": "21:00"}}),
        json!({"quietHours": {"start": "21:00"}}),
        json!({"holidays": ["2026-02-30"]}),
    ] {
        let response = app.admin(Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let created = app
        .admin(
            Method::POST,
            &format!("/admin/v1/dealers/{}/departments", tenant.dealer),
            Some(json!({"name": "Parts", "timeZone": "Nowhere/Land"})),
        )
        .await;
    assert_eq!(created.status(), 400);

    app.admin_ok(
        Method::PATCH,
        &path,
        json!({"timeZone": "America/Chicago", "quietHours": {"start": "20:00", "end": "09:00"},
            "holidays": ["2026-12-25", "2026-07-04"]}),
    )
    .await;
    let read = app.admin_ok(Method::GET, &path, Value::Null).await;
    assert_eq!(
        read["department"]["settings"]["timeZone"],
        "America/Chicago"
    );
    assert_eq!(
        read["department"]["settings"]["quietHours"],
        json!({"start": "20:00", "end": "09:00"})
    );
    assert_eq!(
        read["department"]["settings"]["holidays"],
        json!(["2026-07-04", "2026-12-25"])
    );
    // `quietHours: null` turns them off, and a PATCH of something else keeps them off; a
    // window turns them on again.
    app.admin_ok(Method::PATCH, &path, json!({"quietHours": null}))
        .await;
    app.admin_ok(Method::PATCH, &path, json!({"footer": "Acme"}))
        .await;
    let read = app.admin_ok(Method::GET, &path, Value::Null).await;
    assert_eq!(read["department"]["settings"]["quietHours"], Value::Null);
    app.admin_ok(
        Method::PATCH,
        &path,
        json!({"quietHours": {"start": "21:30", "end": "08:30"}}),
    )
    .await;
    let read = app.admin_ok(Method::GET, &path, Value::Null).await;
    assert_eq!(
        read["department"]["settings"]["quietHours"],
        json!({"start": "21:30", "end": "08:30"})
    );

    let response = app
        .call(
            &tenant.credential,
            Method::POST,
            &crate::helpers::customers_path(tenant.department),
            Some(json!({"customer": {"firstName": "Pat", "timeZone": "Atlantis/Capital"}})),
        )
        .await;
    let body = assert_error(response, 400, "INVALID_REQUEST").await;
    assert!(body.to_string().contains("timeZone"), "{body}");
    // A zone is kept, absent keeps it, `null` clears it.
    let pat = app
        .create_customer(
            &tenant,
            json!({"firstName": "Pat", "timeZone": "America/Denver"}),
        )
        .await;
    assert_eq!(
        app.get_customer(&tenant, pat).await["timeZone"],
        "America/Denver"
    );
    app.create_customer(&tenant, json!({"uuid": pat, "lastName": "Lee"}))
        .await;
    assert_eq!(
        app.get_customer(&tenant, pat).await["timeZone"],
        "America/Denver"
    );
    app.create_customer(&tenant, json!({"uuid": pat, "timeZone": null}))
        .await;
    assert_eq!(
        app.get_customer(&tenant, pat).await["timeZone"],
        Value::Null
    );
    let imported = app
        .admin(
            Method::POST,
            &format!("/admin/v1/dealers/{}/customers", tenant.dealer),
            Some(json!({"customer": {"firstName": "Pat", "timeZone": "Atlantis/Capital"}})),
        )
        .await;
    assert_eq!(imported.status(), 400);
}
