//! When an asynchronous message's first attempt is due (SPEC 4.1, 4.3, 5.5): `delay` seconds
//! or `sendAt` from now, then, for an automated text, the next minute the recipient's quiet
//! hours, state window and the department's holidays allow.

use time::OffsetDateTime;

use crate::domain::customer::Customer;
use crate::domain::directory::Department;
use crate::domain::message::{Direction, Purpose, Recipient, SendRequest};
use crate::domain::quiet_hours::{Calendar, applies};

/// The time the message's first attempt is held until; `None`: due now (a synchronous or
/// incoming message always is).
pub fn held_until(
    request: &SendRequest,
    department: &Department,
    customer: &Customer,
    recipient: &Recipient,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let options = &request.options;
    if request.direction == Direction::Incoming || options.send_synchronously {
        return None;
    }
    let asked = match options.send_at {
        Some(at) => at.max(now),
        None => now + time::Duration::seconds(options.delay_seconds as i64),
    };
    let calendar_hold = match recipient {
        Recipient::Phone(number)
            if applies(
                request.protocol,
                request.is_manual,
                false,
                Purpose::Customer,
            ) =>
        {
            Calendar::new(
                &department.settings,
                customer.time_zone.as_ref(),
                number,
                options.override_holidays,
            )
            .held_until(asked)
        }
        _ => None,
    };
    let due = calendar_hold.unwrap_or(asked);
    (due > now).then_some(due)
}
