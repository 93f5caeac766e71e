//! A recording TCP relay: every connection accepted on a loopback port is forwarded to an
//! upstream port, and the bytes of each direction are kept per connection. Put in front
//! of a proxy (node → tap → proxy), it shows exactly what the proxy was given in clear.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The bytes of one relayed connection.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Client → upstream.
    pub up: Vec<u8>,
    /// Upstream → client.
    pub down: Vec<u8>,
}

/// A running tap; stops when dropped.
#[derive(Debug)]
pub struct Tap {
    port: u16,
    conns: Arc<Mutex<Vec<Arc<Mutex<Recorded>>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    rec: Arc<Mutex<Recorded>>,
    up: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Ok(mut r) = rec.lock() {
            let dst = if up { &mut r.up } else { &mut r.down };
            dst.extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Tap {
    /// Listens on a free loopback port and relays to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> std::io::Result<Tap> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let conns: Arc<Mutex<Vec<Arc<Mutex<Recorded>>>>> = Arc::default();
        let list = conns.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else { continue };
                let rec = Arc::new(Mutex::new(Recorded::default()));
                if let Ok(mut l) = list.lock() {
                    l.push(rec.clone());
                }
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, rec.clone(), true));
                tokio::spawn(pump(sr, cw, rec, false));
            }
        });
        Ok(Tap { port, conns, task })
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What each connection carried so far, in accept order.
    pub fn connections(&self) -> Vec<Recorded> {
        let list = self.conns.lock().map(|l| l.clone()).unwrap_or_default();
        list.iter().map(|r| r.lock().map(|r| r.clone()).unwrap_or_default()).collect()
    }
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Checks that `bytes` is nothing but TLS records (content type 20–23, version 3.x, a
/// length within the record limit), a cut-off last record allowed. Returns the number of
/// complete records.
pub fn tls_records_only(bytes: &[u8]) -> Result<usize, String> {
    let mut at = 0;
    let mut n = 0;
    while at + 5 <= bytes.len() {
        let (ty, major) = (bytes[at], bytes[at + 1]);
        let len = usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
        if !(20..=23).contains(&ty) || major != 3 || len > 16_384 + 2_048 {
            return Err(format!("not a TLS record at offset {at}: {:02x?}", &bytes[at..(at + 16).min(bytes.len())]));
        }
        if at + 5 + len > bytes.len() {
            break;
        }
        at += 5 + len;
        n += 1;
    }
    Ok(n)
}

/// The server name (SNI, RFC 6066 §3) of the TLS ClientHello that `bytes` starts with:
/// `Ok(None)` when the hello carries no `server_name` extension (as for an IP address),
/// `Err` when `bytes` does not start with a ClientHello in one record.
pub fn client_hello_sni(bytes: &[u8]) -> Result<Option<String>, String> {
    let cut = || format!("not a ClientHello in one record: {:02x?}", &bytes[..bytes.len().min(16)]);
    let take = |at: usize, n: usize| bytes.get(at..at + n).ok_or_else(cut);
    let u16_at = |at: usize| take(at, 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    if take(0, 1)? != [0x16] || take(5, 1)? != [0x01] {
        return Err(cut());
    }
    // Record header (5), handshake header (4), legacy version (2), random (32).
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + usize::from(take(at, 1)?[0]); // session id
    at += 2 + u16_at(at)?; // cipher suites
    at += 1 + usize::from(take(at, 1)?[0]); // compression methods
    let end = at + 2 + u16_at(at)?;
    at += 2;
    while at + 4 <= end {
        let (ty, len) = (u16_at(at)?, u16_at(at + 2)?);
        if ty == 0 {
            // server_name_list length (2), name type (1, host_name = 0), name length (2).
            if take(at + 6, 1)? != [0] {
                return Err(format!("server_name of type {}", take(at + 6, 1)?[0]));
            }
            let n = u16_at(at + 7)?;
            return Ok(Some(String::from_utf8_lossy(take(at + 9, n)?).into_owned()));
        }
        at += 4 + len;
    }
    Ok(None)
}

/// The payloads of the client→server WebSocket frames in `bytes` (which start at the first
/// frame), unmasked: masking hides nothing from whoever relays the frames.
pub fn unmasked_client_payloads(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let masked = bytes[at + 1] & 0x80 != 0;
        let mut len = usize::from(bytes[at + 1] & 0x7f);
        let mut hdr = 2;
        if len == 126 && at + 4 <= bytes.len() {
            len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
            hdr = 4;
        } else if len == 127 && at + 10 <= bytes.len() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at + 2..at + 10]);
            len = usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX);
            hdr = 10;
        }
        let key_at = at + hdr;
        let data_at = key_at + if masked { 4 } else { 0 };
        if data_at.saturating_add(len) > bytes.len() {
            break;
        }
        for (i, b) in bytes[data_at..data_at + len].iter().enumerate() {
            out.push(if masked { b ^ bytes[key_at + i % 4] } else { *b });
        }
        at = data_at + len;
    }
    out
}
