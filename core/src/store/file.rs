//! A JSON file store for Linux: `identity.json` and `device-tokens.json` in a state
//! directory, mode 0600, written atomically (temp file + fsync + rename + directory fsync)
//! so a crash never loses or corrupts a token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::records::{IdentityRecord, TokenRecord, VERSION};
use super::{CredentialStore, PinStore, StoreError, StoredToken, TokenKey};
use crate::endpoint::TlsPin;
use crate::identity::DeviceIdentity;
use crate::secret::Secret;

const IDENTITY_FILE: &str = "identity.json";
const TOKENS_FILE: &str = "device-tokens.json";
const PINS_FILE: &str = "tls-pins.json";

#[derive(Serialize, Deserialize, Default)]
struct PinsFile {
    version: u32,
    /// gateway id → 64 lowercase hex.
    pins: BTreeMap<String, String>,
}

/// File-backed store rooted at a state directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    // Serialises read-modify-write of the token file within this process.
    lock: Mutex<()>,
}

#[derive(Serialize, Deserialize, Default)]
struct TokensFile {
    version: u32,
    tokens: BTreeMap<String, TokenRecord>,
}

impl FileStore {
    /// A store in `dir` (created on first write, mode 0700, checked like [`FileStore::open`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: dir.into(), lock: Mutex::new(()) }
    }

    /// A store in `dir`, checked now: created with mode 0700, or tightened to 0700 when it
    /// exists with wider bits; refused ([`StoreError::StateDir`]) when it is a symlink, owned
    /// by another user, holds another user's entries, or lies under a directory another user
    /// can change ([`super::refuse_unsafe_ancestors`]). Call this once where a program picks
    /// its state directory (not in a mobile app sandbox: use [`FileStore::new`] there).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self::new(dir);
        store.ensure_dir()?;
        #[cfg(unix)]
        super::refuse_unsafe_ancestors(&store.dir)?;
        Ok(store)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io { path: path.display().to_string(), source }
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(name);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io(&path, e)),
        }
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        Ok(super::ensure_private_dir(&self.dir)?)
    }

    /// Atomic replace through [`super::write_private_atomic`] (random-named `O_EXCL|O_NOFOLLOW`
    /// temp file, 0600, fsync, rename, directory fsync).
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.ensure_dir()?;
        let target = self.path(name);
        super::write_private_atomic(&target, bytes).map_err(|e| Self::io(&target, e))
    }

    fn read_tokens(&self) -> Result<TokensFile, StoreError> {
        match self.read(TOKENS_FILE)? {
            None => Ok(TokensFile { version: VERSION, tokens: BTreeMap::new() }),
            Some(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                what: "device tokens",
                path: self.path(TOKENS_FILE).display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn write_tokens(&self, t: &TokensFile) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(t).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.write_atomic(TOKENS_FILE, &bytes)
    }

    fn guard(&self) -> Result<std::sync::MutexGuard<'_, ()>, StoreError> {
        self.lock.lock().map_err(|_| StoreError::Backend("file store lock poisoned".into()))
    }
}

impl CredentialStore for FileStore {
    fn load_identity(&self) -> Result<Option<DeviceIdentity>, StoreError> {
        let Some(bytes) = self.read(IDENTITY_FILE)? else { return Ok(None) };
        let path = self.path(IDENTITY_FILE).display().to_string();
        let corrupt = |reason: String| StoreError::Corrupt { what: "identity", path: path.clone(), reason };
        let f: IdentityRecord = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        f.identity().map(Some).map_err(corrupt)
    }

    fn save_identity(&self, identity: &DeviceIdentity, created_at_ms: u64) -> Result<(), StoreError> {
        let _g = self.guard()?;
        let bytes = serde_json::to_vec_pretty(&IdentityRecord::new(identity, created_at_ms))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.write_atomic(IDENTITY_FILE, &bytes)
    }

    fn load_token(&self, key: &TokenKey) -> Result<Option<StoredToken>, StoreError> {
        let t = self.read_tokens()?;
        Ok(t.tokens.get(&key.as_string()).map(TokenRecord::stored))
    }

    fn save_token(&self, key: &TokenKey, token: &StoredToken) -> Result<(), StoreError> {
        let _g = self.guard()?;
        let mut t = self.read_tokens()?;
        t.tokens.insert(key.as_string(), TokenRecord::new(key, token));
        self.write_tokens(&t)
    }

