//! The error and warning codes clients see. The seed's codes are kept exactly; the few Herald
//! adds for its own endpoints follow the same style.

// Seed: common errors.
pub const MISSING_MESSAGE_ATTRIBUTES: &str = "MISSING_MESSAGE_ATTRIBUTES";
pub const INVALID_USER: &str = "INVALID_USER";
pub const MISSING_MESSAGE_TYPE: &str = "MISSING_MESSAGE_TYPE";
pub const MISSING_MESSAGE_PROTOCOL: &str = "MISSING_MESSAGE_PROTOCOL";
pub const MISSING_IS_MANUAL: &str = "MISSING_IS_MANUAL";
pub const MISSING_MESSAGE_BODY: &str = "MISSING_MESSAGE_BODY";
pub const INVALID_COMMUNICATION_VALUE: &str = "INVALID_COMMUNICATION_VALUE";
pub const OPTED_OUT_COMMUNICATION_VALUE: &str = "OPTED_OUT_COMMUNICATION_VALUE";
pub const COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE: &str =
    "COMMUNICATION_VALUE_MARKED_AS_NOT_OK_TO_COMMUNICATE";
pub const USER_DOES_NOT_HAVE_AUTHORITY: &str = "USER_DOES_NOT_HAVE_AUTHORITY";
pub const CUSTOMER_LOCKED: &str = "CUSTOMER_LOCKED";
pub const RATE_LIMIT_REACHED: &str = "RATE_LIMIT_REACHED";
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
pub const INVALID_CUSTOMER: &str = "INVALID_CUSTOMER";

// Seed: text, email and warning codes.
pub const TWILIO_SENDING_FAILURE: &str = "TWILIO_SENDING_FAILURE";
pub const MISSING_VOICE_CREDENTIALS: &str = "MISSING_VOICE_CREDENTIALS";
pub const MESSAGE_SEND_LOCK_NOT_OBTAINED: &str = "MESSAGE_SEND_LOCK_NOT_OBTAINED";
pub const MISSING_DEALER_EMAIL: &str = "MISSING_DEALER_EMAIL";
pub const INVALID_EMAIL_ADDRESS: &str = "INVALID_EMAIL_ADDRESS";
pub const BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN: &str = "BLACKLISTED_EMAIL_ADDRESS_OR_DOMAIN";
pub const INVALID_EMAIL: &str = "INVALID_EMAIL";
pub const DO_NOT_CC_ENABLED: &str = "DO_NOT_CC_ENABLED";
pub const BLACKLISTED_EMAIL_DOMAIN: &str = "BLACKLISTED_EMAIL_DOMAIN";
pub const CANT_OVERRIDE_OPTOUT: &str = "CANT_OVERRIDE_OPTOUT";
pub const CANT_QUEUE_MESSAGE_IF_OPTED_OUT: &str = "CANT_QUEUE_MESSAGE_IF_OPTED_OUT";

// SPEC 4.2 and 5.2.
pub const INVALID_CALLBACK_URL: &str = "INVALID_CALLBACK_URL";
pub const MESSAGE_TOO_LONG: &str = "MESSAGE_TOO_LONG";
pub const QUEUED_MESSAGE_EXPIRED: &str = "QUEUED_MESSAGE_EXPIRED";
pub const IDEMPOTENCY_KEY_REUSED: &str = "IDEMPOTENCY_KEY_REUSED";

// Herald: credentials, request shape and its own endpoints.
pub const INVALID_CREDENTIALS: &str = "INVALID_CREDENTIALS";
pub const INSUFFICIENT_SCOPE: &str = "INSUFFICIENT_SCOPE";
pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
pub const REQUEST_TOO_LARGE: &str = "REQUEST_TOO_LARGE";
pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
/// Herald is serving its maximum of connections (`[http] max_connections`).
pub const TOO_MANY_CONNECTIONS: &str = "TOO_MANY_CONNECTIONS";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
pub const ADMIN_API_DISABLED: &str = "ADMIN_API_DISABLED";
pub const INVALID_ADMIN_TOKEN: &str = "INVALID_ADMIN_TOKEN";
pub const INVALID_DEALER: &str = "INVALID_DEALER";
pub const INVALID_DEPARTMENT: &str = "INVALID_DEPARTMENT";
pub const INVALID_GRANT: &str = "INVALID_GRANT";
/// A `textSenderNumber` another dealer's department texts from (opt state is per dealer).
pub const SENDER_NUMBER_IN_USE: &str = "SENDER_NUMBER_IN_USE";
/// Cancel of a message already handed over, in a worker's hands, or already decided.
pub const MESSAGE_NOT_CANCELLABLE: &str = "MESSAGE_NOT_CANCELLABLE";
/// Retry of a message that is neither `FAILED` nor `EXPIRED`.
pub const MESSAGE_NOT_RETRYABLE: &str = "MESSAGE_NOT_RETRYABLE";
/// Redelivery of a callback that is not `FAILED` (still being tried, or delivered).
pub const CALLBACK_NOT_RETRYABLE: &str = "CALLBACK_NOT_RETRYABLE";

// Herald: provider webhooks.
pub const INVALID_SIGNATURE: &str = "INVALID_SIGNATURE";
pub const WEBHOOK_DISABLED: &str = "WEBHOOK_DISABLED";
