//! Credentials: which one a connect offers ([`select_auth`]) and which tokens a hello
//! leaves behind ([`persist_tokens`]).

use tracing::{info, warn};

use super::{Credentials, Inner, NodeNotice};
use crate::protocol::{ConnectAuth, HelloOk, Role};
use crate::secret::Secret;
use crate::store::{StoredToken, TokenKey};
use crate::transport;

pub(super) struct Attempt {
    pub(super) auth: ConnectAuth,
    pub(super) sent_device_token: Option<Secret>,
    pub(super) used_bootstrap: bool,
}

pub(super) fn select_auth(
    creds: &Credentials,
    stored: Option<&StoredToken>,
    device_retry: bool,
    bootstrap: Option<&Secret>,
) -> Attempt {
    let stored_token = stored.map(|t| t.token.clone());
    if device_retry && let Some(t) = stored_token.clone() {
        return Attempt {
            auth: ConnectAuth {
                token: creds.shared_token.clone(),
                device_token: Some(t.clone()),
                ..Default::default()
            },
            sent_device_token: Some(t),
            used_bootstrap: false,
        };
    }
    if creds.shared_token.is_some() || creds.password.is_some() {
        return Attempt {
            auth: ConnectAuth {
                token: creds.shared_token.clone(),
                password: creds.password.clone(),
                ..Default::default()
            },
            sent_device_token: None,
            used_bootstrap: false,
        };
    }
    if let Some(t) = stored_token {
        return Attempt {
            auth: ConnectAuth { device_token: Some(t.clone()), ..Default::default() },
            sent_device_token: Some(t),
            used_bootstrap: false,
        };
    }
    if let Some(b) = bootstrap {
        return Attempt {
            auth: ConnectAuth { bootstrap_token: Some(b.clone()), ..Default::default() },
            sent_device_token: None,
            used_bootstrap: true,
        };
    }
    Attempt { auth: ConnectAuth::default(), sent_device_token: None, used_bootstrap: false }
}

pub(super) fn persist_tokens(
    inner: &Inner,
    key: &TokenKey,
    stored: Option<&StoredToken>,
    attempt: &Attempt,
    hello: &HelloOk,
) {
    let Some(token) = hello.auth.device_token.clone() else { return };
    let unchanged = stored.is_some_and(|s| s.token.ct_eq(&token));
    if unchanged {
        return;
    }
    // If the token equals the one we sent, keep the stored scopes (handleConnectHello).
    let scopes = match (&attempt.sent_device_token, stored) {
        (Some(sent), Some(s)) if sent.ct_eq(&token) => s.scopes.clone(),
        _ => hello.auth.scopes.clone(),
    };
    let t = StoredToken { token, scopes, issued_at_ms: hello.auth.issued_at_ms, updated_at_ms: inner.clock.now_ms() };
    match inner.store.save_token(key, &t) {
        Ok(()) => {
            info!("device token stored");
            inner.notice(NodeNotice::DeviceTokenStored);
        }
        Err(e) => warn!(error = %e, "could not persist the device token"),
    }
    // Bootstrap hand-off tokens, only over a trusted transport.
    let endpoint = inner.endpoint();
    if attempt.used_bootstrap && (endpoint.tls || transport::is_loopback_host(&endpoint.host)) {
        for h in &hello.auth.device_tokens {
            let role = match h.role.as_str() {
                "operator" => Role::Operator,
                "node" => Role::Node,
                _ => continue,
            };
            let k = TokenKey { role, ..key.clone() };
            let t = StoredToken {
                token: h.device_token.clone(),
                scopes: h.scopes.clone(),
                issued_at_ms: h.issued_at_ms,
                updated_at_ms: inner.clock.now_ms(),
            };
            if let Err(e) = inner.store.save_token(&k, &t) {
                warn!(error = %e, "could not persist a hand-off token");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_selection_order() {
        let stored = StoredToken { token: "dev".into(), scopes: vec![], issued_at_ms: None, updated_at_ms: 0 };
        let shared = Credentials { shared_token: Some("shared".into()), ..Default::default() };
        let a = select_auth(&shared, Some(&stored), false, None);
        assert_eq!(a.auth.token.as_ref().map(Secret::expose), Some("shared"));
        assert!(a.auth.device_token.is_none());
        let a = select_auth(&shared, Some(&stored), true, None);
        assert_eq!(a.auth.token.as_ref().map(Secret::expose), Some("shared"));
        assert_eq!(a.auth.device_token.as_ref().map(Secret::expose), Some("dev"));
        assert_eq!(a.auth.signature_token(), "shared");
        let none = Credentials::default();
        let a = select_auth(&none, Some(&stored), false, Some(&"boot".into()));
        assert_eq!(a.auth.device_token.as_ref().map(Secret::expose), Some("dev"));
        assert!(a.auth.bootstrap_token.is_none());
        let a = select_auth(&none, None, false, Some(&"boot".into()));
        assert!(a.used_bootstrap);
        assert_eq!(a.auth.signature_token(), "boot");
        let a = select_auth(&none, None, false, None);
        assert!(a.auth.is_empty());
        let pw = Credentials { password: Some("pw".into()), ..Default::default() };
        let a = select_auth(&pw, Some(&stored), false, None);
        assert_eq!(a.auth.signature_token(), "");
        assert!(a.auth.device_token.is_none());
    }
}
