//! The two reference tables behind quiet hours.
//!
//! Herald holds an automated text message while it is outside the
//! recipient's allowed calling window. The recipient's clock is the time
//! zone of their phone number's area code (`data/area_codes.csv`), and when
//! the area code names a state or province with a calling window of its own
//! (`data/calling_windows.csv`), that window applies as well. Both files are
//! compiled into the binary; `docs/CALLING_WINDOWS.md` records where their
//! contents come from and how to update them.
//!
//! Each table is parsed once, on first use. A malformed line in a shipped
//! file is a programming error, so building a table panics with the file
//! name and line number; the unit tests below build both tables, so a bad
//! edit fails the test suite rather than a running service.

use std::collections::HashMap;
use std::sync::LazyLock;

use jiff::civil::Weekday;

const AREA_CODES_CSV: &str = include_str!("../../../data/area_codes.csv");
const CALLING_WINDOWS_CSV: &str = include_str!("../../../data/calling_windows.csv");

/// What Herald knows of a North American area code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaCode {
    /// The IANA time zone most of the area code's numbers are in.
    pub zone: &'static str,
    /// The USPS state or territory code (`FL`), the ISO 3166-2 code of a
    /// Canadian province or territory (`CA-ON`), or the ISO 3166-1 alpha-3
    /// code of another NANP country (`JAM`).
    pub region: &'static str,
}

/// A region's stricter calling window on one day of the week (local minutes after midnight, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayWindow {
    /// Messages may go out from `start` up to, but not including, `end`.
    Open { start: u16, end: u16 },
    /// No messages may go out at all on this day.
    Closed,
}

/// One region's window for each day of the week, Monday first.
type Week = [Option<DayWindow>; 7];

static AREA_CODES: LazyLock<HashMap<u16, AreaCode>> = LazyLock::new(|| {
    parse_area_codes(AREA_CODES_CSV).unwrap_or_else(|err| panic!("data/area_codes.csv: {err}"))
});

static CALLING_WINDOWS: LazyLock<HashMap<&'static str, Week>> = LazyLock::new(|| {
    parse_calling_windows(CALLING_WINDOWS_CSV)
        .unwrap_or_else(|err| panic!("data/calling_windows.csv: {err}"))
});

/// The area code's zone and region; `None` for a code the table does not list.
pub fn area_code(code: u16) -> Option<AreaCode> {
    AREA_CODES.get(&code).copied()
}

/// The region's own calling window on `day`; `None` when the region has no rule of its own.
pub fn calling_window(region: &str, day: jiff::civil::Weekday) -> Option<DayWindow> {
    CALLING_WINDOWS
        .get(region)
        .and_then(|week| week[day_index(day)])
}

fn day_index(day: Weekday) -> usize {
    usize::try_from(day.to_monday_zero_offset()).expect("a weekday offset is between 0 and 6")
}

/// The data lines of a CSV file with their 1-based line numbers, after
/// checking that the first line is the expected header.
fn data_lines<'a>(
    text: &'a str,
    header: &str,
) -> Result<impl Iterator<Item = (usize, &'a str)>, String> {
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    match lines.next() {
        Some((_, first)) if first == header => Ok(lines),
        _ => Err(format!("line 1: expected the header `{header}`")),
    }
}

/// Splits a line into exactly `N` comma-separated fields.
fn fields<const N: usize>(number: usize, line: &str) -> Result<[&str; N], String> {
    let parts: Vec<&str> = line.split(',').collect();
    parts
        .try_into()
        .map_err(|_| format!("line {number}: expected {N} comma-separated fields in `{line}`"))
}

fn parse_area_codes(text: &'static str) -> Result<HashMap<u16, AreaCode>, String> {
    let mut table = HashMap::new();
    for (number, line) in data_lines(text, "area_code,zone,region")? {
        let [code, zone, region] = fields::<3>(number, line)?;
        let code = Some(code)
            .filter(|code| code.len() == 3)
            .and_then(|code| code.parse::<u16>().ok())
            .filter(|code| (200..=999).contains(code))
            .ok_or_else(|| format!("line {number}: `{code}` is not an area code"))?;
        if zone.is_empty() || region.is_empty() {
            return Err(format!("line {number}: zone and region must not be empty"));
        }
        if table.insert(code, AreaCode { zone, region }).is_some() {
            return Err(format!("line {number}: area code {code} is listed twice"));
        }
    }
    Ok(table)
}

