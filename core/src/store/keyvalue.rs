//! Credentials in an app's key-value storage (the iOS Keychain, Android Keystore-encrypted
//! preferences, a file…): [`KeyValueCredentials`] is a [`CredentialStore`] and a
//! [`PinStore`] over any [`KeyValueStore`], with values in the [`FileStore`](super::FileStore)
//! shapes (UTF-8 JSON), under these keys:
//! - [`keys::IDENTITY`] (`clawnode.identity`): `{"version":1,"deviceId","publicKeyPem",
//!   "privateKeyPem","createdAtMs"}`, the shape of `identity.json`;
//! - `clawnode.token.<origin>|<deviceId>|<role>` ([`keys::token`]): `{"version":1,"origin",
//!   "deviceId","role","token","scopes","issuedAtMs","updatedAtMs"}`, one entry of
//!   `device-tokens.json`;
//! - `clawnode.pin.<origin>` ([`keys::pin`]): `{"version":1,"origin","fingerprint"}`, the
//!   TLS pin of that Gateway (as in `tls-pins.json`).
//!
//! Data that exists but cannot be read is [`StoreError::Corrupt`], never replaced by a new
//! identity; a value stored under another entry's key is corrupt too.

use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{IdentityRecord, PinRecord, TokenRecord, VERSION, Versioned};
use super::{CredentialStore, PinStore, StoreError, StoredToken, TokenKey};
use crate::endpoint::TlsPin;
use crate::identity::DeviceIdentity;
use crate::secret::Secret;

/// Byte storage by key. Failures are [`StoreError::Backend`] (or any other variant the
/// implementation finds fitting); they reach the node as a storage pause, never a crash.
pub trait KeyValueStore: Send + Sync + std::fmt::Debug {
    /// The value under `key`, `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores (replaces) `value` under `key`.
    fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError>;
    /// Deletes `key` (no error when absent).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// The keys [`KeyValueCredentials`] uses.
pub mod keys {
    use crate::store::TokenKey;

    /// The device identity.
    pub const IDENTITY: &str = "clawnode.identity";

    /// The device token for `key`.
    pub fn token(key: &TokenKey) -> String {
        format!("clawnode.token.{}", key.as_string())
    }

    /// The TLS pin of the Gateway `origin` (`wss://host:port`, or a discovery stable id).
    pub fn pin(origin: &str) -> String {
        format!("clawnode.pin.{origin}")
    }
}

/// A [`CredentialStore`] and [`PinStore`] over a [`KeyValueStore`].
#[derive(Debug)]
pub struct KeyValueCredentials<S> {
    inner: S,
    // Serialises compare-and-delete within this process.
    lock: Mutex<()>,
}

fn corrupt(what: &'static str, key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, path: format!("secure store key {key}"), reason: reason.to_string() }
}

impl<S: KeyValueStore> KeyValueCredentials<S> {
    /// Credentials kept in `inner`.
    pub fn new(inner: S) -> Self {
        KeyValueCredentials { inner, lock: Mutex::new(()) }
    }

    fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.inner.put(key, bytes)
    }

    fn get_json<T: DeserializeOwned>(&self, what: &'static str, key: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.inner.get(key)? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| corrupt(what, key, e))
    }

    fn guard(&self) -> Result<std::sync::MutexGuard<'_, ()>, StoreError> {
        self.lock.lock().map_err(|_| StoreError::Backend("key-value store lock poisoned".into()))
    }
}

impl<S: KeyValueStore> CredentialStore for KeyValueCredentials<S> {
    fn load_identity(&self) -> Result<Option<DeviceIdentity>, StoreError> {
        let Some(r) = self.get_json::<IdentityRecord>("identity", keys::IDENTITY)? else { return Ok(None) };
        r.identity().map(Some).map_err(|e| corrupt("identity", keys::IDENTITY, e))
    }

    fn save_identity(&self, identity: &DeviceIdentity, created_at_ms: u64) -> Result<(), StoreError> {
        self.put_json(keys::IDENTITY, &IdentityRecord::new(identity, created_at_ms))
    }

    fn load_token(&self, key: &TokenKey) -> Result<Option<StoredToken>, StoreError> {
        let k = keys::token(key);
        let Some(r) = self.get_json::<Versioned<TokenRecord>>("tokens", &k)? else { return Ok(None) };
        if !r.record.is_for(key) {
            return Err(corrupt("tokens", &k, "entry does not match its key"));
        }
        Ok(Some(r.record.stored()))
    }

    fn save_token(&self, key: &TokenKey, token: &StoredToken) -> Result<(), StoreError> {
        let _g = self.guard()?;
        self.put_json(&keys::token(key), &Versioned::new(TokenRecord::new(key, token)))
    }

