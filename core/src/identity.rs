//! Device identity: an Ed25519 key, its device id, canonical PEM, and the connect
//! signature payloads (pairing.md §1–2).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{Ed25519KeyPair, KeyPair as _};

use crate::clock::RandomSource;
use crate::protocol::{ClientId, ClientMode, Role};

const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Why an identity could not be built, imported or generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The seed/private key is not a valid Ed25519 seed.
    #[error("invalid Ed25519 private key: {0}")]
    InvalidPrivateKey(String),
    /// The public key is malformed.
    #[error("invalid Ed25519 public key: {0}")]
    InvalidPublicKey(String),
    /// A PEM block is malformed or of the wrong kind.
    #[error("invalid PEM: {0}")]
    InvalidPem(String),
    /// The stored public key does not belong to the stored private key.
    #[error("public key does not match the private key")]
    KeyMismatch,
    /// The stored device id does not match the public key.
    #[error("device id {stored} does not match the public key (expected {derived})")]
    DeviceIdMismatch {
        /// Id found in storage.
        stored: String,
        /// Id derived from the key.
        derived: String,
    },
    /// The random generator failed.
    #[error("random generator failed")]
    Random,
}

/// An Ed25519 device identity. `Debug` never shows the private key.
#[derive(Clone)]
pub struct DeviceIdentity {
    seed: [u8; 32],
    keypair: std::sync::Arc<Ed25519KeyPair>,
    public: [u8; 32],
    device_id: String,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .field("public_key", &self.public_key_b64url())
            .finish_non_exhaustive()
    }
}

impl PartialEq for DeviceIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.public == other.public
    }
}

impl DeviceIdentity {
    /// Builds the identity from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, IdentityError> {
        let keypair =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| IdentityError::InvalidPrivateKey(e.to_string()))?;
        let mut public = [0u8; 32];
        public.copy_from_slice(keypair.public_key().as_ref());
        let device_id = device_id_for(&public);
        Ok(DeviceIdentity { seed, keypair: std::sync::Arc::new(keypair), public, device_id })
    }

    /// Generates a fresh identity.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, IdentityError> {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed).map_err(|_| IdentityError::Random)?;
        Self::from_seed(seed)
    }

    /// Device id: lowercase hex SHA-256 of the raw public key (64 chars).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The raw 32-byte public key.
    pub fn public_key_raw(&self) -> &[u8; 32] {
        &self.public
    }

    /// The raw public key, base64url without padding (43 chars), as `device.publicKey`.
    pub fn public_key_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    /// The 32-byte seed. Handle with care: this is the private key.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Signs `payload` (UTF-8) and returns the base64url-no-pad signature (86 chars).
    pub fn sign(&self, payload: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.keypair.sign(payload.as_bytes()).as_ref())
    }

    /// Canonical SPKI PEM of the public key.
    pub fn public_key_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.public);
        pem_encode("PUBLIC KEY", &der)
    }

    /// Canonical PKCS#8 (v1) PEM of the private key.
    pub fn private_key_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        pem_encode("PRIVATE KEY", &der)
    }

    /// Imports a PKCS#8 private key PEM, checking it against an SPKI public key PEM if given.
    pub fn from_pem(private_pem: &str, public_pem: Option<&str>) -> Result<Self, IdentityError> {
        let der = pem_decode("PRIVATE KEY", private_pem)?;
        let seed = seed_from_pkcs8(&der)?;
        let id = Self::from_seed(seed)?;
        if let Some(public_pem) = public_pem {
            let der = pem_decode("PUBLIC KEY", public_pem)?;
            let public = public_from_spki(&der)?;
            if public != id.public {
                return Err(IdentityError::KeyMismatch);
            }
        }
        Ok(id)
    }
}

/// Lowercase hex SHA-256 of a raw public key.
pub(crate) fn device_id_for(public_key: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public_key);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn seed_from_pkcs8(der: &[u8]) -> Result<[u8; 32], IdentityError> {
    if der.len() != PKCS8_PREFIX.len() + 32 || der[..PKCS8_PREFIX.len()] != PKCS8_PREFIX {
        return Err(IdentityError::InvalidPrivateKey("not a canonical Ed25519 PKCS#8 v1 key".into()));
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&der[PKCS8_PREFIX.len()..]);
    Ok(seed)
}

fn public_from_spki(der: &[u8]) -> Result<[u8; 32], IdentityError> {
    if der.len() != SPKI_PREFIX.len() + 32 || der[..SPKI_PREFIX.len()] != SPKI_PREFIX {
        return Err(IdentityError::InvalidPublicKey("not an Ed25519 SPKI key".into()));
    }
    let mut public = [0u8; 32];
    public.copy_from_slice(&der[SPKI_PREFIX.len()..]);
    Ok(public)
}

/// Canonical PEM: standard base64 in lines of 64 chars, `\n` endings, trailing `\n`.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(label: &str, pem: &str) -> Result<Vec<u8>, IdentityError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| IdentityError::InvalidPem(format!("missing {begin}")))?;
    let rest = &pem[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| IdentityError::InvalidPem(format!("missing {end}")))?;
    let body: String = rest[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body.as_bytes()).map_err(|e| IdentityError::InvalidPem(e.to_string()))
}

/// Trims like ECMAScript `String.prototype.trim` (WhiteSpace + LineTerminator, incl. U+FEFF,
/// excluding U+0085 which Rust's `trim` would remove).
pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'
            | '\u{000A}'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// Metadata normalisation for v3 (`normalizeDeviceMetadataForAuth`): JS trim, then ASCII
/// A–Z lowercasing only.
pub(crate) fn normalize_metadata(value: Option<&str>) -> String {
    value.map(|v| js_trim(v).to_ascii_lowercase()).unwrap_or_default()
}

