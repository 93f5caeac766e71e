//! An in-memory [`CredentialStore`] (tests, ephemeral nodes).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{CredentialStore, PinStore, StoreError, StoredToken, TokenKey};
use crate::endpoint::TlsPin;
use crate::identity::DeviceIdentity;
use crate::secret::Secret;

/// Keeps everything in memory; lost on drop.
#[derive(Debug, Default)]
pub struct MemoryStore {
    identity: Mutex<Option<DeviceIdentity>>,
    tokens: Mutex<HashMap<TokenKey, StoredToken>>,
    pins: Mutex<HashMap<String, TlsPin>>,
}

fn poisoned() -> StoreError {
    StoreError::Backend("memory store lock poisoned".into())
}

impl CredentialStore for MemoryStore {
    fn load_identity(&self) -> Result<Option<DeviceIdentity>, StoreError> {
        Ok(self.identity.lock().map_err(|_| poisoned())?.clone())
    }

    fn save_identity(&self, identity: &DeviceIdentity, _created_at_ms: u64) -> Result<(), StoreError> {
        *self.identity.lock().map_err(|_| poisoned())? = Some(identity.clone());
        Ok(())
    }

    fn load_token(&self, key: &TokenKey) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.tokens.lock().map_err(|_| poisoned())?.get(key).cloned())
    }

    fn save_token(&self, key: &TokenKey, token: &StoredToken) -> Result<(), StoreError> {
        self.tokens.lock().map_err(|_| poisoned())?.insert(key.clone(), token.clone());
        Ok(())
    }

    fn delete_token_if(&self, key: &TokenKey, expected: &Secret) -> Result<bool, StoreError> {
        let mut tokens = self.tokens.lock().map_err(|_| poisoned())?;
        match tokens.get(key) {
            Some(t) if t.token.ct_eq(expected) => {
                tokens.remove(key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl PinStore for MemoryStore {
    fn load_pin(&self, gateway: &str) -> Result<Option<TlsPin>, StoreError> {
        Ok(self.pins.lock().map_err(|_| poisoned())?.get(gateway).copied())
    }

    fn save_pin(&self, gateway: &str, pin: &TlsPin) -> Result<(), StoreError> {
        self.pins.lock().map_err(|_| poisoned())?.insert(gateway.to_string(), *pin);
        Ok(())
    }

    fn delete_pin(&self, gateway: &str) -> Result<bool, StoreError> {
        Ok(self.pins.lock().map_err(|_| poisoned())?.remove(gateway).is_some())
    }
}
