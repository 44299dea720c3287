//! Composition, exact to the character (SPEC 4.4).
//!
//! TEXT: the body, then each on its own line (`\n`): signature `-- <first> <last>`
//! (`addSignature`), the department footer (`addFooter`), the TCPA footer (`addTCPAFooter`).
//! EMAIL: the body, then signature and footer each after a blank line; no TCPA footer.

use super::PhoneNumber;
use super::directory::{Dealer, DepartmentSettings, User};
use super::message::{Protocol, SendOptions};

pub fn compose(
    protocol: Protocol,
    body: &str,
    options: &SendOptions,
    sender: &User,
    settings: &DepartmentSettings,
) -> String {
    let signature = options.add_signature.then(|| {
        format!("-- {} {}", sender.first_name, sender.last_name)
            .trim_end()
            .to_string()
    });
    let footer = options
        .add_footer
        .then_some(settings.footer.as_deref())
        .flatten()
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    let tcpa = (protocol == Protocol::Text && options.add_tcpa_footer)
        .then_some(settings.tcpa_footer.as_str())
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    let separator = match protocol {
        Protocol::Text => "\n",
        Protocol::Email => "\n\n",
    };
    std::iter::once(body.to_string())
        .chain(signature)
        .chain(footer)
        .chain(tcpa)
        .collect::<Vec<_>>()
        .join(separator)
}

/// The subject of an email: the request's, else the department's, else
/// `Message from <dealer name>`.
pub fn email_subject(
    requested: Option<&str>,
    settings: &DepartmentSettings,
    dealer: &Dealer,
) -> String {
    requested
        .or(settings.email_subject.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| format!("Message from {}", dealer.name))
}

/// `"Name <address>"` when the department has a sender name, else the bare address.
pub fn email_from(address: &str, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!(
            "{} <{address}>",
            name.replace(['"', '<', '>', '\r', '\n'], "")
        ),
        None => address.to_string(),
    }
}

/// The department's contact card, served as `text/vcard` for `sendVCard`.
pub fn vcard(department_name: &str, dealer_name: &str, number: Option<&PhoneNumber>) -> String {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace(';', "\\;")
            .replace(['\r', '\n'], " ")
    };
    let mut card = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{} {}\r\nORG:{}\r\n",
        escape(dealer_name),
        escape(department_name),
        escape(dealer_name)
    );
    if let Some(n) = number {
        card.push_str(&format!("TEL;TYPE=WORK,VOICE:{n}\r\n"));
    }
    card.push_str("END:VCARD\r\n");
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn sarah() -> User {
        User {
            uuid: Uuid::new_v4(),
            department_uuid: Uuid::new_v4(),
            first_name: "Sarah".into(),
            last_name: "Johnson".into(),
            email: None,
            can_text: true,
            can_email: true,
            is_default: false,
        }
    }

    fn settings() -> DepartmentSettings {
        DepartmentSettings {
            footer: Some("Acme Motors, 1 Main St".into()),
            ..DepartmentSettings::default()
        }
    }

    #[test]
    fn seed_example_one_to_the_character() {
        let options = SendOptions {
            add_signature: true,
            add_footer: false,
            ..SendOptions::default()
        };
        let text = compose(
            Protocol::Text,
            "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!",
            &options,
            &sarah(),
            &settings(),
        );
        assert_eq!(
            text,
            "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!\n-- Sarah Johnson\nText STOP to opt-out"
        );
    }

    #[test]
    fn text_parts_come_in_order_on_their_own_lines() {
        let options = SendOptions {
            add_signature: true,
            add_footer: true,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(Protocol::Text, "Body", &options, &sarah(), &settings()),
            "Body\n-- Sarah Johnson\nAcme Motors, 1 Main St\nText STOP to opt-out"
        );
        let bare = SendOptions {
            add_tcpa_footer: false,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(Protocol::Text, "Body", &bare, &sarah(), &settings()),
            "Body"
        );
    }

    #[test]
    fn email_uses_blank_lines_and_no_tcpa_footer() {
        let options = SendOptions {
            add_signature: true,
            add_footer: true,
            add_tcpa_footer: true,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(
                Protocol::Email,
                "Dear John,\n\nDone.",
                &options,
                &sarah(),
                &settings()
            ),
            "Dear John,\n\nDone.\n\n-- Sarah Johnson\n\nAcme Motors, 1 Main St"
        );
    }

    #[test]
    fn a_missing_footer_adds_nothing() {
        let options = SendOptions {
            add_footer: true,
            add_tcpa_footer: false,
            ..SendOptions::default()
        };
        let s = DepartmentSettings::default();
        assert_eq!(
            compose(Protocol::Text, "Body", &options, &sarah(), &s),
            "Body"
        );
    }

    #[test]
    fn from_and_subject() {
        assert_eq!(
            email_from("service@acme.com", Some("Acme Service")),
            "Acme Service <service@acme.com>"
        );
        assert_eq!(email_from("service@acme.com", None), "service@acme.com");
        let dealer = Dealer {
            uuid: Uuid::new_v4(),
            name: "Acme Motors".into(),
        };
        assert_eq!(
            email_subject(None, &DepartmentSettings::default(), &dealer),
            "Message from Acme Motors"
        );
        assert_eq!(
            email_subject(Some("Hi"), &DepartmentSettings::default(), &dealer),
            "Hi"
        );
    }
}
