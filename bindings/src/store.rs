//! The app's secure storage (Keychain, Android Keystore, a file…) as the core's
//! `CredentialStore`.
//!
//! Values are UTF-8 JSON in the same shapes as the core's `FileStore` files, under these keys:
//! - [`keys::IDENTITY`] (`clawnode.identity`): `{"version":1,"deviceId","publicKeyPem",
//!   "privateKeyPem","createdAtMs"}` — the shape of `identity.json`;
//! - `clawnode.token.<origin>|<deviceId>|<role>` ([`keys::token`]): `{"version":1,"origin",
//!   "deviceId","role","token","scopes","issuedAtMs","updatedAtMs"}` — one entry of
//!   `device-tokens.json`;
//! - `clawnode.pin.<origin>` ([`keys::pin`]): `{"version":1,"origin","fingerprint"}` — the
//!   TLS pin of that Gateway origin (as in `tls-pins.json`), the node's pin store.
//!
//! Data that exists but cannot be read is an error, never replaced by a new identity.

use std::sync::{Arc, Mutex};

use clawnode::Secret;
use clawnode::endpoint::TlsPin;
use clawnode::identity::DeviceIdentity;
use clawnode::protocol::Role;
use clawnode::store::{CredentialStore, PinStore, StoreError, StoredToken, TokenKey};
use serde::{Deserialize, Serialize};

use crate::error::StoreFailure;

/// Byte storage by key, implemented by the app. Every method may fail; failures pause the
/// node with `PauseKind.Storage` (or fail `Node` construction), they never crash it.
#[uniffi::export(foreign)]
pub trait SecureStore: Send + Sync {
    /// The value under `key`, `None` when absent.
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// Stores (replaces) `value` under `key`.
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), StoreFailure>;
    /// Deletes `key` (no error when absent).
    fn delete(&self, key: String) -> Result<(), StoreFailure>;
}

/// The keys the adapter uses.
pub mod keys {
    use clawnode::store::TokenKey;

    /// The device identity.
    pub const IDENTITY: &str = "clawnode.identity";

    /// The device token for `key`.
    pub fn token(key: &TokenKey) -> String {
        format!("clawnode.token.{}", key.as_string())
    }

    /// The TLS pin of the Gateway `origin` (`wss://host:port`).
    pub fn pin(origin: &str) -> String {
        format!("clawnode.pin.{origin}")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PinRecord {
    version: u32,
    origin: String,
    fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityRecord {
    version: u32,
    device_id: String,
    public_key_pem: String,
    private_key_pem: String,
    created_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRecord {
    version: u32,
    origin: String,
    device_id: String,
    role: Role,
    token: Secret,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    issued_at_ms: Option<u64>,
    updated_at_ms: u64,
}

/// Adapts a [`SecureStore`] to the core's [`CredentialStore`].
pub struct SecureStoreAdapter {
    inner: Arc<dyn SecureStore>,
    // Serialises compare-and-delete.
    lock: Mutex<()>,
}

impl std::fmt::Debug for SecureStoreAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecureStoreAdapter")
    }
}

fn backend(e: StoreFailure) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &'static str, key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, path: format!("secure store key {key}"), reason: reason.to_string() }
}

impl SecureStoreAdapter {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn SecureStore>) -> Self {
        SecureStoreAdapter { inner, lock: Mutex::new(()) }
    }

    fn put_json<T: Serialize>(&self, key: String, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.inner.put(key, bytes).map_err(backend)
    }
}

impl CredentialStore for SecureStoreAdapter {
    fn load_identity(&self) -> Result<Option<DeviceIdentity>, StoreError> {
        let Some(bytes) = self.inner.get(keys::IDENTITY.into()).map_err(backend)? else { return Ok(None) };
        let r: IdentityRecord = serde_json::from_slice(&bytes).map_err(|e| corrupt("identity", keys::IDENTITY, e))?;
        let id = DeviceIdentity::from_pem(&r.private_key_pem, Some(&r.public_key_pem))
            .map_err(|e| corrupt("identity", keys::IDENTITY, e))?;
        if id.device_id() != r.device_id {
            return Err(corrupt("identity", keys::IDENTITY, "deviceId does not match the key"));
        }
        Ok(Some(id))
    }

    fn save_identity(&self, identity: &DeviceIdentity, created_at_ms: u64) -> Result<(), StoreError> {
        self.put_json(
            keys::IDENTITY.into(),
            &IdentityRecord {
                version: 1,
                device_id: identity.device_id().into(),
                public_key_pem: identity.public_key_pem(),
                private_key_pem: identity.private_key_pem(),
                created_at_ms,
            },
        )
    }

    fn load_token(&self, key: &TokenKey) -> Result<Option<StoredToken>, StoreError> {
        let k = keys::token(key);
        let Some(bytes) = self.inner.get(k.clone()).map_err(backend)? else { return Ok(None) };
        let r: TokenRecord = serde_json::from_slice(&bytes).map_err(|e| corrupt("tokens", &k, e))?;
        if r.origin != key.origin || r.device_id != key.device_id || r.role != key.role {
            return Err(corrupt("tokens", &k, "entry does not match its key"));
        }
        Ok(Some(StoredToken {
            token: r.token,
            scopes: r.scopes,
            issued_at_ms: r.issued_at_ms,
            updated_at_ms: r.updated_at_ms,
        }))
    }

    fn save_token(&self, key: &TokenKey, token: &StoredToken) -> Result<(), StoreError> {
        let _g = self.lock.lock().map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        self.put_json(
            keys::token(key),
            &TokenRecord {
                version: 1,
                origin: key.origin.clone(),
                device_id: key.device_id.clone(),
                role: key.role,
                token: token.token.clone(),
                scopes: token.scopes.clone(),
                issued_at_ms: token.issued_at_ms,
                updated_at_ms: token.updated_at_ms,
            },
        )
    }

