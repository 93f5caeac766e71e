//! `device.info` for Linux hosts (`device.status` is in `device_status.rs`).

use serde_json::Value;

use super::parse;
use clawnode::CommandError;
use clawnode::commands::DeviceInfo;

use super::{stats, sysfs};

/// Host-side facts `device.info` cannot read from the system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfoContext {
    /// The clawnode version reported as `appVersion`.
    pub app_version: String,
    /// The node's configured display name (`displayName`), if any.
    pub display_name: Option<String>,
    /// The node's instance id (`instanceId`), if any.
    pub instance_id: Option<String>,
}

/// Runs blocking system reads on the blocking pool and serializes their typed result.
pub(super) async fn blocking<T, F>(what: &'static str, f: F) -> Result<Value, CommandError>
where
    T: serde::Serialize,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let value = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CommandError::unavailable(format!("{what} worker failed: {e}")))?;
    serde_json::to_value(value).map_err(|e| CommandError::unavailable(format!("{what}: {e}")))
}

/// `device.info`: params ignored → the core's [`DeviceInfo`]: the iOS/Android fields where
/// they apply, plus the Linux ones:
///
/// `{ deviceName, modelIdentifier?, manufacturer?, systemName, systemVersion?, osPrettyName?,
///    osId?, kernelVersion?, arch, platform:"linux", deviceFamily:"Linux", appVersion,
///    displayName?, instanceId?, locale?, cpuCount, memoryTotalBytes? }`
///
/// Sources: hostname from `uname`; model from `/proc/device-tree/model` (boards) or
/// `/sys/class/dmi/id/product_name`; OS from `/etc/os-release` (`/usr/lib/os-release`);
/// locale from `LC_ALL`/`LANG` as a BCP 47 tag (`C`/`POSIX` omitted). Missing sources
/// are omitted; never fails except if the worker task dies (`UNAVAILABLE`).
///
/// Written as a plain `fn` returning a `'static` future (the context is cloned up front)
/// so the call can be spawned; use it like an `async fn`: `device_info(p, &ctx).await`.
pub fn device_info(
    _params: Value,
    ctx: &DeviceInfoContext,
) -> impl Future<Output = Result<Value, CommandError>> + Send + use<> {
    let ctx = ctx.clone();
    let locale = ["LC_ALL", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .and_then(|v| parse::normalize_locale(&v));
    blocking("device.info", move || collect_device_info(&ctx, locale))
}

/// Gathers `device.info` synchronously.
fn collect_device_info(ctx: &DeviceInfoContext, locale: Option<String>) -> DeviceInfo {
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_str().ok().map(str::to_owned);
    let kernel = uname.release().to_str().ok().map(str::to_owned);
    let os = sysfs::read_text("/etc/os-release")
        .or_else(|| sysfs::read_text("/usr/lib/os-release"))
        .map(|t| parse::parse_os_release(&t))
        .unwrap_or_default();
    let os_field = |key: &str| os.get(key).filter(|v| !v.is_empty()).cloned();
    let model = sysfs::read_trimmed("/proc/device-tree/model")
        .or_else(|| sysfs::read_trimmed("/sys/firmware/devicetree/base/model"))
        .or_else(|| sysfs::read_trimmed("/sys/class/dmi/id/product_name"));
    DeviceInfo {
        device_name: hostname
            .filter(|h| !h.is_empty())
            .or_else(|| sysfs::read_trimmed("/proc/sys/kernel/hostname"))
            .unwrap_or_else(|| "localhost".to_owned()),
        model_identifier: model,
        manufacturer: sysfs::read_trimmed("/sys/class/dmi/id/sys_vendor"),
        system_name: os_field("NAME").unwrap_or_else(|| "Linux".to_owned()),
        system_version: os_field("VERSION_ID").or_else(|| kernel.clone()),
        os_pretty_name: os_field("PRETTY_NAME"),
        os_id: os_field("ID"),
        kernel_version: kernel,
        arch: Some(std::env::consts::ARCH.to_owned()),
        platform: Some("linux".to_owned()),
        device_family: Some("Linux".to_owned()),
        app_version: ctx.app_version.clone(),
        app_build: None,
        display_name: ctx.display_name.clone(),
        instance_id: ctx.instance_id.clone(),
        locale,
        cpu_count: u32::try_from(stats::cpu_count()).ok(),
        memory_total_bytes: sysfs::read_text("/proc/meminfo").and_then(|t| parse::parse_meminfo(&t).total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn real_device_info_shape() {
        let ctx = DeviceInfoContext {
            app_version: "0.1.0".to_owned(),
            display_name: Some("Build box".to_owned()),
            instance_id: None,
        };
        let v = device_info(Value::Null, &ctx).await.unwrap();
        assert!(!v["deviceName"].as_str().unwrap().is_empty());
        assert!(v["systemName"].is_string());
        assert_eq!(v["arch"], std::env::consts::ARCH);
        assert_eq!(v["appVersion"], "0.1.0");
        assert_eq!(v["displayName"], "Build box");
        assert!(v.get("instanceId").is_none());
        assert_eq!(v["platform"], "linux");
        assert_eq!(v["deviceFamily"], "Linux");
        assert!(v["cpuCount"].as_u64().unwrap() >= 1);
        assert!(v["kernelVersion"].is_string());
        assert!(v.get("appBuild").is_none(), "no mobile build number on Linux: {v}");
        for (_, value) in v.as_object().unwrap() {
            assert!(!value.is_null());
        }
    }
}
