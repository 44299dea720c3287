//! Quiet hours and holidays (SPEC 5.5): when an automated text may reach a recipient. The
//! recipient's clock is the customer's zone, else their number's area code's, else the
//! department's; the department's quiet window applies on it, and the stricter window of the
//! recipient's state (known from the area code) too; a department holiday, a date of the
//! department's own calendar, holds every automated text unless `overrideHolidays` lifts it.
//! Pure rules: the tables they read are data files in the repository (`tables.rs`).

pub mod settings;
pub mod tables;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

use super::PhoneNumber;
use super::directory::DepartmentSettings;
use super::message::{Protocol, Purpose};
use settings::{Holiday, QuietHours, ZoneName};
use tables::DayWindow;

/// Whether a message falls under the rule at all: an automated, asynchronous TEXT, other than a
/// reply to an inbound keyword. Manual messages (a person answering), synchronous sends (the
/// caller is waiting, e.g. a one-time code), keyword replies and email are never held.
pub fn applies(protocol: Protocol, is_manual: bool, synchronous: bool, purpose: Purpose) -> bool {
    protocol == Protocol::Text && !is_manual && !synchronous && purpose != Purpose::KeywordReply
}

/// The recipient's clock: the customer's zone when set, else the zone of the number's North
/// American area code, else the department's; and the recipient's region (US state) when the
/// area code tells it.
pub fn recipient_clock(
    customer_zone: Option<&ZoneName>,
    number: &PhoneNumber,
    department_zone: &ZoneName,
) -> (TimeZone, Option<&'static str>) {
    let area = area_code(number).and_then(tables::area_code);
    let zone = match (customer_zone, area) {
        (Some(zone), _) => zone.zone().clone(),
        (None, Some(area)) => {
            TimeZone::get(area.zone).unwrap_or_else(|_| department_zone.zone().clone())
        }
        (None, None) => department_zone.zone().clone(),
    };
    (zone, area.map(|a| a.region))
}

/// The three digits after `+1` of a North American number.
fn area_code(number: &PhoneNumber) -> Option<u16> {
    let digits = number.as_str().strip_prefix("+1")?;
    if digits.len() != 10 {
        return None;
    }
    digits[..3].parse().ok()
}

/// When a message to one recipient may be handed over.
#[derive(Debug, Clone)]
pub struct Calendar<'a> {
    /// The recipient's clock.
    pub zone: TimeZone,
    /// The recipient's region when the area code tells it (`FL`, `CA-ON`, `JAM`: see
    /// `tables.rs`).
    pub region: Option<&'static str>,
    /// `None`: quiet hours are off for the department (and with them the state windows).
    pub quiet_hours: Option<QuietHours>,
    pub holidays: &'a [Holiday],
    /// The department's zone, in which its holidays are dates.
    pub holiday_zone: TimeZone,
}

/// The longest search for an allowed minute: a holiday is skipped a day at a time, and no
/// calendar of at most [`settings::MAX_HOLIDAYS`] holidays and weekly windows needs more.
const MAX_STEPS: u32 = 200_000;

impl<'a> Calendar<'a> {
    /// The calendar of a department's settings for a recipient; `override_holidays` lifts the
    /// holiday rule, never quiet hours.
    pub fn new(
        settings: &'a DepartmentSettings,
        customer_zone: Option<&ZoneName>,
        number: &PhoneNumber,
        override_holidays: bool,
    ) -> Self {
        let (zone, region) = recipient_clock(customer_zone, number, &settings.time_zone);
        Self {
            zone,
            region,
            quiet_hours: settings.quiet_hours,
            holidays: if override_holidays {
                &[]
            } else {
                &settings.holidays
            },
            holiday_zone: settings.time_zone.zone().clone(),
        }
    }

    /// `None` when a message may go at `at`; else the next allowed minute after it.
    pub fn held_until(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = to_timestamp(at);
        if self.allows(start) {
            return None;
        }
        // The next whole minute, then minute by minute (a holiday a day at a time).
        let mut t =
            Timestamp::from_second(start.as_second() - start.as_second().rem_euclid(60) + 60)
                .unwrap_or(start);
        for _ in 0..MAX_STEPS {
            if let Some(next_day) = self.holiday_ends(t) {
                t = next_day;
                continue;
            }
            if self.allows(t) {
                return Some(from_timestamp(t));
            }
            t = t
                .saturating_add(jiff::SignedDuration::from_secs(60))
                .unwrap_or(t);
        }
        // Unreachable with valid settings; a message is never held forever.
        Some(from_timestamp(t))
    }

    /// Whether a message may be handed over at `t`.
    pub fn allows(&self, t: Timestamp) -> bool {
        if self.holiday_ends(t).is_some() {
            return false;
        }
        let Some(quiet) = &self.quiet_hours else {
            return true;
        };
        let local = self.zone.to_datetime(t);
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        if quiet.is_quiet(minute) {
            return false;
        }
        match self
            .region
            .and_then(|r| tables::calling_window(r, local.weekday()))
        {
            Some(DayWindow::Open { start, end }) => (start..end).contains(&minute),
            Some(DayWindow::Closed) => false,
            None => true,
        }
    }

    /// When `t` falls on a department holiday: the start of the next day of its calendar.
    fn holiday_ends(&self, t: Timestamp) -> Option<Timestamp> {
        if self.holidays.is_empty() {
            return None;
        }
        let date = self.holiday_zone.to_datetime(t).date();
        if !self.holidays.contains(&Holiday(date)) {
            return None;
        }
        let midnight = date.tomorrow().ok()?.at(0, 0, 0, 0);
        self.holiday_zone.to_timestamp(midnight).ok()
    }
}

fn to_timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(at.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn from_timestamp(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;
