//! Directory rows decoded once for both backends.

use super::StoreError;
use super::StoreResult;
use super::backend::Row;
use crate::domain::EmailAddress;
use crate::domain::directory::{Department, User};

/// A `departments` row (`uuid, dealer_uuid, name, settings, default_user_uuid`).
pub(crate) fn department_from_row(r: &impl Row) -> StoreResult<Department> {
    Ok(Department {
        uuid: r.uuid("uuid")?,
        dealer_uuid: r.uuid("dealer_uuid")?,
        name: r.field("name")?,
        settings: r.json("settings")?,
        default_user_uuid: r.uuid("default_user_uuid")?,
    })
}

/// A `users` row (every column) as a [`User`].
pub(crate) fn user_from_row(r: &impl Row) -> StoreResult<User> {
    let email: Option<String> = r.field("email")?;
    Ok(User {
        uuid: r.uuid("uuid")?,
        department_uuid: r.uuid("department_uuid")?,
        first_name: r.field("first_name")?,
        last_name: r.field("last_name")?,
        email: email
            .map(|e| EmailAddress::parse(&e).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?,
        can_text: r.field("can_text")?,
        can_email: r.field("can_email")?,
        is_default: r.field("is_default")?,
    })
}
