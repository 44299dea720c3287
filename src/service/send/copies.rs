//! Screening an email's CC and BCC lists (SPEC 5.3): an entry that cannot be copied is
//! dropped with a warning, never refused.

use super::super::Failure;
use super::checks::warning;
use crate::config::BlacklistSettings;
use crate::domain::EmailAddress;
use crate::domain::codes::WarningCode;
use crate::domain::directory::Department;
use crate::domain::message::{Protocol, Recipient, SendRequest, Warning};
use crate::store::Store;
use crate::store::blacklist::is_blacklisted;

/// An email's CC and BCC addresses that can be used, each list screened (SPEC 5.3); a text
/// has none.
pub async fn screen_copies(
    store: &dyn Store,
    blacklist: &BlacklistSettings,
    department: &Department,
    request: &SendRequest,
    recipient: &Recipient,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<EmailAddress>, Vec<EmailAddress>), Failure> {
    if request.protocol != Protocol::Email {
        return Ok((Vec::new(), Vec::new()));
    }
    let screen = Screen {
        store,
        blacklist,
        department,
        recipient,
    };
    let cc = screen
        .copies(&request.cc, "listOfEmailsToBeCCed", warnings)
        .await?;
    let bcc = screen
        .copies(&request.bcc, "listOfEmailsToBeBCCed", warnings)
        .await?;
    Ok((cc, bcc))
}

/// What screening a CC or BCC list reads.
struct Screen<'a> {
    store: &'a dyn Store,
    blacklist: &'a BlacklistSettings,
    department: &'a Department,
    recipient: &'a Recipient,
}

impl Screen<'_> {
    /// The entries of one list that can be used; each one dropped leaves a warning: not an
    /// address, not to be copied, blacklisted. The recipient and repeats are dropped silently.
    async fn copies(
        &self,
        entries: &[String],
        field: &str,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<EmailAddress>, Failure> {
        let dealer = self.department.dealer_uuid;
        let mut kept: Vec<EmailAddress> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Ok(address) = EmailAddress::parse(entry) else {
                warnings.push(warning(
                    WarningCode::InvalidEmail,
                    format!("{at}: not a valid email address; skipped"),
                ));
                continue;
            };
            let flags = self.store.email_flags(dealer, &address).await?;
            if flags.iter().any(|f| f.do_not_cc) {
                warnings.push(warning(
                    WarningCode::DoNotCcEnabled,
                    format!("{at}: {address} must not be copied; skipped"),
                ));
                continue;
            }
            let blacklisted = is_blacklisted(self.store, self.blacklist, dealer, &address)
                .await
                .map_err(|e| Failure::Internal(e.into()))?;
            if blacklisted {
                warnings.push(warning(
                    WarningCode::BlacklistedEmailDomain,
                    format!("{at}: {address} is blacklisted; skipped"),
                ));
                continue;
            }
            if address.as_str() != self.recipient.as_str() && !kept.contains(&address) {
                kept.push(address);
            }
        }
        Ok(kept)
    }
}
