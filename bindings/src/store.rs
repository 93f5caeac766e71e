//! The app's secure storage (Keychain, Android Keystore, a file…) as the core's
//! `CredentialStore` and `PinStore`: the app implements [`SecureStore`] (bytes by key), the
//! core's [`KeyValueCredentials`] does the rest (keys, JSON shapes, checks: see
//! `clawnode::store::keys`).

use std::sync::Arc;

use clawnode::store::{KeyValueCredentials, KeyValueStore, StoreError};

use crate::error::StoreFailure;

pub use clawnode::store::keys;

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

/// The app's [`SecureStore`] as the core's [`KeyValueStore`].
#[derive(Clone)]
pub struct ForeignStore(pub Arc<dyn SecureStore>);

impl std::fmt::Debug for ForeignStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecureStore")
    }
}

fn backend(e: StoreFailure) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl KeyValueStore for ForeignStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key.to_string()).map_err(backend)
    }

    fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.0.put(key.to_string(), value).map_err(backend)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key.to_string()).map_err(backend)
    }
}

/// The app's [`SecureStore`] as the core's credential and pin store.
pub type SecureStoreAdapter = KeyValueCredentials<ForeignStore>;

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::clock::SeededRandom;
    use clawnode::store::{CredentialStore, load_or_create_identity};
    use std::collections::HashMap;
    use std::sync::Mutex;

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
    fn the_app_store_holds_the_identity_under_its_key() {
        let map = Arc::new(Map::default());
        let s = SecureStoreAdapter::new(ForeignStore(map.clone()));
        let id = load_or_create_identity(&s, &SeededRandom::new(1), 42).unwrap();
        let raw: serde_json::Value = serde_json::from_slice(&map.0.lock().unwrap()[keys::IDENTITY]).unwrap();
        assert_eq!(raw["deviceId"], id.device_id());
        assert_eq!(load_or_create_identity(&s, &SeededRandom::new(2), 43).unwrap(), id);
    }

    #[test]
    fn app_store_failures_surface_as_backend_errors() {
        let failing = SecureStoreAdapter::new(ForeignStore(Arc::new(Map(Mutex::default(), true))));
        assert!(matches!(failing.load_identity(), Err(StoreError::Backend(m)) if m.contains("locked")));
    }
}
