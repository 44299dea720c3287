//! The error and warning codes clients see, spelled in one place. The seed's codes are kept
//! exactly; the few Herald adds for its own endpoints follow the same style. Every code is a
//! variant: a code is compared, stored and answered as its variant, and its spelling comes from
//! [`ErrorCode::as_str`] / [`WarningCode::as_str`] (the stores keep the spelling; a stored code
//! that names no variant is a store error, not a silent default).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a code enum: each variant with its spelling, `ALL`, `as_str`, `parse`, `Display`
/// and serde as the spelling.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The spelling clients see.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The code spelled `text`, if there is one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(concat!("unknown ", stringify!($name), " {}"), text))
                })
            }
        }
    };
}

code_enum! {
    /// Why a request was refused or a message failed (`errors[].errorCode`).
    ErrorCode {
        // Seed: common errors.
        MissingMessageAttributes => "MISSING_MESSAGE_ATTRIBUTES",
        InvalidUser => "INVALID_USER",
        MissingMessageType => "MISSING_MESSAGE_TYPE",
        MissingMessageProtocol => "MISSING_MESSAGE_PROTOCOL",
        MissingIsManual => "MISSING_IS_MANUAL",
        MissingMessageBody => "MISSING_MESSAGE_BODY",
        InvalidCommunicationValue => "INVALID_COMMUNICATION_VALUE",
        OptedOutCommunicationValue => "OPTED_OUT_COMMUNICATION_VALUE",
        CommunicationValueMarkedAsNotOkToCommunicate => "COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE",
        UserDoesNotHaveAuthority => "USER_DOES_NOT_HAVE_AUTHORITY",
        CustomerLocked => "CUSTOMER_LOCKED",
        RateLimitReached => "RATE_LIMIT_REACHED",
        InternalServerError => "INTERNAL_SERVER_ERROR",
        InvalidCustomer => "INVALID_CUSTOMER",
        // Seed: text and email codes.
        TwilioSendingFailure => "TWILIO_SENDING_FAILURE",
        MissingVoiceCredentials => "MISSING_VOICE_CREDENTIALS",
        MessageSendLockNotObtained => "MESSAGE_SEND_LOCK_NOT_OBTAINED",
        MissingDealerEmail => "MISSING_DEALER_EMAIL",
        InvalidEmailAddress => "INVALID_EMAIL_ADDRESS",
        BlacklistedEmailAddressOrDomain => "BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN",
        // SPEC 4.2 and 5.2.
        InvalidCallbackUrl => "INVALID_CALLBACK_URL",
        MessageTooLong => "MESSAGE_TOO_LONG",
        /// SPEC 4.5: not base64, empty, over a limit, or a type the protocol cannot carry.
        InvalidAttachment => "INVALID_ATTACHMENT",
        QueuedMessageExpired => "QUEUED_MESSAGE_EXPIRED",
        IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
        // Herald: credentials, request shape and its own endpoints.
        InvalidCredentials => "INVALID_CREDENTIALS",
        InsufficientScope => "INSUFFICIENT_SCOPE",
        InvalidRequest => "INVALID_REQUEST",
        RequestTooLarge => "REQUEST_TOO_LARGE",
        RequestTimeout => "REQUEST_TIMEOUT",
        /// Herald is serving its maximum of connections (`[http] max_connections`).
        TooManyConnections => "TOO_MANY_CONNECTIONS",
        NotFound => "NOT_FOUND",
        MethodNotAllowed => "METHOD_NOT_ALLOWED",
        AdminApiDisabled => "ADMIN_API_DISABLED",
        InvalidAdminToken => "INVALID_ADMIN_TOKEN",
        InvalidDealer => "INVALID_DEALER",
        InvalidDepartment => "INVALID_DEPARTMENT",
        InvalidGrant => "INVALID_GRANT",
        /// A `textSenderNumber` another dealer's department texts from (opt state is per dealer).
        SenderNumberInUse => "SENDER_NUMBER_IN_USE",
        /// Cancel of a message already handed over, in a worker's hands, or already decided.
        MessageNotCancellable => "MESSAGE_NOT_CANCELLABLE",
        /// Retry of a message that is neither `FAILED` nor `EXPIRED`.
        MessageNotRetryable => "MESSAGE_NOT_RETRYABLE",
        /// Redelivery of a callback that is not `FAILED` (still being tried, or delivered).
        CallbackNotRetryable => "CALLBACK_NOT_RETRYABLE",
        // Herald: provider webhooks.
        InvalidSignature => "INVALID_SIGNATURE",
        WebhookDisabled => "WEBHOOK_DISABLED",
    }
}

code_enum! {
    /// What a request was told while it was accepted (`warnings[].warningCode`).
    WarningCode {
        InvalidEmail => "INVALID_EMAIL",
        DoNotCcEnabled => "DO_NOT_CC_ENABLED",
        BlacklistedEmailDomain => "BLACKLISTED_EMAIL_DOMAIN",
        CantOverrideOptout => "CANT_OVERRIDE_OPTOUT",
        CantQueueMessageIfOptedOut => "CANT_QUEUE_MESSAGE_IF_OPTED_OUT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_from_its_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        for code in WarningCode::ALL {
            assert_eq!(WarningCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("NO_SUCH_CODE"), None);
        assert_eq!(WarningCode::parse("MISSING_MESSAGE_BODY"), None);
    }

    #[test]
    fn spellings_are_the_seed_style_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        let spellings = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(WarningCode::ALL.iter().map(|c| c.as_str()));
        for text in spellings {
            assert!(
                text.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{text}"
            );
            assert!(seen.insert(text), "{text} is spelled twice");
        }
    }

    #[test]
    fn codes_serialize_as_their_spelling() {
        let json = serde_json::to_string(&ErrorCode::MissingMessageBody).unwrap();
        assert_eq!(json, "\"MISSING_MESSAGE_BODY\"");
        let back: WarningCode = serde_json::from_str("\"DO_NOT_CC_ENABLED\"").unwrap();
        assert_eq!(back, WarningCode::DoNotCcEnabled);
        assert!(serde_json::from_str::<ErrorCode>("\"NOPE\"").is_err());
    }
}
