//! How the bytes reach the Gateway: `NodeConfig.proxy` and `NodeConfig.headers`, converted
//! into the core's `Proxy` and `UpgradeHeaders`. Every rule (schemes, ports, reserved
//! header names, value characters, plaintext through a proxy) is the core's; this file only
//! maps its errors to typed `NodeError`s.
//!
//! Values are `Secret`s on the Rust side (the core's type, mapped to a plain string in
//! Kotlin, Swift and Python): `Debug` of a `NodeConfig` shows `[redacted]` for them.

use std::collections::HashMap;

use clawnode::Secret;
use clawnode::transport::{HeaderError, Proxy, ProxyError, UpgradeHeaders};

use crate::error::NodeError;

// The core's `Secret` crosses the FFI as a string; in Rust it never prints its value.
uniffi::custom_type!(Secret, String, {
    remote,
    lower: |s| s.expose().to_string(),
    try_lift: |s| Ok(Secret::new(s)),
});

/// Why an upgrade header was refused (`NodeError::InvalidHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HeaderProblem {
    /// A header the WebSocket upgrade owns (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`, `TE`, `Trailer`,
    /// `Keep-Alive`, `Expect`, `Proxy-*`).
    Reserved,
    /// The name is not an HTTP token.
    InvalidName,
    /// The value has control or non-ASCII characters.
    InvalidValue,
    /// The same name twice (names are case-insensitive).
    Duplicate,
    /// Another reason (see `detail`).
    Other,
}

impl From<&HeaderError> for HeaderProblem {
    fn from(e: &HeaderError) -> Self {
        match e {
            HeaderError::Reserved(_) => HeaderProblem::Reserved,
            HeaderError::InvalidName(_) => HeaderProblem::InvalidName,
            HeaderError::InvalidValue(_) => HeaderProblem::InvalidValue,
            HeaderError::Duplicate(_) => HeaderProblem::Duplicate,
            _ => HeaderProblem::Other,
        }
    }
}

impl From<ProxyError> for NodeError {
    /// The core's message never repeats the URL's credentials.
    fn from(e: ProxyError) -> Self {
        NodeError::InvalidProxy { detail: e.to_string() }
    }
}

/// `NodeConfig.proxy`: a proxy URL (`http://[user:password@]host:port` for HTTP `CONNECT`,
/// `socks5://…` / `socks5h://…` for SOCKS5).
pub(crate) struct ProxyUrl<'a>(pub(crate) &'a Secret);

impl TryFrom<ProxyUrl<'_>> for Proxy {
    type Error = NodeError;
    fn try_from(url: ProxyUrl<'_>) -> Result<Self, NodeError> {
        Ok(Proxy::parse(url.0.expose())?)
    }
}

/// `NodeConfig.headers`: name → value. A map has no order: they are sent sorted by name.
pub(crate) struct HeaderMap<'a>(pub(crate) &'a HashMap<String, Secret>);

impl TryFrom<HeaderMap<'_>> for UpgradeHeaders {
    type Error = NodeError;
    fn try_from(map: HeaderMap<'_>) -> Result<Self, NodeError> {
        let mut entries: Vec<(&String, &Secret)> = map.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = UpgradeHeaders::new();
        for (name, value) in entries {
            out.insert(name, value.clone()).map_err(|e| NodeError::InvalidHeader {
                name: name.clone(),
                problem: HeaderProblem::from(&e),
                detail: e.to_string(),
            })?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::transport::ProxyKind;

    #[test]
    fn proxy_urls_become_the_cores_proxy_or_a_typed_error() {
        let p = Proxy::try_from(ProxyUrl(&Secret::new("http://alice:pw%40x@proxy.example:3128"))).unwrap();
        assert_eq!((p.kind(), p.port(), p.has_auth()), (ProxyKind::HttpConnect, 3128, true));
        let p = Proxy::try_from(ProxyUrl(&Secret::new("socks5h://10.0.0.1:1080"))).unwrap();
        assert_eq!((p.kind(), p.has_auth()), (ProxyKind::Socks5, false));
        for bad in ["https://alice:hunter2@proxy:3128", "http://alice:hunter2@proxy", "http://proxy:3128/path", "x"] {
            match Proxy::try_from(ProxyUrl(&Secret::new(bad))) {
                Err(NodeError::InvalidProxy { detail }) => {
                    assert!(!detail.contains("hunter2"), "the password is not repeated: {detail}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn headers_become_the_cores_headers_sorted_or_a_typed_error() {
        let map = HashMap::from([
            ("CF-Access-Client-Secret".to_string(), Secret::new("s3cr3t-value")),
            ("CF-Access-Client-Id".to_string(), Secret::new("id.access")),
        ]);
        let h = UpgradeHeaders::try_from(HeaderMap(&map)).unwrap();
        assert_eq!(h.names().collect::<Vec<_>>(), ["CF-Access-Client-Id", "CF-Access-Client-Secret"]);
        assert!(!format!("{h:?}").contains("s3cr3t"));
        assert!(UpgradeHeaders::try_from(HeaderMap(&HashMap::new())).unwrap().is_empty());
        for (name, value, want) in [
            ("Sec-WebSocket-Protocol", "x", HeaderProblem::Reserved),
            ("Host", "evil.example", HeaderProblem::Reserved),
            ("Proxy-Authorization", "Basic x", HeaderProblem::Reserved),
            ("Bad Name", "x", HeaderProblem::InvalidName),
            ("X-Edge", "a\r\nX-Injected: 1", HeaderProblem::InvalidValue),
        ] {
            let map = HashMap::from([(name.to_string(), Secret::new(value))]);
            match UpgradeHeaders::try_from(HeaderMap(&map)) {
                Err(NodeError::InvalidHeader { name: n, problem, detail }) => {
                    assert_eq!((n.as_str(), problem), (name, want), "{detail}");
                    assert!(!detail.contains("X-Injected"), "the value is not repeated: {detail}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let twice = HashMap::from([("X-Edge".to_string(), Secret::new("a")), ("x-edge".to_string(), Secret::new("b"))]);
        assert!(matches!(
            UpgradeHeaders::try_from(HeaderMap(&twice)),
            Err(NodeError::InvalidHeader { problem: HeaderProblem::Duplicate, .. })
        ));
    }
}
