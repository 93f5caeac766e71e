//! Two network namespaces joined by a veth pair, for tests that need a real link between a
//! "gateway host" and a "device" (multicast DNS, a DNS server on a tailnet-range address)
//! without touching any outside network.
//!
//! Layout (fixed addresses: each pair is its own isolated network):
//! - `<id>-gw`: bridge `br0` (the veth end is its port; ciao, the Gateway's mDNS responder,
//!   skips interfaces listed as `name@ifN` by `ip -o link`, which every veth is) with
//!   [`GW_LAN`]/24 and the Tailscale-range [`GW_TAILNET`]/32 (the Gateway writes its wide-area
//!   zone only when an interface carries 100.64.0.0/10);
//! - `<id>-dev`: the other veth end with [`DEV_LAN`]/24 and a route to [`GW_TAILNET`].
//!
//! Names are unique per run; [`Drop`] deletes both namespaces (which deletes the veth pair)
//! and the `/etc/netns/<name>` files. Processes are put in a namespace with `ip netns exec`
//! ([`NetnsPair::command`]); in-process clients run on a thread that joined it
//! ([`block_on_in`]).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use crate::error::TestkitError;
use crate::util::random_hex;

/// The Gateway host's LAN address.
pub const GW_LAN: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The Gateway host's Tailscale-range address.
pub const GW_TAILNET: Ipv4Addr = Ipv4Addr::new(100, 64, 77, 1);
/// The device's LAN address.
pub const DEV_LAN: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// A gateway-host namespace and a device namespace on one link.
#[derive(Debug)]
pub struct NetnsPair {
    /// The gateway host's namespace name.
    pub gw: String,
    /// The device's namespace name.
    pub dev: String,
    etc_dirs: Vec<PathBuf>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl NetnsPair {
    /// Creates the pair. `Err` carries why namespaces are unavailable here (not root, no
    /// `ip`, no veth/bridge support): callers print it loudly and skip.
    pub fn create() -> Result<Self, String> {
        let id = format!("cn{}", &random_hex(4)[..6]);
        let pair = NetnsPair { gw: format!("{id}-gw"), dev: format!("{id}-dev"), etc_dirs: Vec::new() };
        ip(&["netns", "add", &pair.gw])?;
        ip(&["netns", "add", &pair.dev])?;
        let (vg, vd) = (format!("{id}g"), format!("{id}d"));
        let gw_lan = format!("{GW_LAN}/24");
        let gw_ts = format!("{GW_TAILNET}/32");
        let dev_lan = format!("{DEV_LAN}/24");
        let gw_ts_route = format!("{GW_TAILNET}/32");
        let steps: Vec<Vec<&str>> = vec![
            vec!["link", "add", &vg, "type", "veth", "peer", "name", &vd],
            vec!["link", "set", &vg, "netns", &pair.gw],
            vec!["link", "set", &vd, "netns", &pair.dev],
            vec!["-n", &pair.gw, "link", "add", "br0", "type", "bridge"],
            vec!["-n", &pair.gw, "link", "set", &vg, "master", "br0"],
            vec!["-n", &pair.gw, "addr", "add", &gw_lan, "dev", "br0"],
            vec!["-n", &pair.gw, "addr", "add", &gw_ts, "dev", "br0"],
            vec!["-n", &pair.dev, "addr", "add", &dev_lan, "dev", &vd],
            vec!["-n", &pair.gw, "link", "set", "lo", "up"],
            vec!["-n", &pair.dev, "link", "set", "lo", "up"],
            vec!["-n", &pair.gw, "link", "set", &vg, "up"],
            vec!["-n", &pair.gw, "link", "set", "br0", "up"],
            vec!["-n", &pair.dev, "link", "set", &vd, "up"],
            vec!["-n", &pair.dev, "route", "add", &gw_ts_route, "dev", &vd],
        ];
        for s in steps {
            ip(&s)?;
        }
        Ok(pair)
    }

    /// `ip netns exec <ns> <program>`: a command that runs in namespace `ns`.
    pub fn command(ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }

    /// Writes `/etc/netns/<ns>/resolv.conf` (bind-mounted over `/etc/resolv.conf` by
    /// `ip netns exec`), e.g. the tailnet DNS server a split-DNS setup would configure.
    pub fn set_resolv_conf(&mut self, ns: &str, nameserver: Ipv4Addr) -> Result<(), TestkitError> {
        let dir = PathBuf::from("/etc/netns").join(ns);
        std::fs::create_dir_all(&dir).map_err(|e| TestkitError::io(format!("create {}", dir.display()), e))?;
        self.etc_dirs.push(dir.clone());
        let path = dir.join("resolv.conf");
        std::fs::write(&path, format!("nameserver {nameserver}\n"))
            .map_err(|e| TestkitError::io(format!("write {}", path.display()), e))
    }

    /// Waits (bounded) until a TCP listener accepts on `addr` inside `ns`.
    pub async fn wait_tcp(ns: &str, addr: std::net::SocketAddr, timeout: std::time::Duration) -> bool {
        let ns = ns.to_string();
        let deadline = std::time::Instant::now() + timeout;
        tokio::task::spawn_blocking(move || {
            run_in(&ns, move || {
                while std::time::Instant::now() < deadline {
                    if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok() {
                        return true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                false
            })
            .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.gw, &self.dev] {
            let _ = ip(&["netns", "del", ns]);
        }
        for d in &self.etc_dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Runs `f` on a new thread that joined network namespace `ns` (`setns(2)` affects only
/// the calling thread); sockets it opens and processes it spawns live in `ns`.
pub fn run_in<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, TestkitError> {
    let path = PathBuf::from("/run/netns").join(ns);
    std::thread::spawn(move || -> Result<T, TestkitError> {
        let file = std::fs::File::open(&path).map_err(|e| TestkitError::io(format!("open {}", path.display()), e))?;
        enter(&file).map_err(|e| TestkitError::io(format!("setns {}", path.display()), e))?;
        Ok(f())
    })
    .join()
    .map_err(|_| TestkitError::Provision("netns thread panicked".into()))?
}

/// Runs the future made by `f` to completion on a current-thread runtime on a thread in
/// namespace `ns` (e.g. an [`crate::Operator`] talking to a Gateway on the namespace's
/// loopback). Call it from `spawn_blocking` inside async tests.
pub fn block_on_in<T, Fut, F>(ns: &str, f: F) -> Result<T, TestkitError>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T>,
    F: FnOnce() -> Fut + Send + 'static,
{
    run_in(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestkitError::io("build runtime", e))?;
        Ok(rt.block_on(f()))
    })?
}

#[allow(unsafe_code, reason = "setns(2) on this thread")]
fn enter(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a valid, open namespace file descriptor; affects this thread only.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}