    fn delete_token_if(&self, key: &TokenKey, expected: &Secret) -> Result<bool, StoreError> {
        let _g = self.guard()?;
        match self.load_token(key)? {
            Some(t) if t.token.ct_eq(expected) => {
                self.inner.delete(&keys::token(key))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl<S: KeyValueStore> PinStore for KeyValueCredentials<S> {
    fn load_pin(&self, gateway: &str) -> Result<Option<TlsPin>, StoreError> {
        let k = keys::pin(gateway);
        let Some(r) = self.get_json::<PinRecord>("pins", &k)? else { return Ok(None) };
        if r.origin != gateway {
            return Err(corrupt("pins", &k, "entry does not match its key"));
        }
        TlsPin::parse(&r.fingerprint).map(Some).map_err(|e| corrupt("pins", &k, e))
    }

    fn save_pin(&self, gateway: &str, pin: &TlsPin) -> Result<(), StoreError> {
        let record = PinRecord { version: VERSION, origin: gateway.to_string(), fingerprint: pin.to_hex() };
        self.put_json(&keys::pin(gateway), &record)
    }

    fn delete_pin(&self, gateway: &str) -> Result<bool, StoreError> {
        let existed = self.load_pin(gateway)?.is_some();
        self.inner.delete(&keys::pin(gateway))?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::clock::SeededRandom;
    use crate::protocol::Role;
    use crate::store::load_or_create_identity;

    /// A map; `failing` makes every read fail as a locked Keychain would.
    #[derive(Debug, Default)]
    struct Map {
        values: Mutex<HashMap<String, Vec<u8>>>,
        failing: bool,
    }

    impl KeyValueStore for &Map {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            if self.failing {
                return Err(StoreError::Backend("locked".into()));
            }
            Ok(self.values.lock().unwrap().get(key).cloned())
        }
        fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
            self.values.lock().unwrap().insert(key.into(), value);
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.values.lock().unwrap().remove(key);
            Ok(())
        }
    }

    fn raw(map: &Map, key: &str) -> serde_json::Value {
        serde_json::from_slice(&map.values.lock().unwrap()[key]).unwrap()
    }

    #[test]
    fn identity_and_tokens_round_trip_in_file_store_shapes() {
        let map = Map::default();
        let s = KeyValueCredentials::new(&map);
        let id = load_or_create_identity(&s, &SeededRandom::new(1), 42).unwrap();
        assert_eq!(load_or_create_identity(&s, &SeededRandom::new(2), 43).unwrap(), id);
        let r = raw(&map, keys::IDENTITY);
        assert_eq!(r["version"], 1);
        assert_eq!(r["deviceId"], id.device_id());
        assert_eq!(r["createdAtMs"], 42);
        assert!(r["privateKeyPem"].as_str().unwrap().contains("PRIVATE KEY"));

        let key =
            TokenKey { origin: "ws://127.0.0.1:18789".into(), device_id: id.device_id().into(), role: Role::Node };
        let t = StoredToken { token: "tok".into(), scopes: vec!["a".into()], issued_at_ms: Some(1), updated_at_ms: 2 };
        s.save_token(&key, &t).unwrap();
        assert_eq!(s.load_token(&key).unwrap(), Some(t));
        let r = raw(&map, &keys::token(&key));
        let mut fields: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["deviceId", "issuedAtMs", "origin", "role", "scopes", "token", "updatedAtMs", "version"],
            "one device-tokens.json entry plus its version"
        );
        assert_eq!(
            (r["version"].clone(), r["role"].clone(), r["token"].clone()),
            (1.into(), "node".into(), "tok".into())
        );
        assert!(!s.delete_token_if(&key, &"other".into()).unwrap());
        assert!(s.delete_token_if(&key, &"tok".into()).unwrap());
        assert_eq!(s.load_token(&key).unwrap(), None);
    }

    #[test]
    fn a_token_under_another_key_is_corrupt() {
        let map = Map::default();
        let s = KeyValueCredentials::new(&map);
        let key = TokenKey { origin: "wss://a:443".into(), device_id: "d".into(), role: Role::Node };
        let other = TokenKey { origin: "wss://b:443".into(), ..key.clone() };
        let t = StoredToken { token: "tok".into(), scopes: vec![], issued_at_ms: None, updated_at_ms: 0 };
        s.save_token(&key, &t).unwrap();
        let moved = map.values.lock().unwrap()[&keys::token(&key)].clone();
        map.values.lock().unwrap().insert(keys::token(&other), moved);
        assert!(matches!(s.load_token(&other), Err(StoreError::Corrupt { what: "tokens", .. })));
    }

    #[test]
    fn unreadable_identity_is_an_error_and_backend_failures_surface() {
        let map = Map::default();
        map.values.lock().unwrap().insert(keys::IDENTITY.into(), b"{not json".to_vec());
        let s = KeyValueCredentials::new(&map);
        assert!(matches!(load_or_create_identity(&s, &SeededRandom::new(1), 1), Err(StoreError::Corrupt { .. })));
        assert_eq!(map.values.lock().unwrap()[keys::IDENTITY], b"{not json".to_vec(), "never replaced");
        let locked = Map { failing: true, ..Map::default() };
        assert!(matches!(KeyValueCredentials::new(&locked).load_identity(), Err(StoreError::Backend(_))));
    }

    #[test]
    fn pins_round_trip_per_origin() {
        let map = Map::default();
        let s = KeyValueCredentials::new(&map);
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(s.load_pin("wss://gw:443").unwrap(), None);
        s.save_pin("wss://gw:443", &pin).unwrap();
        assert_eq!(s.load_pin("wss://gw:443").unwrap(), Some(pin));
        assert_eq!(s.load_pin("wss://other:443").unwrap(), None, "a pin is never reused for another origin");
        assert_eq!(raw(&map, "clawnode.pin.wss://gw:443")["fingerprint"], "ab".repeat(32));
        assert!(s.delete_pin("wss://gw:443").unwrap());
        assert!(!s.delete_pin("wss://gw:443").unwrap());
    }
}
