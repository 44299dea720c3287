//! The delivery rules evaluated when a message is about to be handed to a provider
//! (SPEC 4.2 "delivery outcome", 5.2, 5.3). Pure: the worker gathers the facts, this decides.

use super::codes::ErrorCode;
use super::message::{Protocol, Purpose};
use super::optout::OptState;

/// What the worker knows about a message at send time.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryFacts {
    pub purpose: Purpose,
    pub protocol: Protocol,
    /// The number's opt state (TEXT); `NotSet` for EMAIL.
    pub opt_state: OptState,
    /// `overrideOptoutRules` was asked for by a credential holding `message.override_optout`.
    pub override_optout: bool,
    pub queue_if_opted_out: bool,
    /// `okToText` / `okToEmail` of the recipient on the customer's record.
    pub contact_ok: bool,
    /// The department has a `textSenderNumber` (TEXT) or `emailSender` (EMAIL).
    pub sender_configured: bool,
    /// The recipient address or its domain is blacklisted (EMAIL).
    pub blacklisted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Hold the message until the number opts in (SPEC 5.2 `queueIfOptedOut`).
    WaitForOptin,
    Refuse {
        code: ErrorCode,
        description: String,
    },
}

fn refuse(code: ErrorCode, description: &str) -> Decision {
    Decision::Refuse {
        code,
        description: description.to_string(),
    }
}

pub fn decide(f: &DeliveryFacts) -> Decision {
    match (f.protocol, f.purpose) {
        // A keyword reply answers the customer's own message: the opt-out confirmation is
        // still sent after the number is marked OPTED_OUT (SPEC 5.1).
        (Protocol::Text, Purpose::KeywordReply) => sender_check(f),
        (Protocol::Text, Purpose::OptinRequest) => match f.opt_state {
            OptState::NotSet if f.contact_ok => sender_check(f),
            _ => refuse(
                ErrorCode::OptedOutCommunicationValue,
                "the number is no longer waiting for an opt-in",
            ),
        },
        (Protocol::Text, Purpose::Customer) => {
            if f.opt_state == OptState::OptedOut {
                return refuse(
                    ErrorCode::OptedOutCommunicationValue,
                    "the customer has opted out of texts on this number",
                );
            }
            if !f.contact_ok {
                return refuse(
                    ErrorCode::CommunicationValueMarkedAsNotOkToCommunicate,
                    "the number is marked not ok to text",
                );
            }
            if f.opt_state == OptState::NotSet && !f.override_optout {
                return if f.queue_if_opted_out {
                    Decision::WaitForOptin
                } else {
                    refuse(
                        ErrorCode::OptedOutCommunicationValue,
                        "the number has not opted in to texts",
                    )
                };
            }
            sender_check(f)
        }
        (Protocol::Email, _) => {
            if !f.contact_ok {
                return refuse(
                    ErrorCode::CommunicationValueMarkedAsNotOkToCommunicate,
                    "the address is marked not ok to email",
                );
            }
            if f.blacklisted {
                return refuse(
                    ErrorCode::BlacklistedEmailAddressOrDomain,
                    "the address or its domain is blacklisted",
                );
            }
            sender_check(f)
        }
    }
}

fn sender_check(f: &DeliveryFacts) -> Decision {
    match (f.sender_configured, f.protocol) {
        (true, _) => Decision::Send,
        (false, Protocol::Text) => refuse(
            ErrorCode::MissingVoiceCredentials,
            "the department has no textSenderNumber",
        ),
        (false, Protocol::Email) => refuse(
            ErrorCode::MissingDealerEmail,
            "the department has no emailSender",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(opt_state: OptState) -> DeliveryFacts {
        DeliveryFacts {
            purpose: Purpose::Customer,
            protocol: Protocol::Text,
            opt_state,
            override_optout: false,
            queue_if_opted_out: false,
            contact_ok: true,
            sender_configured: true,
            blacklisted: false,
        }
    }

    fn code(d: Decision) -> ErrorCode {
        match d {
            Decision::Refuse { code, .. } => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn opted_out_is_never_sent_whatever_is_asked() {
        let f = DeliveryFacts {
            override_optout: true,
            queue_if_opted_out: true,
            ..text(OptState::OptedOut)
        };
        assert_eq!(code(decide(&f)), ErrorCode::OptedOutCommunicationValue);
    }

    #[test]
    fn not_set_needs_an_override_or_waits_or_is_refused() {
        assert_eq!(
            code(decide(&text(OptState::NotSet))),
            ErrorCode::OptedOutCommunicationValue
        );
        assert_eq!(
            decide(&DeliveryFacts {
                override_optout: true,
                ..text(OptState::NotSet)
            }),
            Decision::Send
        );
        assert_eq!(
            decide(&DeliveryFacts {
                queue_if_opted_out: true,
                ..text(OptState::NotSet)
            }),
            Decision::WaitForOptin
        );
        assert_eq!(decide(&text(OptState::OptedIn)), Decision::Send);
    }

    #[test]
    fn contact_flag_and_sender_are_checked() {
        let not_ok = DeliveryFacts {
            contact_ok: false,
            ..text(OptState::OptedIn)
        };
        assert_eq!(
            code(decide(&not_ok)),
            ErrorCode::CommunicationValueMarkedAsNotOkToCommunicate
        );
        let no_sender = DeliveryFacts {
            sender_configured: false,
            ..text(OptState::OptedIn)
        };
        assert_eq!(code(decide(&no_sender)), ErrorCode::MissingVoiceCredentials);
    }

    #[test]
    fn keyword_replies_reach_opted_out_numbers() {
        let reply = DeliveryFacts {
            purpose: Purpose::KeywordReply,
            contact_ok: false,
            ..text(OptState::OptedOut)
        };
        assert_eq!(decide(&reply), Decision::Send);
    }

    #[test]
    fn email_rules() {
        let email = DeliveryFacts {
            protocol: Protocol::Email,
            ..text(OptState::NotSet)
        };
        assert_eq!(decide(&email), Decision::Send);
        assert_eq!(
            code(decide(&DeliveryFacts {
                blacklisted: true,
                ..email
            })),
            ErrorCode::BlacklistedEmailAddressOrDomain
        );
        assert_eq!(
            code(decide(&DeliveryFacts {
                contact_ok: false,
                ..email
            })),
            ErrorCode::CommunicationValueMarkedAsNotOkToCommunicate
        );
        assert_eq!(
            code(decide(&DeliveryFacts {
                sender_configured: false,
                ..email
            })),
            ErrorCode::MissingDealerEmail
        );
    }
}
