//! The department settings and customer field of SPEC 5.5, as typed values: an IANA zone
//! name, a local `HH:MM` time, a quiet window and a holiday date. Each is checked when it is
//! parsed (an admin or customer request, a stored row), so the rules never meet a bad one.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IANA time zone name (`America/Chicago`) known to the bundled database, with its rules.
#[derive(Clone)]
pub struct ZoneName {
    name: String,
    zone: TimeZone,
}

impl ZoneName {
    /// The zone named `name` in the IANA database Herald carries; `None` for an unknown name.
    /// Fixed offsets and abbreviations (`EST`, `UTC+5`) are not accepted: a calling window
    /// follows the place's daylight-saving rules.
    pub fn parse(name: &str) -> Option<Self> {
        if !name.contains('/') && name != "UTC" {
            return None;
        }
        let zone = TimeZone::get(name).ok()?;
        Some(Self {
            name: name.to_string(),
            zone,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl Default for ZoneName {
    /// SPEC 5.5: a department's zone is `America/New_York` unless set.
    fn default() -> Self {
        Self::parse("America/New_York").expect("the bundled database has America/New_York")
    }
}

impl PartialEq for ZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for ZoneName {}

impl fmt::Debug for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for ZoneName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for ZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown time zone '{name}': expected an IANA name such as America/Chicago"
            ))
        })
    }
}

/// A local time of day to the minute, written `HH:MM` (24-hour, two digits each).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    /// Minutes after midnight, 0..1440.
    minute: u16,
}

impl LocalTime {
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
            return None;
        }
        let hour = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
        let minute = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
        (hour < 24 && minute < 60).then_some(Self {
            minute: hour * 60 + minute,
        })
    }

    /// `hour:minute`; panics outside a day (for constants).
    pub const fn at(hour: u16, minute: u16) -> Self {
        assert!(hour < 24 && minute < 60);
        Self {
            minute: hour * 60 + minute,
        }
    }

    /// Minutes after midnight.
    pub fn minute_of_day(self) -> u16 {
        self.minute
    }
}

impl fmt::Debug for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minute / 60, self.minute % 60)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "'{text}' is not a time of day: expected HH:MM, 00:00 to 23:59"
            ))
        })
    }
}

/// The department's quiet window, in the recipient's local time: from `start` (inclusive) to
/// `end` (exclusive), across midnight when `end` is earlier than `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuietHours {
    pub start: LocalTime,
    pub end: LocalTime,
}

impl Default for QuietHours {
    /// SPEC 5.5: 21:00 to 08:00, the federal window for telephone solicitation.
    fn default() -> Self {
        Self {
            start: LocalTime::at(21, 0),
            end: LocalTime::at(8, 0),
        }
    }
}

impl QuietHours {
    /// Whether `minute` (after local midnight) falls in the quiet window.
    pub fn is_quiet(&self, minute: u16) -> bool {
        let (start, end) = (self.start.minute, self.end.minute);
        if start < end {
            (start..end).contains(&minute)
        } else {
            minute >= start || minute < end
        }
    }
}

impl<'de> Deserialize<'de> for QuietHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            start: LocalTime,
            end: LocalTime,
        }
        let Wire { start, end } = Wire::deserialize(d)?;
        if start == end {
            return Err(serde::de::Error::custom(
                "quietHours start and end are the same time: set quietHours to null to turn quiet hours off",
            ));
        }
        Ok(Self { start, end })
    }
}

/// A day of the department's own calendar on which automated texts wait (`YYYY-MM-DD`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Holiday(pub Date);

impl Holiday {
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let digits = [0, 1, 2, 3, 5, 6, 8, 9];
        if b.len() != 10
            || b[4] != b'-'
            || b[7] != b'-'
            || !digits.iter().all(|&i| b[i].is_ascii_digit())
        {
            return None;
        }
        let year: i16 = text[0..4].parse().ok()?;
        let month: i8 = text[5..7].parse().ok()?;
        let day: i8 = text[8..10].parse().ok()?;
        Date::new(year, month, day).ok().map(Self)
    }
}

impl fmt::Debug for Holiday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Holiday {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Holiday {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("'{text}' is not a date: expected YYYY-MM-DD"))
        })
    }
}

/// At most this many holidays per department: years of a dealer's calendar.
pub const MAX_HOLIDAYS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_iana_names_from_the_bundled_database() {
        assert_eq!(
            ZoneName::parse("America/Chicago").unwrap().as_str(),
            "America/Chicago"
        );
        assert!(ZoneName::parse("UTC").is_some());
        for bad in ["Mars/Olympus", "EST", "", "america/chicago ", "+05:00"] {
            assert!(ZoneName::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(ZoneName::default().as_str(), "America/New_York");
    }

    #[test]
    fn local_times_are_strict_hh_mm() {
        assert_eq!(LocalTime::parse("08:00").unwrap().minute_of_day(), 480);
        assert_eq!(LocalTime::parse("23:59").unwrap().minute_of_day(), 1439);
        for bad in [
            "8:00", "24:00", "12:60", "12-00", "12:00:00", " 1:00", "ab:cd",
        ] {
            assert!(LocalTime::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_quiet_window_may_cross_midnight() {
        let night = QuietHours::default();
        assert!(night.is_quiet(21 * 60));
        assert!(night.is_quiet(0));
        assert!(night.is_quiet(7 * 60 + 59));
        assert!(!night.is_quiet(8 * 60));
        assert!(!night.is_quiet(20 * 60 + 59));
        let lunch = QuietHours {
            start: LocalTime::at(12, 0),
            end: LocalTime::at(13, 0),
        };
        assert!(lunch.is_quiet(12 * 60 + 30));
        assert!(!lunch.is_quiet(13 * 60));
        assert!(!lunch.is_quiet(0));
    }

    #[test]
    fn quiet_hours_parse_and_refuse_an_empty_window() {
        let q: QuietHours = serde_json::from_str(r#"{"start":"22:00","end":"07:30"}"#).unwrap();
        assert_eq!(q.end.minute_of_day(), 450);
        assert!(serde_json::from_str::<QuietHours>(r#"{"start":"22:00","end":"22:00"}"#).is_err());
        assert!(serde_json::from_str::<QuietHours>(r#"{"start":"22:00"}"#).is_err());
        assert!(serde_json::from_str::<QuietHours>(r#"{"start":"9pm","end":"08:00"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&QuietHours::default()).unwrap(),
            r#"{"start":"21:00","end":"08:00"}"#
        );
    }

    #[test]
    fn holidays_are_real_dates() {
        assert!(Holiday::parse("2026-12-25").is_some());
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-12-25",
            "2026/12/25",
            "2026-12-25T00:00",
        ] {
            assert!(Holiday::parse(bad).is_none(), "{bad}");
        }
    }
}
