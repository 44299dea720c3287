use time::macros::datetime;

use super::settings::{Holiday, LocalTime, QuietHours, ZoneName};
use super::*;
use crate::domain::directory::DepartmentSettings;

fn number(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

fn zone(name: &str) -> ZoneName {
    ZoneName::parse(name).unwrap()
}

/// A department on the defaults: New York, quiet 21:00–08:00, no holidays.
fn defaults() -> DepartmentSettings {
    DepartmentSettings::default()
}

#[test]
fn only_automated_asynchronous_texts_are_held() {
    assert!(applies(Protocol::Text, false, false, Purpose::Customer));
    assert!(applies(Protocol::Text, false, false, Purpose::OptinRequest));
    assert!(!applies(Protocol::Text, true, false, Purpose::Customer));
    assert!(!applies(Protocol::Text, false, true, Purpose::Customer));
    assert!(!applies(
        Protocol::Text,
        false,
        false,
        Purpose::KeywordReply
    ));
    assert!(!applies(Protocol::Email, false, false, Purpose::Customer));
}

#[test]
fn the_recipients_clock_is_the_customer_then_the_area_code_then_the_department() {
    let department = zone("America/New_York");
    let chicago = zone("America/Chicago");
    let (z, region) = recipient_clock(Some(&chicago), &number("+13055550100"), &department);
    assert_eq!(z.iana_name(), Some("America/Chicago"));
    assert_eq!(
        region,
        Some("FL"),
        "the state still comes from the area code"
    );
    let (z, region) = recipient_clock(None, &number("+14155550100"), &department);
    assert_eq!(z.iana_name(), Some("America/Los_Angeles"));
    assert_eq!(region, Some("CA"));
    let (z, region) = recipient_clock(None, &number("+11234567890"), &department);
    assert_eq!(z.iana_name(), Some("America/New_York"));
    assert_eq!(region, None);
    let (z, _) = recipient_clock(None, &number("+447700900123"), &department);
    assert_eq!(z.iana_name(), Some("America/New_York"));
}

#[test]
fn held_at_22_30_until_08_00_the_next_morning() {
    let settings = defaults();
    let calendar = Calendar::new(&settings, None, &number("+11234567890"), false);
    // 2026-06-10 22:30 EDT is 02:30 UTC on the 11th.
    assert_eq!(
        calendar.held_until(datetime!(2026-06-11 02:30 UTC)),
        Some(datetime!(2026-06-11 12:00 UTC))
    );
    // 20:59 EDT may go; 21:00 may not.
    assert_eq!(
        calendar.held_until(datetime!(2026-06-11 00:59:59 UTC)),
        None
    );
    assert!(
        calendar
            .held_until(datetime!(2026-06-11 01:00 UTC))
            .is_some()
    );
    // 07:59:30 waits for 08:00 exactly.
    assert_eq!(
        calendar.held_until(datetime!(2026-06-11 11:59:30 UTC)),
        Some(datetime!(2026-06-11 12:00 UTC))
    );
}

#[test]
fn a_florida_number_keeps_the_state_window() {
    let settings = defaults();
    // Miami, 20:30 EDT: inside the federal window, outside Florida's 08:00–20:00.
    let calendar = Calendar::new(&settings, None, &number("+13055550100"), false);
    assert_eq!(
        calendar.held_until(datetime!(2026-06-11 00:30 UTC)),
        Some(datetime!(2026-06-11 12:00 UTC))
    );
    assert_eq!(calendar.held_until(datetime!(2026-06-10 23:59 UTC)), None);
}

#[test]
fn quiet_hours_off_lifts_the_state_windows_too() {
    let settings = DepartmentSettings {
        quiet_hours: None,
        ..defaults()
    };
    let calendar = Calendar::new(&settings, None, &number("+13055550100"), false);
    assert_eq!(calendar.held_until(datetime!(2026-06-11 07:00 UTC)), None);
}

#[test]
fn the_customers_zone_wins_over_the_area_code() {
    let settings = defaults();
    // A 212 (New York) number whose customer lives in Los Angeles: 22:30 in New York is
    // 19:30 there, so it goes.
    let la = zone("America/Los_Angeles");
    let calendar = Calendar::new(&settings, Some(&la), &number("+12125550100"), false);
    assert_eq!(calendar.held_until(datetime!(2026-06-11 02:30 UTC)), None);
    let calendar = Calendar::new(&settings, None, &number("+12125550100"), false);
    assert!(
        calendar
            .held_until(datetime!(2026-06-11 02:30 UTC))
            .is_some()
    );
}

#[test]
fn a_holiday_holds_until_the_next_allowed_minute_unless_overridden() {
    let settings = DepartmentSettings {
        holidays: vec![
            Holiday::parse("2026-12-25").unwrap(),
            Holiday::parse("2026-12-26").unwrap(),
        ],
        ..defaults()
    };
    let at = datetime!(2026-12-25 15:00 UTC); // 10:00 EST on Christmas
    let held = Calendar::new(&settings, None, &number("+11234567890"), false);
    assert_eq!(held.held_until(at), Some(datetime!(2026-12-27 13:00 UTC)));
    let lifted = Calendar::new(&settings, None, &number("+11234567890"), true);
    assert_eq!(lifted.held_until(at), None);
    // The override never lifts quiet hours.
    assert!(lifted.held_until(datetime!(2026-12-25 03:00 UTC)).is_some());
}

#[test]
fn daylight_saving_changes_move_the_release_in_utc() {
    let settings = defaults();
    let calendar = Calendar::new(&settings, None, &number("+11234567890"), false);
    // Spring forward, 2026-03-08: 22:30 EST on the 7th → 08:00 EDT on the 8th (12:00 UTC).
    assert_eq!(
        calendar.held_until(datetime!(2026-03-08 03:30 UTC)),
        Some(datetime!(2026-03-08 12:00 UTC))
    );
    // Fall back, 2026-11-01: 22:30 EDT on 10-31 → 08:00 EST on 11-01 (13:00 UTC).
    assert_eq!(
        calendar.held_until(datetime!(2026-11-01 02:30 UTC)),
        Some(datetime!(2026-11-01 13:00 UTC))
    );
}

#[test]
fn a_day_window_and_a_closed_day_of_a_state() {
    let settings = DepartmentSettings {
        quiet_hours: Some(QuietHours {
            start: LocalTime::at(23, 0),
            end: LocalTime::at(6, 0),
        }),
        ..defaults()
    };
    // Rhode Island (401), Saturday 2026-06-13 17:30 EDT: its Saturday window has closed and
    // Sunday is closed, so Monday 09:00.
    let calendar = Calendar::new(&settings, None, &number("+14015550100"), false);
    assert_eq!(
        calendar.held_until(datetime!(2026-06-13 21:30 UTC)),
        Some(datetime!(2026-06-15 13:00 UTC))
    );
    // Texas (214), Sunday 2026-06-14 10:00 CDT: Sunday calls from noon.
    let calendar = Calendar::new(&settings, None, &number("+12145550100"), false);
    assert_eq!(
        calendar.held_until(datetime!(2026-06-14 15:00 UTC)),
        Some(datetime!(2026-06-14 17:00 UTC))
    );
}