    fn delete_token_if(&self, key: &TokenKey, expected: &Secret) -> Result<bool, StoreError> {
        let _g = self.lock.lock().map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        match self.load_token(key)? {
            Some(t) if t.token.ct_eq(expected) => {
                self.inner.delete(keys::token(key)).map_err(backend)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl PinStore for SecureStoreAdapter {
    fn load_pin(&self, gateway: &str) -> Result<Option<TlsPin>, StoreError> {
        let k = keys::pin(gateway);
        let Some(bytes) = self.inner.get(k.clone()).map_err(backend)? else { return Ok(None) };
        let r: PinRecord = serde_json::from_slice(&bytes).map_err(|e| corrupt("pins", &k, e))?;
        if r.origin != gateway {
            return Err(corrupt("pins", &k, "entry does not match its key"));
        }
        TlsPin::parse(&r.fingerprint).map(Some).map_err(|e| corrupt("pins", &k, e))
    }

    fn save_pin(&self, gateway: &str, pin: &TlsPin) -> Result<(), StoreError> {
        self.put_json(
            keys::pin(gateway),
            &PinRecord { version: 1, origin: gateway.to_string(), fingerprint: pin.to_hex() },
        )
    }

    fn delete_pin(&self, gateway: &str) -> Result<bool, StoreError> {
        let existed = self.load_pin(gateway)?.is_some();
        self.inner.delete(keys::pin(gateway)).map_err(backend)?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::clock::SeededRandom;
    use clawnode::store::load_or_create_identity;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Map(Mutex<HashMap<String, Vec<u8>>>, bool);

    impl SecureStore for Map {
        fn get(&self, key: String) -> Result<Option<Vec<u8>>, StoreFailure> {
            if self.1 {
                return Err(StoreFailure::Failed { detail: "locked".into() });
            }
            Ok(self.0.lock().unwrap().get(&key).cloned())
        }
        fn put(&self, key: String, value: Vec<u8>) -> Result<(), StoreFailure> {
            self.0.lock().unwrap().insert(key, value);
            Ok(())
        }
        fn delete(&self, key: String) -> Result<(), StoreFailure> {
            self.0.lock().unwrap().remove(&key);
            Ok(())
        }
    }

    #[test]
    fn round_trips_identity_and_tokens_in_file_store_shapes() {
        let map = Arc::new(Map::default());
        let s = SecureStoreAdapter::new(map.clone());
        let id = load_or_create_identity(&s, &SeededRandom::new(1), 42).unwrap();
        assert_eq!(load_or_create_identity(&s, &SeededRandom::new(2), 43).unwrap(), id);
        let raw: serde_json::Value = serde_json::from_slice(&map.0.lock().unwrap()[keys::IDENTITY]).unwrap();
        assert_eq!(raw["deviceId"], id.device_id());
        assert_eq!(raw["createdAtMs"], 42);
        assert!(raw["privateKeyPem"].as_str().unwrap().contains("PRIVATE KEY"));

        let key =
            TokenKey { origin: "ws://127.0.0.1:18789".into(), device_id: id.device_id().into(), role: Role::Node };
        let t = StoredToken { token: "tok".into(), scopes: vec!["a".into()], issued_at_ms: Some(1), updated_at_ms: 2 };
        s.save_token(&key, &t).unwrap();
        assert_eq!(s.load_token(&key).unwrap(), Some(t));
        let raw: serde_json::Value = serde_json::from_slice(&map.0.lock().unwrap()[&keys::token(&key)]).unwrap();
        assert_eq!(raw["role"], "node");
        assert_eq!(raw["token"], "tok");
        assert!(!s.delete_token_if(&key, &"other".into()).unwrap());
        assert!(s.delete_token_if(&key, &"tok".into()).unwrap());
        assert_eq!(s.load_token(&key).unwrap(), None);
    }

    #[test]
    fn unreadable_identity_is_an_error_and_backend_failures_surface() {
        let map = Arc::new(Map::default());
        map.0.lock().unwrap().insert(keys::IDENTITY.into(), b"{not json".to_vec());
        let s = SecureStoreAdapter::new(map.clone());
        assert!(matches!(load_or_create_identity(&s, &SeededRandom::new(1), 1), Err(StoreError::Corrupt { .. })));
        assert_eq!(map.0.lock().unwrap()[keys::IDENTITY], b"{not json".to_vec(), "never replaced");
        let failing = SecureStoreAdapter::new(Arc::new(Map(Mutex::default(), true)));
        assert!(matches!(failing.load_identity(), Err(StoreError::Backend(_))));
    }

    #[test]
    fn pins_round_trip_per_origin() {
        let map = Arc::new(Map::default());
        let s = SecureStoreAdapter::new(map.clone());
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(s.load_pin("wss://gw:443").unwrap(), None);
        s.save_pin("wss://gw:443", &pin).unwrap();
        assert_eq!(s.load_pin("wss://gw:443").unwrap(), Some(pin));
        assert_eq!(s.load_pin("wss://other:443").unwrap(), None, "a pin is never reused for another origin");
        let raw: serde_json::Value =
            serde_json::from_slice(&map.0.lock().unwrap()["clawnode.pin.wss://gw:443"]).unwrap();
        assert_eq!(raw["fingerprint"], "ab".repeat(32));
        assert!(s.delete_pin("wss://gw:443").unwrap());
        assert!(!s.delete_pin("wss://gw:443").unwrap());
    }
}
