//! Linux implementations of the node commands the `clawnode` host serves:
//! `system.which`, `system.notify`, `device.info`, `device.status`, plus the
//! `node.host.stats` event payload and the Linux default allowlist of the Gateway.
//!
//! Each command is an `async fn` taking the invoke params as a [`serde_json::Value`]
//! (`Value::Null` when the invoke carried none) and returning the JSON result payload
//! or the core's [`clawnode::CommandError`]; `node.host.stats` is the core's
//! [`clawnode::events::HostStats`]. All data comes from the running system (`/proc`,
//! `/sys`, `/etc/os-release`, `statvfs`, `uname`); a missing source is omitted from the
//! result, never an error. See `docs/linux-commands.md` for the shapes.

mod device;
mod device_status;
mod notify;
pub mod parse;
mod stats;
mod sysfs;
mod which;

pub use device::{DeviceInfoContext, device_info};
pub use device_status::device_status;
pub use notify::system_notify;
pub use stats::host_stats;
pub use which::system_which;

/// Commands the Gateway (2026.9.6) allows by default for `platform:"linux"` +
/// `deviceFamily:"Linux"` nodes (commands.md §1.3), which is:
///
/// - the platform defaults `system.notify` and `computer.act`;
/// - the bundled `linux-node` plugin defaults `camera.list` and `location.get`
///   (the plugin is enabled by default);
/// - the desktop-host set (`system.run.prepare` … `desktop.stream`), which becomes
///   invocable once a node-pairing (surface) approval has recorded it (approving
///   `system.run*`, `system.which`, `system.execApprovals.*`, `browser.proxy*` and
///   `fs.listDir` needs an approver with `operator.admin`).
///
/// Anything else (notably `device.info` / `device.status`) is declared fine but is
/// refused at invoke time unless the operator adds it to
/// `gateway.nodes.commands.allow`.
pub const LINUX_DEFAULT_ALLOWED: &[&str] = &[
    "system.notify",
    "computer.act",
    "camera.list",
    "location.get",
    // Desktop-host set: invocable once approved into the node's surface.
    "system.run.prepare",
    "system.run",
    "system.which",
    "system.execApprovals.get",
    "system.execApprovals.set",
    "fs.listDir",
    "terminal.upload",
    "browser.proxy",
    "browser.proxy.upload.v1",
    "mcp.tools.call.v1",
    "agent.cli.claude.run.v1",
    "screen.snapshot",
    "desktop.stream",
];

/// Returns the commands (in input order, without duplicates) that the Gateway will
/// not forward to a Linux node unless they are listed in
/// `gateway.nodes.commands.allow`, i.e. those outside [`LINUX_DEFAULT_ALLOWED`].
/// The CLI prints these as a hint (e.g. `device.info`, `device.status`).
pub fn outside_linux_defaults(commands: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for command in commands {
        if !LINUX_DEFAULT_ALLOWED.contains(command) && !out.iter().any(|c| c == command) {
            out.push((*command).to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_hint() {
        let declared = ["system.notify", "system.which", "device.info", "device.status", "device.info", "computer.act"];
        assert_eq!(outside_linux_defaults(&declared), vec!["device.info".to_owned(), "device.status".to_owned()]);
        assert!(outside_linux_defaults(&[]).is_empty());
        assert_eq!(LINUX_DEFAULT_ALLOWED.len(), 17);
    }
}
