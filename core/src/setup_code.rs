//! Setup codes (pairing.md §4.1): `oc-pair://<code>` or a bare code, where the code is
//! base64url (no padding) of the JSON `{url, urls?, bootstrapToken, expiresAtMs?,
//! tlsFingerprint?}`. Decoding validates everything up front: the URLs are in normalised
//! form, the code is not expired, the pin is a valid SHA-256 fingerprint on a `wss://`
//! primary URL, and there are at most 8 URLs. The pin applies to the primary URL only;
//! the other candidates use system trust.

use base64::Engine as _;
use serde::Deserialize;

use crate::endpoint::{Endpoint, EndpointError, PinError, TlsPin, normalize_gateway_url};
use crate::secret::Secret;
use crate::transport::{TransportConfig, TransportError};

/// Largest number of `urls` a setup code may carry.
pub const MAX_URLS: usize = 8;

/// Why a setup code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupCodeError {
    /// Nothing to decode.
    #[error("the setup code is empty")]
    Empty,
    /// Characters outside the base64url alphabet.
    #[error("the setup code is not base64url (only A-Z a-z 0-9 - _ are allowed)")]
    Alphabet,
    /// base64url decoding failed.
    #[error("the setup code is not valid base64url")]
    Base64,
    /// The decoded bytes are not the expected JSON object.
    #[error("the setup code does not contain a valid payload: {0}")]
    Json(String),
    /// A required field is missing or empty.
    #[error("the setup code has no {0}")]
    Missing(&'static str),
    /// A URL is not a usable gateway URL.
    #[error("the setup code URL {url:?} is invalid: {source}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        source: EndpointError,
    },
    /// A URL is not in normalised form.
    #[error("the setup code URL {url:?} is not normalised (expected {normalised:?})")]
    NotNormalised {
        /// As given.
        url: String,
        /// The normalised form.
        normalised: String,
    },
    /// More than [`MAX_URLS`] urls (or an empty list).
    #[error("the setup code lists {0} urls (1 to 8 allowed)")]
    UrlCount(usize),
    /// The code expired.
    #[error("the setup code expired (expiresAtMs {expires_at_ms}); ask for a new one")]
    Expired {
        /// Expiry.
        expires_at_ms: u64,
    },
    /// The fingerprint is not a SHA-256 fingerprint.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// A fingerprint with a plaintext primary URL.
    #[error("the setup code carries a TLS fingerprint for a ws:// URL")]
    PinOnPlaintext,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    url: Option<String>,
    urls: Option<Vec<String>>,
    bootstrap_token: Option<String>,
    expires_at_ms: Option<u64>,
    tls_fingerprint: Option<String>,
}

/// A decoded, validated setup code. `Debug` never shows the bootstrap token.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupCode {
    /// Candidate endpoints in the order to try them: the primary URL first (carrying the
    /// code's pin, if any), then the other `urls` (never pinned by the code).
    pub endpoints: Vec<Endpoint>,
    /// The single-use bootstrap token (sent as `auth.bootstrapToken`).
    pub bootstrap_token: Secret,
    /// Expiry, when given.
    pub expires_at_ms: Option<u64>,
    /// The code's pin for the primary URL.
    pub tls_fingerprint: Option<TlsPin>,
}

impl SetupCode {
    /// The primary endpoint (always present in a code from [`decode`]).
    pub fn primary(&self) -> Option<&Endpoint> {
        self.endpoints.first()
    }
}

fn endpoint_from(url: &str) -> Result<Endpoint, SetupCodeError> {
    let normalised =
        normalize_gateway_url(url).map_err(|source| SetupCodeError::Url { url: url.to_string(), source })?;
    if normalised != url {
        return Err(SetupCodeError::NotNormalised { url: url.to_string(), normalised });
    }
    Endpoint::parse(url).map_err(|source| SetupCodeError::Url { url: url.to_string(), source })
}

