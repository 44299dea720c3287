//! Phone numbers, held in E.164.
//!
//! The check is on form, not carrier data (SPEC 1): `+` and 8–15 digits, or 10 US digits with
//! or without a leading `1`, with spaces, dots, dashes or parentheses between them. Whether a
//! number can receive texts is the provider's answer, so the seed's own `1234567890` is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a phone number (use E.164 such as +14155552671, or 10 US digits)")]
pub struct InvalidPhoneNumber(pub String);

/// Longest input looked at; anything longer is not a phone number however it is spelled.
const MAX_INPUT: usize = 32;

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let invalid = || InvalidPhoneNumber(input.chars().take(MAX_INPUT).collect());
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > MAX_INPUT {
            return Err(invalid());
        }
        let (international, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' => {}
                _ => return Err(invalid()),
            }
        }
        let e164 = if international {
            if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
                return Err(invalid());
            }
            digits
        } else {
            match digits.len() {
                10 => format!("1{digits}"),
                11 if digits.starts_with('1') => digits,
                _ => return Err(invalid()),
            }
        };
        Ok(Self(format!("+{e164}")))
    }

    /// The E.164 form, e.g. `+14155552671`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(s: &str) -> String {
        PhoneNumber::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn the_spellings_of_one_us_number_are_one_number() {
        for s in [
            "(415) 555-2671",
            "4155552671",
            "+14155552671",
            "1-415-555-2671",
            "415.555.2671",
            " +1 (415) 555 2671 ",
        ] {
            assert_eq!(e164(s), "+14155552671", "{s}");
        }
    }

    #[test]
    fn the_seed_example_number_is_accepted() {
        assert_eq!(e164("1234567890"), "+11234567890");
        assert_eq!(e164("+11234567890"), "+11234567890");
    }

    #[test]
    fn international_numbers_keep_their_country_code() {
        assert_eq!(e164("+44 20 7946 0958"), "+442079460958");
    }

    #[test]
    fn fragments_and_junk_are_not_numbers() {
        for s in [
            "",
            "555-12",
            "5551234",
            "+1234567",
            "+0123456789",
            "+1234567890123456",
            "415555267a",
            "++14155552671",
            "14155552671x",
            "2415555267100",
            "12345678901",
            "+1 415 555 2671 ext 3",
            "４１５５５５２６７１",
        ] {
            assert!(PhoneNumber::parse(s).is_err(), "{s:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn any_ten_digits_with_any_separators_is_a_us_number(
            digits in "[0-9]{10}",
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("."), Just("(") , Just(")")], 10),
            lead in prop_oneof![Just(""), Just("1"), Just("+1"), Just("1 "), Just("+1 ")],
        ) {
            let spelled: String = lead.to_string()
                + &digits.chars().zip(seps.iter()).map(|(d, s)| format!("{d}{s}")).collect::<String>();
            prop_assume!(spelled.trim().len() <= MAX_INPUT);
            let parsed = PhoneNumber::parse(&spelled).unwrap();
            prop_assert_eq!(parsed.as_str(), format!("+1{digits}"));
        }

        #[test]
        fn e164_round_trips(cc in "[1-9][0-9]{7,14}") {
            let once = PhoneNumber::parse(&format!("+{cc}")).unwrap();
            let twice = PhoneNumber::parse(once.as_str()).unwrap();
            prop_assert_eq!(&once, &twice);
            prop_assert_eq!(once.as_str(), format!("+{cc}"));
        }

        #[test]
        fn never_panics_and_output_is_always_e164(s in "\\PC{0,40}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                let rest = p.as_str().strip_prefix('+').unwrap();
                prop_assert!((8..=15).contains(&rest.len()));
                prop_assert!(rest.bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn too_few_digits_is_never_a_number(d in "[0-9]{1,7}") {
            let international = format!("+{d}");
            prop_assert!(PhoneNumber::parse(&d).is_err());
            prop_assert!(PhoneNumber::parse(&international).is_err());
        }
    }
}
