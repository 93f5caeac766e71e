//! TLS for `wss://`: the verifier every connection uses (a pinned leaf certificate, or the
//! system trust store), the handshake with a pin mismatch reported as such, and the
//! first-use probe that captures the leaf's fingerprint and sends nothing else.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{PinMismatch, Socket, TransportConfig, TransportError, connect_socket, crypto_provider};
use crate::endpoint::{Endpoint, Host, TlsPin};

fn server_name(host: &Host) -> Result<ServerName<'static>, TransportError> {
    // SNI only for DNS names: rustls sends none for an IP address.
    match host {
        Host::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
        Host::Name(n) => {
            ServerName::try_from(n.clone()).map_err(|e| TransportError::Tls(format!("bad server name: {e}")))
        }
    }
}

fn system_verifier(provider: &Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, TransportError> {
    rustls_platform_verifier::Verifier::new(provider.clone())
        .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
        .map_err(|e| TransportError::TlsSetup(e.to_string()))
}

/// What the verifier saw, for error reporting after a failed handshake.
#[derive(Debug, Default)]
struct Observed {
    leaf: Option<TlsPin>,
    system: Option<Result<(), String>>,
}

/// The verifier used for every `wss://` connection and for the first-use probe.
#[derive(Debug)]
struct ClawVerifier {
    mode: VerifyMode,
    system: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
    observed: Mutex<Observed>,
}

#[derive(Debug, Clone, Copy)]
enum VerifyMode {
    /// Trust exactly this leaf.
    Pinned(TlsPin),
    /// System trust.
    System,
    /// Record the leaf and system trust, then abort the handshake.
    Probe,
}

impl ClawVerifier {
    fn record(&self, leaf: TlsPin, system: Option<Result<(), String>>) {
        if let Ok(mut o) = self.observed.lock() {
            o.leaf = Some(leaf);
            if system.is_some() {
                o.system = system;
            }
        }
    }

    fn observed(&self) -> (Option<TlsPin>, Option<Result<(), String>>) {
        match self.observed.lock() {
            Ok(o) => (o.leaf, o.system.clone()),
            Err(_) => (None, None),
        }
    }

    fn system_check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), String> {
        self.system
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl ServerCertVerifier for ClawVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let leaf = TlsPin::of_der(end_entity.as_ref());
        match self.mode {
            VerifyMode::Pinned(pin) => {
                if pin.ct_eq(&leaf) {
                    self.record(leaf, None);
                    Ok(ServerCertVerified::assertion())
                } else {
                    let sys = self.system_check(end_entity, intermediates, server_name, ocsp, now);
                    self.record(leaf, Some(sys));
                    Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
                }
            }
            VerifyMode::System => {
                let sys = self.system_check(end_entity, intermediates, server_name, ocsp, now);
                let ok = sys.is_ok();
                self.record(leaf, Some(sys));
                if ok {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
                }
            }
            VerifyMode::Probe => {
                let sys = self.system_check(end_entity, intermediates, server_name, ocsp, now);
                self.record(leaf, Some(sys));
                Err(rustls::Error::General("probe complete".into()))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config(
    verifier: Arc<ClawVerifier>,
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ClientConfig, TransportError> {
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::TlsSetup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(cfg)
}

async fn tls_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    endpoint: &Endpoint,
    mode: VerifyMode,
    cfg: &TransportConfig,
) -> (Result<tokio_rustls::client::TlsStream<S>, TransportError>, Arc<ClawVerifier>) {
    let provider = crypto_provider();
    let system = match system_verifier(&provider) {
        Ok(s) => s,
        Err(e) => {
            let v = Arc::new(ClawVerifier {
                mode,
                system: Arc::new(NeverTrusted),
                provider,
                observed: Mutex::new(Observed::default()),
            });
            return (Err(e), v);
        }
    };
    let verifier = Arc::new(ClawVerifier { mode, system, provider: provider.clone(), observed: Mutex::default() });
    let config = match client_config(verifier.clone(), provider) {
        Ok(c) => c,
        Err(e) => return (Err(e), verifier),
    };
    let name = match server_name(&endpoint.host) {
        Ok(n) => n,
        Err(e) => return (Err(e), verifier),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let r = match tokio::time::timeout(cfg.tls_timeout, connector.connect(name, io)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(TransportError::Tls(e.to_string())),
        Err(_) => Err(TransportError::Timeout("TLS handshake")),
    };
    (r, verifier)
}

/// A stand-in when the platform verifier cannot be built (never reached in practice:
/// construction errors are reported before a handshake).
#[derive(Debug)]
struct NeverTrusted;

impl ServerCertVerifier for NeverTrusted {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General("no system verifier".into()))
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no system verifier".into()))
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no system verifier".into()))
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        Vec::new()
    }
}

/// The TLS handshake for `wss://` (pinned or system trust), with a mismatch reported as such.
pub(super) async fn secure<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    endpoint: &Endpoint,
    cfg: &TransportConfig,
) -> Result<tokio_rustls::client::TlsStream<S>, TransportError> {
    let mode = match endpoint.pin {
        Some(p) => VerifyMode::Pinned(p),
        None => VerifyMode::System,
    };
    let (r, verifier) = tls_handshake(io, endpoint, mode, cfg).await;
    match r {
        Ok(s) => Ok(s),
        Err(e) => {
            let (leaf, system) = verifier.observed();
            match (mode, leaf, system) {
                (VerifyMode::Pinned(expected), Some(observed), Some(sys)) if !expected.ct_eq(&observed) => {
                    Err(TransportError::PinMismatch(PinMismatch { expected, observed, system_trusted: sys.is_ok() }))
                }
                (VerifyMode::System, Some(observed), Some(Err(reason))) => {
                    Err(TransportError::Untrusted { observed, reason })
                }
                _ => Err(e),
            }
        }
    }
}

/// What a first-use probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsProbe {
    /// SHA-256 of the leaf certificate the Gateway presented.
    pub fingerprint: TlsPin,
    /// Whether the chain passes system trust for this host.
    pub system_trusted: bool,
    /// Why system trust failed, when it did.
    pub system_error: Option<String>,
}

/// First-use probe: connects (TCP + TLS handshake up to the certificate), captures the leaf
/// fingerprint and whether system trust passed, and aborts the handshake. Nothing else is
/// sent: no upgrade, no credentials. The app shows the fingerprint, the user confirms, and
/// the app stores it as the endpoint's pin.
pub async fn probe_tls(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<TlsProbe, TransportError> {
    if !endpoint.tls {
        return Err(TransportError::Tls("the first-use probe needs a wss:// endpoint".into()));
    }
    let (r, verifier) = match connect_socket(endpoint, cfg).await? {
        Socket::Tcp(tcp) => {
            let (r, v) = tls_handshake(tcp, endpoint, VerifyMode::Probe, cfg).await;
            (r.map(drop), v)
        }
        #[cfg(unix)]
        Socket::Unix(unix) => {
            let (r, v) = tls_handshake(unix, endpoint, VerifyMode::Probe, cfg).await;
            (r.map(drop), v)
        }
    };
    if let Err(e @ TransportError::TlsSetup(_)) = r {
        return Err(e);
    }
    match verifier.observed() {
        (Some(fingerprint), system) => {
            let system_error = match system {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(e),
                None => Some("not checked".into()),
            };
            Ok(TlsProbe { fingerprint, system_trusted: system_error.is_none(), system_error })
        }
        (None, _) => Err(match r {
            Err(e) => e,
            Ok(_) => TransportError::Tls("no certificate presented".into()),
        }),
    }
}