/// Decodes and validates a setup code (`oc-pair://…`, prefix case-insensitive, or bare)
/// at time `now_ms`.
pub fn decode(input: &str, now_ms: u64) -> Result<SetupCode, SetupCodeError> {
    let t = input.trim();
    let body = match t.get(..10) {
        Some(p) if p.eq_ignore_ascii_case("oc-pair://") => &t[10..],
        _ => t,
    };
    let body = body.trim_end_matches('/');
    if body.is_empty() {
        return Err(SetupCodeError::Empty);
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(SetupCodeError::Alphabet);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).map_err(|_| SetupCodeError::Base64)?;
    let p: Payload = serde_json::from_slice(&bytes).map_err(|e| SetupCodeError::Json(e.to_string()))?;
    let url = p.url.filter(|u| !u.trim().is_empty()).ok_or(SetupCodeError::Missing("url"))?;
    let token = p.bootstrap_token.filter(|t| !t.trim().is_empty()).ok_or(SetupCodeError::Missing("bootstrapToken"))?;
    if let Some(exp) = p.expires_at_ms
        && exp <= now_ms
    {
        return Err(SetupCodeError::Expired { expires_at_ms: exp });
    }
    let pin = p.tls_fingerprint.as_deref().map(TlsPin::parse).transpose()?;
    let primary = endpoint_from(&url)?;
    if pin.is_some() && !primary.tls {
        return Err(SetupCodeError::PinOnPlaintext);
    }
    let mut endpoints = vec![primary.clone().with_pin(pin).map_err(|_| SetupCodeError::PinOnPlaintext)?];
    if let Some(urls) = p.urls {
        if urls.is_empty() || urls.len() > MAX_URLS {
            return Err(SetupCodeError::UrlCount(urls.len()));
        }
        for u in &urls {
            let e = endpoint_from(u)?;
            if !endpoints.iter().any(|x| x.origin() == e.origin()) {
                endpoints.push(e);
            }
        }
    }
    Ok(SetupCode {
        endpoints,
        bootstrap_token: Secret::new(token),
        expires_at_ms: p.expires_at_ms,
        tls_fingerprint: pin,
    })
}

/// The endpoint a host pairs with, chosen by [`choose_endpoint`].
#[derive(Debug)]
#[non_exhaustive]
pub struct EndpointChoice {
    /// The endpoint to connect to.
    pub endpoint: Endpoint,
    /// Whether it answered the probe (`false`: every candidate failed without a terminal
    /// error and this is the primary, which the node's own backoff keeps retrying).
    pub reached: bool,
    /// The candidates that failed, in order, with why (for the host to report).
    pub failures: Vec<(Endpoint, TransportError)>,
}

/// Why no endpoint of a setup code was chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointChoiceError {
    /// Every candidate failed and one of them with a terminal error (a pin mismatch, an
    /// untrusted certificate, …): pause instead of falling back.
    #[error("{}", first_terminal(.failures))]
    Terminal {
        /// The candidates that failed, in order, with why; at least one is terminal.
        failures: Vec<(Endpoint, TransportError)>,
    },
    /// The code has no endpoint (never the case for a code from [`decode`]).
    #[error("the setup code has no endpoint")]
    NoEndpoint,
}

fn first_terminal(failures: &[(Endpoint, TransportError)]) -> String {
    failures.iter().find(|(_, e)| e.is_terminal()).map(|(_, e)| e.to_string()).unwrap_or_default()
}

/// The one rule for the endpoint of a setup code, for every host (CLI and FFI).
///
/// Tries the code's endpoints in order (TCP, TLS, WebSocket upgrade; nothing of the
/// protocol is sent) and chooses the first reachable one. A pin mismatch stops the search
/// (the code's pin is authoritative). When every candidate fails, a terminal failure is an
/// error (pause); otherwise the choice is the primary ([`SetupCode::primary`]), which the
/// node keeps retrying. A host that must not do I/O before its node starts (the FFI's
/// synchronous constructor) takes that same answer without probing: the primary.
pub async fn choose_endpoint(code: &SetupCode, cfg: &TransportConfig) -> Result<EndpointChoice, EndpointChoiceError> {
    choose_among(&code.endpoints, cfg).await
}

