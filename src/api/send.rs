//! `POST /communications/department/{departmentUUID}/user/{userUuid}/customer/{customerUuid}/message`:
//! the seed's endpoint. Checks in SPEC 4.2's order; then the message and its job are made
//! durable together before any answer, and sent by a worker (async) or inline (sync).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::Integrator;
use super::context;
use super::error::{ApiError, ErrorItem};
use super::extract::{ApiBody, ApiPath, path_uuid, refuse_nul};
use super::state::AppState;
use crate::delivery::Mode;
use crate::domain::codes::{ErrorCode, WarningCode};
use crate::domain::compose::compose;
use crate::domain::credential::Scope;
use crate::domain::customer::Customer;
use crate::domain::directory::{Department, User};
use crate::domain::message::{Direction, MAX_TEXT_CHARS, Message, Protocol, Recipient, Warning};
use crate::domain::new_message::Checked;
use crate::domain::report::MessageReport;
use crate::domain::send_request;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::observability;
use crate::store::blacklist::is_blacklisted;
use crate::store::{
    AcceptOutcome, ClaimedJob, IdempotencyClaim, Lease, NewJob, StoredResponse, ThreadOwner,
};

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub async fn send(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, user, customer)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    // 1. Credentials (the extractor) and grant.
    let department = auth
        .department(&state, &department, Scope::MessageCreate)
        .await?;
    let idempotency_key = idempotency_key(&headers)?;
    // 2. The request itself, every problem at once; its body is read only now.
    let body = body.bytes().await?;
    refuse_nul(&body)?;
    let request = send_request::parse(&body).map_err(|problems| {
        ApiError::from_items(
            StatusCode::BAD_REQUEST,
            problems
                .into_iter()
                .map(|p| ErrorItem::new(p.code, p.description))
                .collect(),
        )
    })?;
    // 3. The user and the customer the path names.
    let (user, customer) = user_and_customer(&state, &department, &user, &customer).await?;
    // Step 2's MESSAGE_TOO_LONG once composed: the signature needs the user, so it is checked
    // as soon as the user is known, before authority, lock and recipient.
    if request.direction == Direction::Outgoing && request.protocol == Protocol::Text {
        let composed = compose(
            Protocol::Text,
            &request.body,
            &request.options,
            &user,
            &department.settings,
        );
        let chars = composed.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(ApiError::bad_request(
                ErrorCode::MessageTooLong,
                format!("the composed text has {chars} characters; at most {MAX_TEXT_CHARS}"),
            ));
        }
    }
    let now = state.clock.now();
    if request.direction == Direction::Outgoing {
        // 4. Authority for the protocol.
        let allowed = match request.protocol {
            Protocol::Text => user.can_text,
            Protocol::Email => user.can_email,
        };
        if !allowed {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::UserDoesNotHaveAuthority,
                format!(
                    "this user may not send {} messages",
                    request.protocol.as_str()
                ),
            ));
        }
        // 5. A lock held by someone else.
        if let Some(lock) = state.store.customer_lock(customer.uuid, now).await?
            && lock.user_uuid != user.uuid
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::CustomerLocked,
                "the customer is locked by another user",
            ));
        }
    }
    // 6. The recipient must be the customer's.
    let recipient = recipient(
        request.protocol,
        request.communication_value.as_deref(),
        &customer,
    )?;

    let mut warnings = Vec::new();
    let override_granted = auth.holds(Scope::MessageOverrideOptout, &department);
    if request.options.override_optout_rules
        && request.protocol == Protocol::Text
        && !override_granted
    {
        warnings.push(warning(
            WarningCode::CantOverrideOptout,
            "this credential may not override opt-out rules; they apply",
        ));
    }
    if request.options.queue_if_opted_out && request.protocol == Protocol::Email {
        warnings.push(warning(
            WarningCode::CantQueueMessageIfOptedOut,
            "queueIfOptedOut applies to TEXT only; sent normally",
        ));
    }
    let (cc, bcc) = if request.protocol == Protocol::Email {
        let cc = screen_copies(
            &state,
            &department,
            &request.cc,
            "listOfEmailsToBeCCed",
            &recipient,
            &mut warnings,
        )
        .await?;
        let bcc = screen_copies(
            &state,
            &department,
            &request.bcc,
            "listOfEmailsToBeBCCed",
            &recipient,
            &mut warnings,
        )
        .await?;
        (cc, bcc)
    } else {
        (Vec::new(), Vec::new())
    };

    let checked = Checked {
        credential: &auth.0.username,
        department: &department,
        user: &user,
        customer: &customer,
        request: &request,
        recipient,
        cc,
        bcc,
        warnings,
        override_granted,
        request_uuid: context::request_id(),
    };
    let message = Message::requested(checked, now);
    let inline = request.direction == Direction::Outgoing && request.options.send_synchronously;
    let lease = Lease {
        id: Uuid::new_v4(),
        expires_at: now + state.settings.delivery.lease(),
    };
    let job = (request.direction == Direction::Outgoing).then(|| NewJob {
        due_at: if inline {
            now
        } else {
            now + time::Duration::seconds(request.options.delay_seconds as i64)
        },
        lease: inline.then_some(lease),
    });
    let thread = ThreadOwner {
        department_uuid: department.uuid,
        customer_uuid: customer.uuid,
        user_uuid: user.uuid,
        delegate: request.direction == Direction::Outgoing && !user.is_default,
    };
    let accepted_report = MessageReport::of(&message, context::request_id());
    let claim = idempotency_key.as_ref().map(|key| IdempotencyClaim {
        credential: auth.0.username.clone(),
        key: key.clone(),
        request_hash: request_hash(&department, &user, &customer, &body),
        response: (!inline).then(|| StoredResponse {
            status: 200,
            body: accepted_report.to_json(),
        }),
    });

    match state
        .store
        .accept_message(&message, job, claim.as_ref(), Some(thread))
        .await?
    {
        AcceptOutcome::Existing(first) => {
            let claim = claim.expect("only a claimed key can exist already");
            return replay(first, &claim.request_hash);
        }
        AcceptOutcome::Accepted => {}
    }
    metrics::counter!(observability::MESSAGES_ACCEPTED,
        "protocol" => request.protocol.as_str(), "mode" => if inline { "sync" } else { "async" })
    .increment(1);

    if !inline {
        if job.is_some() {
            state.delivery_wake.notify_one();
        }
        metrics::histogram!(observability::ACCEPT_SECONDS, "mode" => "async")
            .record(started.elapsed().as_secs_f64());
        return Ok(report_response(StatusCode::OK, &accepted_report));
    }

    // Synchronous: send now, in a task of its own so a client hanging up cannot cut the step
    // short (the message is durable either way; a worker takes over if this process dies).
    let claimed = ClaimedJob {
        message_uuid: message.uuid,
        lease,
        attempts: 0,
        doubt: None,
    };
    let deliverer = state.deliverer.clone();
    let step = tokio::spawn(async move { deliverer.deliver(&claimed, Mode::Inline).await });
    let retry_after = match step.await.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(wait) => wait,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "inline delivery failed; a worker will retry it"
            );
            None
        }
    };
    let after = state.store.message(message.uuid).await?.unwrap_or(message);
    let report = MessageReport::of(&after, context::request_id());
    let status = sync_status(&after);
    if let Some(key) = &idempotency_key {
        let stored = StoredResponse {
            status: status.as_u16(),
            body: report.to_json(),
        };
        state
            .store
            .complete_idempotency(&auth.0.username, key, &stored)
            .await?;
    }
    let mut response = report_response(status, &report);
    if let (StatusCode::TOO_MANY_REQUESTS, Some(wait)) = (status, retry_after) {
        let seconds = wait.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    metrics::histogram!(observability::ACCEPT_SECONDS, "mode" => "sync")
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::invalid_request("Idempotency-Key: 1 to 255 visible ASCII characters")
        })?;
    Ok(Some(key.to_string()))
}

