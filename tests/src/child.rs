//! [`KillOnDrop`]: a daemon a test starts (sshd, tinyproxy, danted, nginx, an mDNS
//! responder), killed and reaped when the test lets go of it, pass or fail.

use std::process::Child;

/// A child process killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