/// [`choose_endpoint`] over a list of candidates whose first is the primary (the node
/// runs it on start for a setup code's URLs, after applying stored pins).
pub async fn choose_among(
    candidates: &[Endpoint],
    cfg: &TransportConfig,
) -> Result<EndpointChoice, EndpointChoiceError> {
    let mut failures = Vec::new();
    for e in candidates {
        match crate::transport::open(e, cfg).await {
            Ok(mut ws) => {
                let _ = ws.close(None).await;
                return Ok(EndpointChoice { endpoint: e.clone(), reached: true, failures });
            }
            Err(err) => {
                let stop = matches!(err, TransportError::PinMismatch(_));
                tracing::info!(endpoint = %e, error = %err, "setup-code candidate unreachable");
                failures.push((e.clone(), err));
                if stop {
                    break;
                }
            }
        }
    }
    if failures.iter().any(|(_, e)| e.is_terminal()) {
        return Err(EndpointChoiceError::Terminal { failures });
    }
    let primary = candidates.first().ok_or(EndpointChoiceError::NoEndpoint)?;
    Ok(EndpointChoice { endpoint: primary.clone(), reached: false, failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "eyJ1cmwiOiJ3czovLzEyNy4wLjAuMToxODg5OSIsImJvb3RzdHJhcFRva2VuIjoiOHNJSlFCUGdlby1tdThTS012QlR6dk9KUFhQZ24zVmZFUlpMWDZ4bkRMTSIsImV4cGlyZXNBdE1zIjoxNzk1NTE2NTYwMDE3fQ";
    const NOW: u64 = 1_795_516_000_000;

    fn enc(v: serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn decodes_the_spec_example() {
        let c = decode(EXAMPLE, NOW).unwrap();
        assert_eq!(c.primary().unwrap().origin().to_string(), "ws://127.0.0.1:18899");
        assert_eq!(c.endpoints.len(), 1);
        assert_eq!(c.bootstrap_token.expose(), "8sIJQBPgeo-mu8SKMvBTzvOJPXPgn3VfERZLX6xnDLM");
        assert_eq!(c.expires_at_ms, Some(1_795_516_560_017));
        assert!(c.tls_fingerprint.is_none());
        assert!(!format!("{c:?}").contains("8sIJQ"), "Debug must not show the token");
        let prefixed = decode(&format!("OC-PAIR://{EXAMPLE}"), NOW).unwrap();
        assert_eq!(prefixed, c);
        assert_eq!(decode(&format!("  oc-pair://{EXAMPLE}\n"), NOW).unwrap(), c);
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(decode("", NOW), Err(SetupCodeError::Empty));
        assert_eq!(decode("oc-pair://", NOW), Err(SetupCodeError::Empty));
        assert_eq!(decode("abc+def", NOW), Err(SetupCodeError::Alphabet));
        assert_eq!(decode("eyJ1cmwiOiJ3cz=", NOW), Err(SetupCodeError::Alphabet));
        assert_eq!(decode("a", NOW), Err(SetupCodeError::Base64));
        assert!(matches!(decode(&enc(serde_json::json!([1])), NOW), Err(SetupCodeError::Json(_))));
        assert_eq!(
            decode(EXAMPLE, 1_795_516_560_017),
            Err(SetupCodeError::Expired { expires_at_ms: 1_795_516_560_017 })
        );
        let no_token = enc(serde_json::json!({"url": "ws://127.0.0.1:1"}));
        assert_eq!(decode(&no_token, NOW), Err(SetupCodeError::Missing("bootstrapToken")));
        let no_url = enc(serde_json::json!({"bootstrapToken": "t"}));
        assert_eq!(decode(&no_url, NOW), Err(SetupCodeError::Missing("url")));
        for url in ["ws://127.0.0.1:1/", "http://127.0.0.1:1", "WS://127.0.0.1:1", "wss://gw.example:443"] {
            let c = enc(serde_json::json!({"url": url, "bootstrapToken": "t"}));
            assert!(matches!(decode(&c, NOW), Err(SetupCodeError::NotNormalised { .. })), "{url}");
        }
        for url in ["ws://u:p@127.0.0.1:1", "ws://127.0.0.1:1?x=1", "ftp://h", "ws://127.0.0.1:1#f"] {
            let c = enc(serde_json::json!({"url": url, "bootstrapToken": "t"}));
            assert!(matches!(decode(&c, NOW), Err(SetupCodeError::Url { .. })), "{url}");
        }
        let pin = "ab".repeat(32);
        let c = enc(serde_json::json!({"url": "ws://127.0.0.1:1", "bootstrapToken": "t", "tlsFingerprint": pin}));
        assert_eq!(decode(&c, NOW), Err(SetupCodeError::PinOnPlaintext));
        let c = enc(serde_json::json!({"url": "wss://gw.example", "bootstrapToken": "t", "tlsFingerprint": "abc"}));
        assert_eq!(decode(&c, NOW), Err(SetupCodeError::Pin(PinError::Format)));
        let urls: Vec<String> = (1..=9).map(|i| format!("ws://127.0.0.1:{i}")).collect();
        let c = enc(serde_json::json!({"url": "ws://127.0.0.1:1", "bootstrapToken": "t", "urls": urls}));
        assert_eq!(decode(&c, NOW), Err(SetupCodeError::UrlCount(9)));
    }

    #[test]
    fn pin_applies_to_the_primary_only() {
        let pin = format!("SHA256:{}", ["AB"; 32].join(":"));
        let c = enc(serde_json::json!({
            "url": "wss://gw.example:8443",
            "urls": ["wss://gw.example:8443", "wss://gw.tail1.ts.net", "ws://127.0.0.1:18789"],
            "bootstrapToken": "t",
            "tlsFingerprint": pin,
        }));
        let c = decode(&c, NOW).unwrap();
        let origins: Vec<String> = c.endpoints.iter().map(|e| e.origin().to_string()).collect();
        assert_eq!(origins, ["wss://gw.example:8443", "wss://gw.tail1.ts.net:443", "ws://127.0.0.1:18789"]);
        assert_eq!(c.endpoints[0].pin.map(|p| p.to_hex()), Some("ab".repeat(32)));
        assert!(c.endpoints[1].pin.is_none());
        assert!(c.endpoints[2].pin.is_none());
        assert_eq!(c.expires_at_ms, None);
    }

    fn code_for(urls: &[&str]) -> SetupCode {
        SetupCode {
            endpoints: urls.iter().map(|u| Endpoint::parse(u).unwrap()).collect(),
            bootstrap_token: Secret::new("t"),
            expires_at_ms: None,
            tls_fingerprint: None,
        }
    }

    #[tokio::test]
    async fn choice_falls_back_to_the_primary_when_nothing_answers() {
        // Two closed loopback ports: retryable failures, so the primary (retried by the node).
        let closed = |_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (a, b) = (closed(0), closed(1));
        let code = code_for(&[&format!("ws://127.0.0.1:{a}"), &format!("ws://127.0.0.1:{b}")]);
        let choice = choose_endpoint(&code, &TransportConfig::default()).await.unwrap();
        assert!(!choice.reached);
        assert_eq!(choice.endpoint, code.endpoints[0]);
        assert_eq!(choice.failures.len(), 2);
    }

    #[tokio::test]
    async fn choice_pauses_on_a_terminal_failure() {
        // Plaintext to a non-loopback address is refused by policy before any socket opens.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let code = code_for(&["ws://192.0.2.1:18789", &format!("ws://127.0.0.1:{closed}")]);
        let err = choose_endpoint(&code, &TransportConfig::default()).await.unwrap_err();
        let EndpointChoiceError::Terminal { failures } = &err else { panic!("{err}") };
        assert_eq!(failures.len(), 2);
        assert!(failures[0].1.is_terminal());
        assert_eq!(err.to_string(), failures[0].1.to_string());
    }

    #[tokio::test]
    async fn choice_takes_the_first_reachable_candidate() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = tokio_tungstenite::accept_async(tcp).await;
        });
        let code = code_for(&[&format!("ws://127.0.0.1:{closed}"), &format!("ws://127.0.0.1:{open}")]);
        let choice = choose_endpoint(&code, &TransportConfig::default()).await.unwrap();
        assert!(choice.reached);
        assert_eq!(choice.endpoint, code.endpoints[1]);
        assert_eq!(choice.failures.len(), 1);
    }
}