/// Step 3: both problems are reported together.
async fn user_and_customer(
    state: &AppState,
    department: &Department,
    user_segment: &str,
    customer_segment: &str,
) -> Result<(User, Customer), ApiError> {
    let user = match path_uuid(user_segment) {
        Some(uuid) => state
            .store
            .user(uuid)
            .await?
            .filter(|u| u.department_uuid == department.uuid),
        None => None,
    };
    let customer = match path_uuid(customer_segment) {
        Some(uuid) => state.store.customer(department.dealer_uuid, uuid).await?,
        None => None,
    };
    match (user, customer) {
        (Some(user), Some(customer)) => Ok((user, customer)),
        (user, customer) => {
            let mut errors = Vec::new();
            if user.is_none() {
                errors.push(ErrorItem::new(
                    ErrorCode::InvalidUser,
                    "the userUuid is not a user of this department",
                ));
            }
            if customer.is_none() {
                errors.push(ErrorItem::new(
                    ErrorCode::InvalidCustomer,
                    "the customerUuid is not a customer of this dealer",
                ));
            }
            Err(ApiError::from_items(StatusCode::BAD_REQUEST, errors))
        }
    }
}

/// Step 6: the given value must be registered for the customer (any spelling of a number);
/// without one, the customer's preferred value for the protocol, then the first.
fn recipient(
    protocol: Protocol,
    value: Option<&str>,
    customer: &Customer,
) -> Result<Recipient, ApiError> {
    let invalid = |why: String| ApiError::bad_request(ErrorCode::InvalidCommunicationValue, why);
    match protocol {
        Protocol::Text => {
            let phone = match value {
                Some(v) => {
                    let p = PhoneNumber::parse(v).map_err(|e| invalid(e.to_string()))?;
                    customer
                        .phone(&p)
                        .ok_or_else(|| {
                            invalid(format!("{p} is not a phone number of this customer"))
                        })?
                        .phone_number
                        .clone()
                }
                None => customer
                    .phone_numbers
                    .iter()
                    .find(|p| p.is_preferred)
                    .or(customer.phone_numbers.first())
                    .ok_or_else(|| invalid("the customer has no phone number".into()))?
                    .phone_number
                    .clone(),
            };
            Ok(Recipient::Phone(phone))
        }
        Protocol::Email => {
            let email = match value {
                Some(v) => {
                    let e = EmailAddress::parse(v).map_err(|e| invalid(e.to_string()))?;
                    customer
                        .email(&e)
                        .ok_or_else(|| {
                            invalid(format!("{e} is not an email address of this customer"))
                        })?
                        .email_address
                        .clone()
                }
                None => customer
                    .emails
                    .iter()
                    .find(|e| e.is_preferred)
                    .or(customer.emails.first())
                    .ok_or_else(|| invalid("the customer has no email address".into()))?
                    .email_address
                    .clone(),
            };
            Ok(Recipient::Email(email))
        }
    }
}