/// The fields that a connect signature binds (pairing.md §2.2).
#[derive(Debug, Clone)]
pub(crate) struct SignatureInput<'a> {
    /// `device.id`.
    pub device_id: &'a str,
    /// `client.id`.
    pub client_id: ClientId,
    /// `client.mode`.
    pub client_mode: ClientMode,
    /// `role`.
    pub role: Role,
    /// `scopes` in the order sent.
    pub scopes: &'a [String],
    /// `device.signedAt`.
    pub signed_at_ms: u64,
    /// `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""`.
    pub token: &'a str,
    /// `device.nonce`.
    pub nonce: &'a str,
    /// `client.platform`.
    pub platform: Option<&'a str>,
    /// `client.deviceFamily`.
    pub device_family: Option<&'a str>,
}

impl SignatureInput<'_> {
    fn v2_fields(&self, tag: &str) -> String {
        format!(
            "{tag}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.device_id,
            self.client_id.as_str(),
            self.client_mode.as_str(),
            self.role.as_str(),
            self.scopes.join(","),
            self.signed_at_ms,
            self.token,
            js_trim(self.nonce),
        )
    }

    /// The v3 payload string (what ClawNode signs).
    pub fn v3(&self) -> String {
        format!(
            "{}|{}|{}",
            self.v2_fields("v3"),
            normalize_metadata(self.platform),
            normalize_metadata(self.device_family)
        )
    }

    /// The v2 payload string (what OpenClawKit signs).
    #[cfg(test)]
    pub fn v2(&self) -> String {
        self.v2_fields("v2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_identity() -> DeviceIdentity {
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        DeviceIdentity::from_seed(seed).unwrap()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const NONCE: &str = "0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182";

    #[test]
    fn pairing_md_2_5_vectors() {
        let id = vector_identity();
        assert_eq!(hex(id.public_key_raw()), "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
        assert_eq!(id.public_key_b64url(), "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg");
        assert_eq!(id.device_id(), "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c");
        let input = SignatureInput {
            device_id: id.device_id(),
            client_id: ClientId::NodeHost,
            client_mode: ClientMode::Node,
            role: Role::Node,
            scopes: &[],
            signed_at_ms: 1_737_264_000_000,
            token: "",
            nonce: NONCE,
            platform: Some("linux"),
            device_family: Some("linux"),
        };
        let v3 = input.v3();
        assert_eq!(
            v3,
            "v3|56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c|node-host|node|node||1737264000000||0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182|linux|linux"
        );
        assert_eq!(
            id.sign(&v3),
            "H4xS_Y8YHPi-4cwdgva7KO11cPGiGeK4xxVdnUPWZp2dL9qE4_YVdWYYpJo2BKai2qQEOp1ndKf4ijQJGmC8BQ"
        );
        let v2 = input.v2();
        assert_eq!(
            v2,
            "v2|56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c|node-host|node|node||1737264000000||0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182"
        );
        assert_eq!(
            id.sign(&v2),
            "IiJXLQY5UkDHHeSg615bxGAyGLpjMuyzFj-SU1yFGE9yzLIsuVsvAh6QjxbNolftJQEvEVWOdN645RFH3OSuCg"
        );
    }

    #[test]
    fn v3_tail_with_scopes_and_metadata() {
        let scopes = vec!["operator.read".to_string(), "operator.write".to_string()];
        let input = SignatureInput {
            device_id: "d",
            client_id: ClientId::Ios,
            client_mode: ClientMode::Node,
            role: Role::Operator,
            scopes: &scopes,
            signed_at_ms: 1_737_264_000_000,
            token: "tok",
            nonce: NONCE,
            platform: Some("iOS 18.2"),
            device_family: Some("iPhone"),
        };
        assert!(input.v3().ends_with(
            "|operator.read,operator.write|1737264000000|tok|0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182|ios 18.2|iphone"
        ));
    }

    #[test]
    fn js_trim_semantics() {
        assert_eq!(normalize_metadata(Some("  IOS  ")), "ios");
        assert_eq!(normalize_metadata(Some("  İOS  ")), "İos");
        assert_eq!(normalize_metadata(Some("\u{FEFF}Linux\u{3000}")), "linux");
        assert_eq!(normalize_metadata(Some("\u{0085}Linux")), "\u{0085}linux");
        assert_eq!(normalize_metadata(None), "");
        assert_eq!(js_trim("\u{2028}\t x \u{00A0}"), "x");
    }

    #[test]
    fn pem_round_trip_is_canonical() {
        let id = vector_identity();
        let pubpem = id.public_key_pem();
        let privpem = id.private_key_pem();
        assert_eq!(
            pubpem,
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n"
        );
        assert!(privpem.starts_with(
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
        ));
        let back = DeviceIdentity::from_pem(&privpem, Some(&pubpem)).unwrap();
        assert_eq!(back, id);
        let other = DeviceIdentity::from_seed([9u8; 32]).unwrap();
        assert!(matches!(
            DeviceIdentity::from_pem(&privpem, Some(&other.public_key_pem())),
            Err(IdentityError::KeyMismatch)
        ));
        assert!(matches!(DeviceIdentity::from_pem(&pubpem, None), Err(IdentityError::InvalidPem(_))));
        assert!(matches!(
            DeviceIdentity::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None),
            Err(IdentityError::InvalidPrivateKey(_))
        ));
    }

    #[test]
    fn debug_hides_seed() {
        let id = vector_identity();
        let d = format!("{id:?}");
        assert!(d.contains(id.device_id()));
        assert!(!d.contains("seed"));
    }
}
