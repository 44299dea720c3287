//! Whether an address may not be emailed: the one check both the send request (CC/BCC
//! screening) and the delivery step (the recipient) ask.

use uuid::Uuid;

use super::{Store, StoreResult};
use crate::config::BlacklistSettings;
use crate::domain::EmailAddress;
use crate::domain::blacklist::on_global_list;

/// The operator's global list (configuration) first, then the dealer's own (the store).
pub async fn is_blacklisted(
    store: &dyn Store,
    global: &BlacklistSettings,
    dealer: Uuid,
    email: &EmailAddress,
) -> StoreResult<bool> {
    if on_global_list(&global.emails, &global.domains, email) {
        return Ok(true);
    }
    store.is_blacklisted(dealer, email).await
}
