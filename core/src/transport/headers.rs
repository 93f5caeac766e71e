//! Custom headers on the WebSocket upgrade request (e.g. a Zero-Trust edge's service
//! token: `CF-Access-Client-Id` / `CF-Access-Client-Secret`).
//!
//! Values are secrets: `Debug` shows the names only, and the request marks them sensitive.
//! Headers that make the upgrade what it is (`Host`, `Upgrade`, `Connection`,
//! `Sec-WebSocket-*`, framing and hop-by-hop headers, `Proxy-*`) are refused, so a header
//! table can never change where the request goes or how it is framed. They are sent only
//! where the Gateway's credentials may go: `wss://`, or `ws://` to a loopback host
//! (checked before any socket opens, [`TransportError::HeadersNeedTls`](super::TransportError)).

use std::fmt;

use crate::secret::Secret;

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A header the WebSocket upgrade itself owns.
    #[error(
        "header {0:?} is reserved for the WebSocket upgrade (Host, Upgrade, Connection, Sec-WebSocket-*, \
         Content-Length, Transfer-Encoding, TE, Trailer, Keep-Alive, Expect, Proxy-*) and cannot be set"
    )]
    Reserved(String),
    /// Not an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
    #[error("invalid header name {0:?}")]
    InvalidName(String),
    /// A value with control characters (CR, LF, NUL…) or non-ASCII bytes; the value is not
    /// repeated.
    #[error("the value of header {0:?} contains control or non-ASCII characters")]
    InvalidValue(String),
    /// The same name twice (case-insensitive).
    #[error("header {0:?} is given twice")]
    Duplicate(String),
}

/// Extra headers for the upgrade request. `Debug` prints names, never values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UpgradeHeaders(Vec<(String, Secret)>);

/// Names (lower-case) the upgrade owns; `sec-websocket-` and `proxy-` are prefixes.
const RESERVED: &[&str] =
    &["host", "upgrade", "connection", "content-length", "transfer-encoding", "te", "trailer", "keep-alive", "expect"];
const RESERVED_PREFIXES: &[&str] = &["sec-websocket-", "proxy-"];

impl UpgradeHeaders {
    /// No headers.
    pub fn new() -> Self {
        UpgradeHeaders::default()
    }

    /// Adds `name: value` after checking the name (a token, not reserved, not yet present)
    /// and the value (visible ASCII, spaces and tabs; surrounding whitespace trimmed).
    pub fn insert(&mut self, name: &str, value: Secret) -> Result<(), HeaderError> {
        let valid_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(HeaderError::InvalidName(name.to_string()));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p)) {
            return Err(HeaderError::Reserved(name.to_string()));
        }
        if self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(HeaderError::Duplicate(name.to_string()));
        }
        let v = value.expose().trim_matches([' ', '\t']);
        if !v.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
            return Err(HeaderError::InvalidValue(name.to_string()));
        }
        let value = if v.len() == value.expose().len() { value } else { Secret::new(v) };
        self.0.push((name.to_string(), value));
        Ok(())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// Names and values, for the request builder.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }
}

impl fmt::Debug for UpgradeHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(n, _)| (n, "[redacted]"))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_invalid_and_duplicate_names_are_refused() {
        let mut h = UpgradeHeaders::new();
        h.insert("CF-Access-Client-Id", Secret::new("id.access")).unwrap();
        h.insert("CF-Access-Client-Secret", Secret::new("  s3cr3t ")).unwrap();
        assert_eq!(h.names().collect::<Vec<_>>(), ["CF-Access-Client-Id", "CF-Access-Client-Secret"]);
        assert_eq!(h.iter().nth(1).map(|(_, v)| v.expose()), Some("s3cr3t"));
        for name in [
            "Host",
            "upgrade",
            "CONNECTION",
            "Sec-WebSocket-Key",
            "sec-websocket-protocol",
            "Sec-WebSocket-Extensions",
            "Content-Length",
            "Transfer-Encoding",
            "TE",
            "Keep-Alive",
            "Proxy-Authorization",
            "Expect",
        ] {
            let e = UpgradeHeaders::new().insert(name, Secret::new("x")).unwrap_err();
            assert_eq!(e, HeaderError::Reserved(name.into()));
            assert!(e.to_string().contains("reserved"), "{e}");
        }
        for name in ["", "Bad Name", "X:Y", "Ünïcode", "X\r\nInjected"] {
            assert_eq!(
                UpgradeHeaders::new().insert(name, Secret::new("x")),
                Err(HeaderError::InvalidName(name.into()))
            );
        }
        assert_eq!(
            h.insert("cf-access-client-id", Secret::new("x")),
            Err(HeaderError::Duplicate("cf-access-client-id".into()))
        );
        for value in ["a\r\nX-Evil: 1", "a\nb", "nul\0", "caf\u{e9}"] {
            let e = UpgradeHeaders::new().insert("X-Edge", Secret::new(value)).unwrap_err();
            assert_eq!(e, HeaderError::InvalidValue("X-Edge".into()));
            assert!(!e.to_string().contains(value), "the value is not echoed");
        }
    }

    /// Attack: reserved names in other spellings, control bytes that survive the trim, and
    /// a secret file's stray CR are refused (the name is a token, compared case-insensitively;
    /// only spaces and tabs are trimmed from a value).
    #[test]
    fn attack_reserved_spellings_and_control_bytes() {
        for name in ["hOsT", "SEC-WEBSOCKET-ACCEPT", "Sec-WebSocket-Version", "Proxy-Connection", "proxy-authenticate"]
        {
            assert_eq!(UpgradeHeaders::new().insert(name, Secret::new("x")), Err(HeaderError::Reserved(name.into())));
        }
        for name in [" Host", "Host ", "Host:", "Host\0", "Ho\tst", "Upgrade\r"] {
            assert_eq!(
                UpgradeHeaders::new().insert(name, Secret::new("x")),
                Err(HeaderError::InvalidName(name.into()))
            );
        }
        for value in ["secret\r", "\rsecret", "a\x0bb", "a\x7fb", "a\x1b[8mb", "sec\u{202e}ret"] {
            assert_eq!(
                UpgradeHeaders::new().insert("X-Edge", Secret::new(value)),
                Err(HeaderError::InvalidValue("X-Edge".into())),
                "{value:?}"
            );
        }
    }

    #[test]
    fn debug_shows_names_only() {
        let mut h = UpgradeHeaders::new();
        h.insert("CF-Access-Client-Secret", Secret::new("topsecret-value")).unwrap();
        let d = format!("{h:?}");
        assert!(d.contains("CF-Access-Client-Secret") && d.contains("[redacted]") && !d.contains("topsecret"), "{d}");
    }
}
