//! The operator's global blacklist (`[blacklist]` in the configuration): addresses and
//! domains no dealer may email, on top of each dealer's own list (kept by the store).

use super::EmailAddress;

/// Whether `email` is on the global list: one of its addresses (any case), or at one of its
/// domains (written with or without a leading `@`, any case).
pub fn on_global_list(emails: &[String], domains: &[String], email: &EmailAddress) -> bool {
    emails
        .iter()
        .any(|e| e.eq_ignore_ascii_case(email.as_str()))
        || domains.iter().any(|d| {
            d.trim_start_matches('@')
                .eq_ignore_ascii_case(email.domain())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_address_on_the_list_in_any_case() {
        let emails = list(&["Bad@Example.com"]);
        assert!(on_global_list(&emails, &[], &email("bad@example.com")));
        assert!(!on_global_list(&emails, &[], &email("good@example.com")));
    }

    #[test]
    fn a_domain_with_or_without_its_at() {
        let domains = list(&["@spam.example", "JUNK.example"]);
        assert!(on_global_list(&[], &domains, &email("a@spam.example")));
        assert!(on_global_list(&[], &domains, &email("b@junk.example")));
        assert!(!on_global_list(&[], &domains, &email("c@example.com")));
        assert!(!on_global_list(&[], &domains, &email("d@sub.spam.example")));
    }

    #[test]
    fn an_empty_list_blacklists_no_one() {
        assert!(!on_global_list(&[], &[], &email("anyone@example.com")));
    }
}