    fn delete_token_if(&self, key: &TokenKey, expected: &Secret) -> Result<bool, StoreError> {
        let _g = self.guard()?;
        let mut t = self.read_tokens()?;
        let k = key.as_string();
        match t.tokens.get(&k) {
            Some(e) if e.token.ct_eq(expected) => {
                t.tokens.remove(&k);
                self.write_tokens(&t)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl FileStore {
    fn read_pins(&self) -> Result<PinsFile, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: "TLS pins",
            path: self.path(PINS_FILE).display().to_string(),
            reason,
        };
        match self.read(PINS_FILE)? {
            None => Ok(PinsFile { version: VERSION, pins: BTreeMap::new() }),
            Some(b) => serde_json::from_slice(&b).map_err(|e| corrupt(e.to_string())),
        }
    }

    fn write_pins(&self, p: &PinsFile) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(p).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.write_atomic(PINS_FILE, &bytes)
    }
}

/// Pins live in `tls-pins.json` (0600, atomic writes) next to the tokens.
impl PinStore for FileStore {
    fn load_pin(&self, gateway: &str) -> Result<Option<TlsPin>, StoreError> {
        let p = self.read_pins()?;
        match p.pins.get(gateway) {
            None => Ok(None),
            Some(hex) => TlsPin::parse(hex).map(Some).map_err(|e| StoreError::Corrupt {
                what: "TLS pins",
                path: self.path(PINS_FILE).display().to_string(),
                reason: format!("{gateway}: {e}"),
            }),
        }
    }

    fn save_pin(&self, gateway: &str, pin: &TlsPin) -> Result<(), StoreError> {
        let _g = self.guard()?;
        let mut p = self.read_pins()?;
        p.pins.insert(gateway.to_string(), pin.to_hex());
        self.write_pins(&p)
    }

    fn delete_pin(&self, gateway: &str) -> Result<bool, StoreError> {
        let _g = self.guard()?;
        let mut p = self.read_pins()?;
        let existed = p.pins.remove(gateway).is_some();
        if existed {
            self.write_pins(&p)?;
        }
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;
    use crate::protocol::Role;
    use crate::store::load_or_create_identity;

    #[test]
    fn files_are_private_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("state"));
        let id = load_or_create_identity(&store, &SeededRandom::new(1), 1).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path(IDENTITY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A fresh store over the same directory loads the same identity.
        let again = FileStore::new(dir.path().join("state")).load_identity().unwrap().unwrap();
        assert_eq!(again, id);
        // Corrupt the identity: loading must fail, and load_or_create must not regenerate.
        std::fs::write(store.path(IDENTITY_FILE), b"{not json").unwrap();
        assert!(matches!(store.load_identity(), Err(StoreError::Corrupt { .. })));
        assert!(load_or_create_identity(&store, &SeededRandom::new(2), 2).is_err());
        assert_eq!(std::fs::read(store.path(IDENTITY_FILE)).unwrap(), b"{not json");
        // A tampered device id is caught.
        let mut f: serde_json::Value = serde_json::from_slice(
            &serde_json::to_vec(&IdentityRecord { device_id: "0".repeat(64), ..IdentityRecord::new(&id, 1) }).unwrap(),
        )
        .unwrap();
        f["version"] = 1.into();
        std::fs::write(store.path(IDENTITY_FILE), serde_json::to_vec(&f).unwrap()).unwrap();
        assert!(matches!(store.load_identity(), Err(StoreError::Corrupt { .. })));
        // Corrupt tokens file: an error, and nothing is overwritten.
        std::fs::write(store.path(TOKENS_FILE), b"garbage").unwrap();
        let key = TokenKey { origin: "o".into(), device_id: "d".into(), role: Role::Node };
        assert!(matches!(store.load_token(&key), Err(StoreError::Corrupt { .. })));
        let t = StoredToken { token: "x".into(), scopes: vec![], issued_at_ms: None, updated_at_ms: 0 };
        assert!(store.save_token(&key, &t).is_err());
        assert_eq!(std::fs::read(store.path(TOKENS_FILE)).unwrap(), b"garbage");
        // No temp files left behind.
        let leftovers: Vec<_> = std::fs::read_dir(store.dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
