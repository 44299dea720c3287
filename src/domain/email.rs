//! Email addresses, held normalised (trimmed, lower-cased).
//!
//! Syntax is checked by the `email_address` crate; on top of it Herald's policy refuses what a
//! dealership can never deliver to: a dotless domain (`a@localhost`), a domain literal
//! (`a@[127.0.0.1]`) and display-name forms. The whole address is lower-cased because mailbox
//! providers treat the local part case-insensitively in practice and customers type it both ways.

use std::fmt;

use email_address::Options;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid email address")]
pub struct InvalidEmailAddress(pub String);

const MAX_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmailAddress> {
        let invalid = || InvalidEmailAddress(input.chars().take(64).collect());
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > MAX_LEN {
            return Err(invalid());
        }
        let options = Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            allow_long_local_parts: false,
        };
        let parsed = email_address::EmailAddress::parse_with_options(trimmed, options)
            .map_err(|_| invalid())?;
        let domain = parsed.domain();
        if !Self::is_plain_domain(domain) {
            return Err(invalid());
        }
        Ok(Self(parsed.email().to_lowercase()))
    }

    /// Letters, digits and hyphens in dot-separated labels, ending in an alphabetic TLD.
    fn is_plain_domain(domain: &str) -> bool {
        let labels: Vec<&str> = domain.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// A bare domain for blacklists (`example.com`), normalised like the domain of an address.
pub fn parse_domain(input: &str) -> Option<String> {
    let d = input.trim().trim_start_matches('@').to_lowercase();
    EmailAddress::is_plain_domain(&d).then_some(d)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmailAddress;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = InvalidEmailAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_lowercased() {
        assert_eq!(
            EmailAddress::parse(" John.Doe+service@Example.COM ")
                .unwrap()
                .as_str(),
            "john.doe+service@example.com"
        );
        assert_eq!(
            EmailAddress::parse("customer@example.com")
                .unwrap()
                .domain(),
            "example.com"
        );
        assert!(EmailAddress::parse("a@mail.dealer-group.co.uk").is_ok());
    }

    #[test]
    fn undeliverable_forms_are_refused() {
        for s in [
            "",
            "plainaddress",
            "a@localhost",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "John <john@example.com>",
            "a@example.",
            "a@.example.com",
            "a@exa mple.com",
            "@example.com",
            "a@@example.com",
            "a@example.c0m",
            "a@-example.com",
        ] {
            assert!(EmailAddress::parse(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn blacklist_domains_are_normalised() {
        assert_eq!(
            parse_domain("@Spam.Example.com").as_deref(),
            Some("spam.example.com")
        );
        assert_eq!(parse_domain("localhost"), None);
    }

    proptest! {
        #[test]
        fn generated_addresses_parse_and_round_trip(
            local in "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,20}[a-zA-Z0-9]",
            labels in proptest::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", 1..4),
            tld in "[a-zA-Z]{2,6}",
        ) {
            prop_assume!(!local.contains(".."));
            let input = format!("{local}@{}.{tld}", labels.join("."));
            let parsed = EmailAddress::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.to_lowercase());
            prop_assert_eq!(EmailAddress::parse(parsed.as_str()).unwrap(), parsed.clone());
        }

        #[test]
        fn dotless_domains_are_refused(local in "[a-z]{1,10}", host in "[a-z0-9-]{1,20}") {
            let input = format!("{local}@{host}");
            prop_assert!(EmailAddress::parse(&input).is_err());
        }

        #[test]
        fn ip_literals_are_refused(a in 0u8..=255, b in 0u8..=255, c in 0u8..=255, d in 0u8..=255) {
            let literal = format!("x@[{a}.{b}.{c}.{d}]");
            let dotted = format!("x@{a}.{b}.{c}.{d}");
            prop_assert!(EmailAddress::parse(&literal).is_err());
            prop_assert!(EmailAddress::parse(&dotted).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                prop_assert!(e.as_str().contains('@'));
                prop_assert_eq!(e.as_str().to_lowercase(), e.as_str());
            }
        }
    }
}
