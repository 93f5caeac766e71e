//! Where identity and device tokens live: a trait, a JSON file store for Linux, a store over
//! an app's key-value storage and an in-memory store. Tokens are keyed by (gateway origin, deviceId, role) so a token is
//! never sent to a Gateway other than the one that issued it.

mod file;
mod keyvalue;
mod memory;
mod private;
mod records;

pub use file::FileStore;
pub use keyvalue::{KeyValueCredentials, KeyValueStore, keys};
pub use memory::MemoryStore;
#[cfg(unix)]
pub use private::refuse_unsafe_ancestors;
pub use private::{PrivateDirError, ensure_private_dir, write_private_atomic};

use crate::clock::RandomSource;
use crate::endpoint::TlsPin;
use crate::identity::{DeviceIdentity, IdentityError};
use crate::protocol::Role;
use crate::secret::Secret;

/// Key of a stored device token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    /// The Gateway origin that issued it (`GatewayOrigin` display form).
    pub origin: String,
    /// The device id it belongs to.
    pub device_id: String,
    /// Its role.
    pub role: Role,
}

impl TokenKey {
    /// A stable string form (`origin|deviceId|role`), used as a map key on disk.
    pub fn as_string(&self) -> String {
        format!("{}|{}|{}", self.origin, self.device_id, self.role.as_str())
    }
}

/// A stored device token.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredToken {
    /// The token.
    pub token: Secret,
    /// Scopes granted with it.
    pub scopes: Vec<String>,
    /// `hello-ok.auth.issuedAtMs`.
    pub issued_at_ms: Option<u64>,
    /// When it was written.
    pub updated_at_ms: u64,
}

/// Store failures. Each variant says what the user must look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("credential store I/O error at {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data exists but cannot be read. Never silently replaced.
    #[error("stored {what} at {path} is unreadable ({reason}); refusing to replace it — move it aside to start over")]
    Corrupt {
        /// identity or tokens.
        what: &'static str,
        /// Where.
        path: String,
        /// Why.
        reason: String,
    },
    /// Identity material is invalid.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The host's secure storage failed.
    #[error("secure storage failed: {0}")]
    Backend(String),
    /// The state directory is unsafe (a symlink, or owned by another user) or cannot be made
    /// private.
    #[error(transparent)]
    StateDir(#[from] PrivateDirError),
}

/// Persistent storage for the device identity and device tokens.
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    /// The stored identity, `Ok(None)` when none exists. Existing but unreadable data is
    /// an error, never `None`.
    fn load_identity(&self) -> Result<Option<DeviceIdentity>, StoreError>;
    /// Saves the identity.
    fn save_identity(&self, identity: &DeviceIdentity, created_at_ms: u64) -> Result<(), StoreError>;
    /// The token for `key`.
    fn load_token(&self, key: &TokenKey) -> Result<Option<StoredToken>, StoreError>;
    /// Saves (replaces) the token for `key`.
    fn save_token(&self, key: &TokenKey, token: &StoredToken) -> Result<(), StoreError>;
    /// Deletes the token for `key` only if it still equals `expected`; returns whether it
    /// deleted (compare-and-delete, so a newer token is never lost).
    fn delete_token_if(&self, key: &TokenKey, expected: &Secret) -> Result<bool, StoreError>;
}

/// Persistent TLS pins, keyed by the gateway origin (`GatewayOrigin` display form) or
/// another caller-chosen stable gateway id. A pin is never reused for another key.
pub trait PinStore: Send + Sync + std::fmt::Debug {
    /// The pin stored for `gateway`.
    fn load_pin(&self, gateway: &str) -> Result<Option<TlsPin>, StoreError>;
    /// Stores (replaces) the pin for `gateway`.
    fn save_pin(&self, gateway: &str, pin: &TlsPin) -> Result<(), StoreError>;
    /// Deletes the pin for `gateway`; returns whether one existed.
    fn delete_pin(&self, gateway: &str) -> Result<bool, StoreError>;
}

/// Loads the identity, or creates and saves one if none exists. An identity that exists but
/// fails to load is returned as an error, never regenerated.
pub fn load_or_create_identity(
    store: &dyn CredentialStore,
    rng: &dyn RandomSource,
    now_ms: u64,
) -> Result<DeviceIdentity, StoreError> {
    if let Some(id) = store.load_identity()? {
        return Ok(id);
    }
    let id = DeviceIdentity::generate(rng)?;
    store.save_identity(&id, now_ms)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    pub(crate) fn exercise(store: &dyn CredentialStore) {
        assert!(store.load_identity().unwrap().is_none());
        let rng = SeededRandom::new(7);
        let id = load_or_create_identity(store, &rng, 1).unwrap();
        let again = load_or_create_identity(store, &SeededRandom::new(8), 2).unwrap();
        assert_eq!(id, again, "an existing identity is reused");
        let key =
            TokenKey { origin: "ws://127.0.0.1:18789".into(), device_id: id.device_id().into(), role: Role::Node };
        let other = TokenKey { origin: "ws://127.0.0.1:18790".into(), ..key.clone() };
        assert!(store.load_token(&key).unwrap().is_none());
        let t = StoredToken { token: "tok1".into(), scopes: vec![], issued_at_ms: Some(5), updated_at_ms: 6 };
        store.save_token(&key, &t).unwrap();
        assert_eq!(store.load_token(&key).unwrap(), Some(t.clone()));
        assert!(store.load_token(&other).unwrap().is_none(), "tokens are bound to their origin");
        assert!(!store.delete_token_if(&key, &"stale".into()).unwrap());
        assert!(store.load_token(&key).unwrap().is_some());
        assert!(store.delete_token_if(&key, &"tok1".into()).unwrap());
        assert!(store.load_token(&key).unwrap().is_none());
    }

    pub(crate) fn exercise_pins(store: &dyn PinStore) {
        let a = TlsPin::parse(&"ab".repeat(32)).unwrap();
        let b = TlsPin::parse(&"cd".repeat(32)).unwrap();
        assert_eq!(store.load_pin("wss://gw:443").unwrap(), None);
        store.save_pin("wss://gw:443", &a).unwrap();
        store.save_pin("wss://gw:8443", &b).unwrap();
        assert_eq!(store.load_pin("wss://gw:443").unwrap(), Some(a));
        assert_eq!(store.load_pin("wss://gw:8443").unwrap(), Some(b));
        store.save_pin("wss://gw:443", &b).unwrap();
        assert_eq!(store.load_pin("wss://gw:443").unwrap(), Some(b));
        assert!(store.delete_pin("wss://gw:443").unwrap());
        assert!(!store.delete_pin("wss://gw:443").unwrap());
        assert_eq!(store.load_pin("wss://gw:443").unwrap(), None);
    }

    #[test]
    fn memory_store_contract() {
        exercise(&MemoryStore::default());
        exercise_pins(&MemoryStore::default());
    }

    #[test]
    fn file_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&FileStore::new(dir.path()));
        exercise_pins(&FileStore::new(dir.path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls-pins.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
