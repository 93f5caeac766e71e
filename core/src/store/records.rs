//! The JSON shapes of stored credentials, written once for every store: `identity.json` and
//! the entries of `device-tokens.json` ([`super::FileStore`]) are the same records as the
//! values of a key-value store ([`super::KeyValueCredentials`]), so data moves between them
//! unchanged.

use serde::{Deserialize, Serialize};

use super::{StoredToken, TokenKey};
use crate::identity::DeviceIdentity;
use crate::protocol::Role;
use crate::secret::Secret;

/// The record format version written today.
pub(crate) const VERSION: u32 = 1;

/// The device identity: `{"version":1,"deviceId","publicKeyPem","privateKeyPem","createdAtMs"}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityRecord {
    pub version: u32,
    pub device_id: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_at_ms: u64,
}

impl IdentityRecord {
    pub(crate) fn new(identity: &DeviceIdentity, created_at_ms: u64) -> Self {
        IdentityRecord {
            version: VERSION,
            device_id: identity.device_id().to_string(),
            public_key_pem: identity.public_key_pem(),
            private_key_pem: identity.private_key_pem(),
            created_at_ms,
        }
    }

    /// The identity, checked: the keys parse and the stored device id is the key's.
    pub(crate) fn identity(&self) -> Result<DeviceIdentity, String> {
        let id =
            DeviceIdentity::from_pem(&self.private_key_pem, Some(&self.public_key_pem)).map_err(|e| e.to_string())?;
        if id.device_id() != self.device_id {
            return Err(format!("deviceId {} does not match the key (expected {})", self.device_id, id.device_id()));
        }
        Ok(id)
    }
}

/// One device token: `{"origin","deviceId","role","token","scopes","issuedAtMs","updatedAtMs"}`
/// (an entry of `device-tokens.json`; a key-value store adds `"version"`, see [`Versioned`]).
#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRecord {
    pub origin: String,
    pub device_id: String,
    pub role: Role,
    pub token: Secret,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub issued_at_ms: Option<u64>,
    pub updated_at_ms: u64,
}

impl TokenRecord {
    pub(crate) fn new(key: &TokenKey, token: &StoredToken) -> Self {
        TokenRecord {
            origin: key.origin.clone(),
            device_id: key.device_id.clone(),
            role: key.role,
            token: token.token.clone(),
            scopes: token.scopes.clone(),
            issued_at_ms: token.issued_at_ms,
            updated_at_ms: token.updated_at_ms,
        }
    }

    /// Whether the record says it belongs to `key` (a record under another key is corrupt).
    pub(crate) fn is_for(&self, key: &TokenKey) -> bool {
        self.origin == key.origin && self.device_id == key.device_id && self.role == key.role
    }

    pub(crate) fn stored(&self) -> StoredToken {
        StoredToken {
            token: self.token.clone(),
            scopes: self.scopes.clone(),
            issued_at_ms: self.issued_at_ms,
            updated_at_ms: self.updated_at_ms,
        }
    }
}

/// A record standing alone (a key-value store's value): `{"version":1, …the record's fields}`.
#[derive(Serialize, Deserialize)]
pub(crate) struct Versioned<T> {
    pub version: u32,
    #[serde(flatten)]
    pub record: T,
}

impl<T> Versioned<T> {
    pub(crate) fn new(record: T) -> Self {
        Versioned { version: VERSION, record }
    }
}

/// The TLS pin of one Gateway: `{"version":1,"origin","fingerprint"}` (64 lowercase hex).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PinRecord {
    pub version: u32,
    pub origin: String,
    pub fingerprint: String,
}