fn warning(code: WarningCode, description: impl Into<String>) -> Warning {
    Warning {
        code,
        description: description.into(),
    }
}

/// CC/BCC entries that can be used; each one dropped leaves a warning (SPEC 5.3).
async fn screen_copies(
    state: &AppState,
    department: &Department,
    entries: &[String],
    field: &str,
    recipient: &Recipient,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<String>, ApiError> {
    let mut kept: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Ok(address) = EmailAddress::parse(entry) else {
            warnings.push(warning(
                WarningCode::InvalidEmail,
                format!("{at}: not a valid email address; skipped"),
            ));
            continue;
        };
        let flags = state
            .store
            .email_flags(department.dealer_uuid, &address)
            .await?;
        if flags.iter().any(|f| f.do_not_cc) {
            warnings.push(warning(
                WarningCode::DoNotCcEnabled,
                format!("{at}: {address} must not be copied; skipped"),
            ));
            continue;
        }
        let blacklisted = is_blacklisted(
            &*state.store,
            &state.settings.blacklist,
            department.dealer_uuid,
            &address,
        )
        .await
        .map_err(|e| ApiError::internal(anyhow::Error::from(e)))?;
        if blacklisted {
            warnings.push(warning(
                WarningCode::BlacklistedEmailDomain,
                format!("{at}: {address} is blacklisted; skipped"),
            ));
            continue;
        }
        if address.as_str() != recipient.as_str() && !kept.iter().any(|k| k == address.as_str()) {
            kept.push(address.to_string());
        }
    }
    Ok(kept)
}

/// What makes two requests "the same" for an idempotency key: the path and the exact body.
fn request_hash(department: &Department, user: &User, customer: &Customer, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("{}/{}/{}\n", department.uuid, user.uuid, customer.uuid).as_bytes());
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn replay(first: crate::store::IdempotencyRecord, hash: &str) -> Result<Response, ApiError> {
    if first.request_hash != hash {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with another request in the last 24 hours",
        ));
    }
    match first.response {
        Some(stored) => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let mut response = (status, stored.body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::MessageSendLockNotObtained,
            format!(
                "message {} with this Idempotency-Key is still being sent",
                first.message_uuid
            ),
        )),
    }
}

/// The HTTP status of a synchronous send's answer (SPEC 4.3).
fn sync_status(message: &Message) -> StatusCode {
    if message.status.is_success() {
        return StatusCode::OK;
    }
    match message.error.as_ref().map(|e| e.code) {
        Some(ErrorCode::RateLimitReached) => StatusCode::TOO_MANY_REQUESTS,
        Some(ErrorCode::MessageSendLockNotObtained) => StatusCode::CONFLICT,
        Some(ErrorCode::TwilioSendingFailure | ErrorCode::InvalidEmailAddress) => {
            StatusCode::BAD_GATEWAY
        }
        Some(ErrorCode::InternalServerError) | None => StatusCode::INTERNAL_SERVER_ERROR,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn report_response(status: StatusCode, report: &MessageReport) -> Response {
    (status, axum::Json(report)).into_response()
}
