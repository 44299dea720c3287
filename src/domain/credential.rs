//! Integrator credentials and the grants they hold (SPEC 2).
//!
//! The password is a 256-bit random secret, so a fast keyed hash is as strong as a slow one
//! here and costs about a microsecond on every request: HMAC-SHA256 keyed with a per-credential
//! salt. Verification compares in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "message.create")]
    MessageCreate,
    #[serde(rename = "message.read")]
    MessageRead,
    #[serde(rename = "customer.search")]
    CustomerSearch,
    #[serde(rename = "customer.update")]
    CustomerUpdate,
    #[serde(rename = "optoutstatus.read")]
    OptoutStatusRead,
    #[serde(rename = "optoutstatus.update")]
    OptoutStatusUpdate,
    #[serde(rename = "manage.dealerassociate.default.read")]
    DefaultDealerAssociateRead,
    #[serde(rename = "message.override_optout")]
    MessageOverrideOptout,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MessageCreate => "message.create",
            Scope::MessageRead => "message.read",
            Scope::CustomerSearch => "customer.search",
            Scope::CustomerUpdate => "customer.update",
            Scope::OptoutStatusRead => "optoutstatus.read",
            Scope::OptoutStatusUpdate => "optoutstatus.update",
            Scope::DefaultDealerAssociateRead => "manage.dealerassociate.default.read",
            Scope::MessageOverrideOptout => "message.override_optout",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Every department of the dealer named by the grant.
    Dealer,
    /// The one department named by the grant.
    DealerDepartment,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Dealer => "Dealer",
            Level::DealerDepartment => "DealerDepartment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Dealer" => Some(Level::Dealer),
            "DealerDepartment" => Some(Level::DealerDepartment),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub scope: Scope,
    pub level: Level,
    pub uuid: Uuid,
}

impl Grant {
    /// Whether this grant lets its holder use `scope` on the department `department` of `dealer`.
    pub fn allows(&self, scope: Scope, dealer: Uuid, department: Uuid) -> bool {
        self.scope == scope
            && match self.level {
                Level::Dealer => self.uuid == dealer,
                Level::DealerDepartment => self.uuid == department,
            }
    }
}

/// A stored credential: never the password itself, only its keyed hash.
#[derive(Clone)]
pub struct Credential {
    pub username: String,
    pub secret_salt: Vec<u8>,
    pub secret_hash: Vec<u8>,
    pub webhook_secret: WebhookSecret,
    pub grants: Vec<Grant>,
    pub revoked: bool,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("grants", &self.grants)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

impl Credential {
    pub fn verify(&self, password: &str) -> bool {
        let computed = keyed_hash(&self.secret_salt, password);
        !self.revoked && bool::from(computed.as_slice().ct_eq(&self.secret_hash))
    }

    pub fn allows(&self, scope: Scope, dealer: Uuid, department: Uuid) -> bool {
        self.grants
            .iter()
            .any(|g| g.allows(scope, dealer, department))
    }
}

/// A freshly issued credential: the only moment the password exists in clear.
pub struct IssuedCredential {
    pub credential: Credential,
    pub password: String,
}

impl IssuedCredential {
    pub fn generate(grants: Vec<Grant>) -> Self {
        let username = format!("hrld_{}", hex(&random_bytes::<10>()));
        Self::generate_for(username, grants)
    }

    /// Issues a new secret for a chosen username (used by `herald demo` to rotate its own).
    pub fn generate_for(username: String, grants: Vec<Grant>) -> Self {
        let password = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let salt = random_bytes::<16>().to_vec();
        let secret_hash = keyed_hash(&salt, &password);
        Self {
            credential: Credential {
                username,
                secret_salt: salt,
                secret_hash,
                webhook_secret: WebhookSecret::generate(),
                grants,
                revoked: false,
            },
            password,
        }
    }
}

/// The Standard Webhooks signing secret of a credential: `whsec_` + base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        Self(format!("whsec_{}", STANDARD.encode(random_bytes::<32>())))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

fn keyed_hash(salt: &[u8], password: &str) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(password.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_password_verifies_and_others_do_not() {
        let issued = IssuedCredential::generate(vec![]);
        assert!(issued.credential.verify(&issued.password));
        assert!(!issued.credential.verify("wrong"));
        assert!(!issued.credential.verify(""));
        let mut revoked = issued.credential.clone();
        revoked.revoked = true;
        assert!(!revoked.verify(&issued.password));
    }

    #[test]
    fn secrets_have_their_documented_form() {
        let issued = IssuedCredential::generate(vec![]);
        assert!(issued.credential.username.starts_with("hrld_"));
        assert!(!issued.credential.username.contains(':'));
        assert!(issued.password.len() >= 43);
        let secret = issued.credential.webhook_secret.expose();
        let raw = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert!(!format!("{:?}", issued.credential).contains(&issued.password));
        assert!(!format!("{:?}", issued.credential).contains(secret));
    }

    #[test]
    fn grants_cover_their_level() {
        let dealer = Uuid::new_v4();
        let dept = Uuid::new_v4();
        let other = Uuid::new_v4();
        let by_dealer = Grant {
            scope: Scope::MessageCreate,
            level: Level::Dealer,
            uuid: dealer,
        };
        let by_dept = Grant {
            scope: Scope::MessageCreate,
            level: Level::DealerDepartment,
            uuid: dept,
        };
        assert!(by_dealer.allows(Scope::MessageCreate, dealer, other));
        assert!(!by_dealer.allows(Scope::MessageRead, dealer, dept));
        assert!(by_dept.allows(Scope::MessageCreate, other, dept));
        assert!(!by_dept.allows(Scope::MessageCreate, dealer, other));
        assert_eq!(
            Scope::parse("message.override_optout"),
            Some(Scope::MessageOverrideOptout)
        );
        assert_eq!(Scope::parse("message.delete"), None);
    }
}