fn parse_calling_windows(text: &'static str) -> Result<HashMap<&'static str, Week>, String> {
    let mut table: HashMap<&'static str, Week> = HashMap::new();
    for (number, line) in data_lines(text, "region,days,start,end")? {
        let [region, days, start, end] = fields::<4>(number, line)?;
        if region.is_empty() {
            return Err(format!("line {number}: the region must not be empty"));
        }
        let (first, last) = parse_days(days)
            .ok_or_else(|| format!("line {number}: `{days}` is not a day or range"))?;
        let window = match (start, end) {
            ("closed", "") => DayWindow::Closed,
            _ => match (parse_time(start), parse_time(end)) {
                (Some(start), Some(end)) if start < end => DayWindow::Open { start, end },
                _ => return Err(format!("line {number}: `{start}`-`{end}` is not a window")),
            },
        };
        let week = table.entry(region).or_default();
        for slot in &mut week[first..=last] {
            if slot.replace(window).is_some() {
                return Err(format!(
                    "line {number}: {region} already has a window for a day in {days}"
                ));
            }
        }
    }
    for (region, week) in &table {
        if week.iter().any(Option::is_none) {
            return Err(format!("{region} does not cover every day of the week"));
        }
    }
    Ok(table)
}

/// A single day (`Sat`) or a range (`Mon-Fri`) as Monday-first indexes.
fn parse_days(days: &str) -> Option<(usize, usize)> {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let index = |name: &str| NAMES.iter().position(|&day| day == name);
    let (first, last) = days.split_once('-').unwrap_or((days, days));
    let (first, last) = (index(first)?, index(last)?);
    (first <= last).then_some((first, last))
}

/// Local `HH:MM` as minutes after midnight; `24:00` is allowed as an end.
fn parse_time(time: &str) -> Option<u16> {
    let (hours, minutes) = time.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (hours, minutes) = (hours.parse::<u16>().ok()?, minutes.parse::<u16>().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 24 * 60).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_parses_and_no_area_code_is_listed_twice() {
        let table = parse_area_codes(AREA_CODES_CSV).unwrap();
        let rows = AREA_CODES_CSV.lines().count() - 1;
        assert_eq!(table.len(), rows);
        assert_eq!(AREA_CODES.len(), rows);
        let windows = parse_calling_windows(CALLING_WINDOWS_CSV).unwrap();
        assert_eq!(windows.len(), CALLING_WINDOWS.len());
    }

    #[test]
    fn area_codes_are_sorted() {
        let codes: Vec<&str> = AREA_CODES_CSV.lines().skip(1).map(|l| &l[..3]).collect();
        assert!(codes.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn every_zone_is_in_the_bundled_database() {
        for (code, entry) in AREA_CODES.iter() {
            assert!(
                jiff::tz::TimeZone::get(entry.zone).is_ok(),
                "{code}: {}",
                entry.zone
            );
        }
    }

    #[test]
    fn every_window_region_covers_the_whole_week() {
        for region in CALLING_WINDOWS.keys() {
            for day in Weekday::Monday.cycle_forward().take(7) {
                assert!(calling_window(region, day).is_some(), "{region} {day:?}");
            }
        }
    }

    #[test]
    fn spot_checks_area_codes() {
        let check =
            |code, zone, region| assert_eq!(area_code(code), Some(AreaCode { zone, region }));
        check(212, "America/New_York", "NY");
        check(305, "America/New_York", "FL");
        check(312, "America/Chicago", "IL");
        check(602, "America/Phoenix", "AZ");
        check(808, "Pacific/Honolulu", "HI");
        check(416, "America/Toronto", "CA-ON");
        check(850, "America/Chicago", "FL");
        assert_eq!(area_code(123), None);
        assert_eq!(area_code(555), None);
        assert_eq!(area_code(800), None);
    }

    #[test]
    fn spot_checks_calling_windows() {
        let open = |start, end| Some(DayWindow::Open { start, end });
        let window = calling_window;
        assert_eq!(window("FL", Weekday::Monday), open(8 * 60, 20 * 60));
        assert_eq!(window("TX", Weekday::Sunday), open(12 * 60, 21 * 60));
        assert_eq!(window("RI", Weekday::Sunday), Some(DayWindow::Closed));
        assert_eq!(window("CA-ON", Weekday::Friday), open(9 * 60, 21 * 60 + 30));
        assert_eq!(window("NY", Weekday::Monday), None);
        assert_eq!(window("XX", Weekday::Monday), None);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line_number() {
        let err = parse_area_codes("area_code,zone,region\n212,America/New_York,NY\n21x,Z,R\n");
        assert!(err.unwrap_err().starts_with("line 3:"));
        let twice = "region,days,start,end\nXX,Mon-Sun,08:00,20:00\nXX,Sun,closed,\n";
        let twice = parse_calling_windows(twice).unwrap_err();
        assert!(twice.starts_with("line 3:"), "{twice}");
        let gap = "region,days,start,end\nXX,Mon-Fri,08:00,20:00\n";
        assert!(parse_calling_windows(gap).is_err());
        assert!(parse_calling_windows("region,days,start,end\nXX,Mon-Sun,20:00,08:00\n").is_err());
    }
}
