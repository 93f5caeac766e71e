//! A real authoritative DNS server (NSD, Debian package `nsd`) serving one zone file in a
//! network namespace: the wide-area DNS-SD zone the Gateway writes, as CoreDNS would serve
//! it on a tailnet. Runs in the foreground in its own process group; [`Drop`] kills it.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::error::TestkitError;
use crate::netns::NetnsPair;

/// A running `nsd -d`.
#[derive(Debug)]
pub struct Nsd {
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Nsd {
    /// Serves `zone_file` as `zone` on `listen`:53 in namespace `ns`; returns once the
    /// server answers TCP connections (bounded by 10 s).
    pub async fn start(ns: &str, listen: Ipv4Addr, zone: &str, zone_file: &Path) -> Result<Self, TestkitError> {
        let dir =
            tempfile::Builder::new().prefix("clawnode-nsd-").tempdir().map_err(|e| TestkitError::io("nsd dir", e))?;
        let d = dir.path().display();
        let conf = format!(
            "server:\n  ip-address: {listen}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n  \
             zonelistfile: \"{d}/zone.list\"\n  pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
             xfrdir: \"{d}\"\n  logfile: \"{d}/nsd.log\"\n  server-count: 1\n  verbosity: 1\n\
             remote-control:\n  control-enable: no\nzone:\n  name: {zone}\n  zonefile: \"{}\"\n",
            zone_file.display()
        );
        let conf_path = dir.path().join("nsd.conf");
        std::fs::write(&conf_path, conf).map_err(|e| TestkitError::io("write nsd.conf", e))?;
        let mut cmd = NetnsPair::command(ns, "nsd");
        cmd.arg("-d").arg("-c").arg(&conf_path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(|e| TestkitError::io("spawn nsd (apt-get install nsd)", e))?;
        let nsd = Nsd { child: Some(child), dir };
        let addr = std::net::SocketAddr::from((listen, 53));
        if !NetnsPair::wait_tcp(ns, addr, Duration::from_secs(10)).await {
            let log = std::fs::read_to_string(nsd.dir.path().join("nsd.log")).unwrap_or_default();
            return Err(TestkitError::Provision(format!("nsd did not start on {addr}: {log}")));
        }
        Ok(nsd)
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            crate::gateway::signal_group(i32::try_from(c.id()).unwrap_or(0), libc::SIGKILL);
            let _ = c.wait();
        }
    }
}
