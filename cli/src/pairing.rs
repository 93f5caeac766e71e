//! What a setup code leaves behind, and when: its TLS pin and the endpoint it paired with
//! are kept in memory while connecting and written only after `hello-ok` on that origin
//! (the first `Ready` / `AwaitingCommandApproval` state). A failed or refused pairing leaves
//! nothing on disk; a different pin stored earlier (`clawnode trust`) is never replaced.

use std::path::Path;

use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::store::{PinStore, StoreError};

use crate::config::SavedEndpoint;

/// Why saving a pairing's outcome failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairingSaveError {
    /// The pin store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another pin was stored for the origin meanwhile (`clawnode trust`); it is kept.
    #[error("a different pin (sha256:{stored}) is stored for {origin}; it was kept")]
    PinConflict {
        /// The origin.
        origin: String,
        /// The pin kept.
        stored: TlsPin,
    },
    /// `endpoint.json` could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A pairing in progress: the origin and the pin it connects with.
#[derive(Debug, Clone)]
pub struct Pending {
    origin: String,
    pin: Option<TlsPin>,
}

impl Pending {
    /// Captures what to keep once `endpoint` answers `hello-ok`. Writes nothing.
    pub fn new(endpoint: &Endpoint) -> Self {
        Pending { origin: endpoint.origin().to_string(), pin: endpoint.pin }
    }

    /// After `hello-ok`: stores the pin for the origin when none is stored (an equal one is
    /// left as it is, a different one is kept and reported), then `endpoint.json` (the URL
    /// only: the pin lives in the pin store, where `clawnode trust` can replace it).
    pub fn persist(&self, pins: &dyn PinStore, state_dir: &Path) -> Result<(), PairingSaveError> {
        if let Some(pin) = &self.pin {
            match pins.load_pin(&self.origin)? {
                None => pins.save_pin(&self.origin, pin)?,
                Some(stored) if stored.ct_eq(pin) => {}
                Some(stored) => return Err(PairingSaveError::PinConflict { origin: self.origin.clone(), stored }),
            }
        }
        let saved = SavedEndpoint { url: self.origin.clone(), tls_fingerprint: None };
        saved.save(state_dir).map_err(|source| PairingSaveError::Write {
            path: SavedEndpoint::path(state_dir).display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::store::FileStore;

    fn pin(b: u8) -> TlsPin {
        TlsPin::parse(&format!("{b:02x}").repeat(32)).unwrap()
    }

    #[test]
    fn nothing_is_written_before_hello_ok_and_a_trusted_pin_is_never_replaced() {
        let d = tempfile::tempdir().unwrap();
        let store = FileStore::open(d.path().join("s")).unwrap();
        let ep = Endpoint::parse_pinned("wss://gw.example:8443", Some(pin(1))).unwrap();
        let p = Pending::new(&ep);
        assert!(!d.path().join("s/tls-pins.json").exists(), "new() writes nothing");
        assert!(!d.path().join("s/endpoint.json").exists());
        p.persist(&store, store.dir()).unwrap();
        assert_eq!(store.load_pin("wss://gw.example:8443").unwrap(), Some(pin(1)));
        let saved = SavedEndpoint::load(store.dir()).unwrap().unwrap();
        assert_eq!(saved, SavedEndpoint { url: "wss://gw.example:8443".into(), tls_fingerprint: None });
        // A pin trusted meanwhile for the origin is kept.
        store.save_pin("wss://gw.example:8443", &pin(2)).unwrap();
        let err = p.persist(&store, store.dir()).unwrap_err();
        assert!(matches!(err, PairingSaveError::PinConflict { .. }), "{err}");
        assert_eq!(store.load_pin("wss://gw.example:8443").unwrap(), Some(pin(2)));
    }
}
