//! `device.info`, `device.status`, `device.permissions`, `device.health` (commands.md §3.5).
//! All take `{}` (params are ignored); iOS and Android share the result shapes.

use std::collections::BTreeMap;

use super::NoParams;
use serde::{Deserialize, Serialize};

/// `device.info` (marker; the result type is [`DeviceInfo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceInfoCommand;
/// `device.status` (marker; the result type is [`DeviceStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceStatusCommand;
/// `device.permissions` (marker; the result type is [`DevicePermissions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DevicePermissionsCommand;
/// `device.health` (marker; the result type is [`DeviceHealth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceHealthCommand;

/// `device.info` result: the iOS/Android shape (every field present there), which the
/// Linux host shares where it applies, plus the desktop fields a Linux host adds. Absent
/// fields are omitted from the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// User-visible device name ("Pixel 9"; the host name on Linux).
    pub device_name: String,
    /// Hardware model identifier (Linux: the board or DMI product name, when readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// OS name ("iOS", "Android"; Linux: os-release `NAME`).
    pub system_name: String,
    /// OS version ("15"; Linux: os-release `VERSION_ID`, else the kernel release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_version: Option<String>,
    /// App version ("2026.9.6").
    pub app_version: String,
    /// App build number (mobile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_build: Option<String>,
    /// BCP-47 locale ("en-US").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Hardware vendor (Linux: DMI `sys_vendor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// OS display name (Linux: os-release `PRETTY_NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_pretty_name: Option<String>,
    /// OS id (Linux: os-release `ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_id: Option<String>,
    /// Kernel release (Linux: `uname -r`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    /// CPU architecture (`x86_64`, `aarch64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The node's platform (`linux`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The node's device family (`Linux`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// The node's configured display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The node's instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// CPUs available to the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<u32>,
    /// Total memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
}

/// `device.status` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Battery.
    pub battery: BatteryStatus,
    /// Thermal state.
    pub thermal: ThermalStatus,
    /// Storage.
    pub storage: StorageStatus,
    /// Network path.
    pub network: NetworkStatus,
    /// Seconds since boot.
    pub uptime_seconds: f64,
}

/// `device.status` `battery`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatteryStatus {
    /// Charge 0..1; omitted when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// `"unknown"`, `"unplugged"`, `"charging"` or `"full"`.
    pub state: String,
    /// Low-power / battery-saver mode.
    pub low_power_mode_enabled: bool,
}

/// `device.status` `thermal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThermalStatus {
    /// `"nominal"`, `"fair"`, `"serious"` or `"critical"`.
    pub state: String,
}

/// `device.status` `storage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageStatus {
    /// Capacity in bytes.
    pub total_bytes: u64,
    /// Free bytes.
    pub free_bytes: u64,
    /// Used bytes.
    pub used_bytes: u64,
}

/// `device.status` `network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatus {
    /// `"satisfied"`, `"unsatisfied"` or `"requiresConnection"`.
    pub status: String,
    /// Metered (cellular / hotspot).
    pub is_expensive: bool,
    /// Low-data mode.
    pub is_constrained: bool,
    /// Active interface kinds: `"wifi"`, `"cellular"`, `"wired"`, `"other"`.
    pub interfaces: Vec<String>,
}

/// `device.permissions` result (Android): permission name (`camera`, `microphone`,
/// `location`, `sms`, `notificationListener`, `notifications`, `photos`, `contacts`,
/// `calendar`, `callLog`, optional `motion`) → state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePermissions {
    /// The permissions by name.
    pub permissions: BTreeMap<String, PermissionState>,
}

/// One entry of [`DevicePermissions`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionState {
    /// `"granted"` or `"denied"`.
    pub status: String,
    /// Whether the OS would still show a prompt.
    pub promptable: bool,
}

/// `device.health` result (Android).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceHealth {
    /// Memory.
    pub memory: MemoryHealth,
    /// Battery.
    pub battery: BatteryHealth,
    /// Power management.
    pub power: PowerHealth,
    /// System.
    pub system: SystemHealth,
}

/// `device.health` `memory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryHealth {
    /// `"normal"`, `"moderate"`, `"high"`, `"critical"` or `"unknown"`.
    pub pressure: String,
    /// Installed RAM.
    pub total_ram_bytes: u64,
    /// Available RAM.
    pub available_ram_bytes: u64,
    /// Used RAM.
    pub used_ram_bytes: u64,
    /// Low-memory threshold.
    pub threshold_bytes: u64,
    /// The OS reports low memory.
    pub low_memory: bool,
}

/// `device.health` `battery`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatteryHealth {
    /// Charging state (as in `device.status`).
    pub state: String,
    /// `"ac"`, `"usb"`, `"wireless"`, `"dock"` or `"none"`.
    pub charging_type: String,
    /// Battery temperature, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Current in mA (negative = discharging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_ma: Option<f64>,
}

/// `device.health` `power`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerHealth {
    /// Doze mode active.
    pub doze_mode_enabled: bool,
    /// Battery saver active.
    pub low_power_mode_enabled: bool,
}

/// `device.health` `system`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemHealth {
    /// Android security patch level ("2026-08-05").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_patch_level: Option<String>,
}

catalog_command!(DeviceInfoCommand, "device.info", NoParams, DeviceInfo);
catalog_command!(DeviceStatusCommand, "device.status", NoParams, DeviceStatus);
catalog_command!(DevicePermissionsCommand, "device.permissions", NoParams, DevicePermissions);
catalog_command!(DeviceHealthCommand, "device.health", NoParams, DeviceHealth);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::roundtrip;
    use crate::commands::{CatalogCommand, PlatformFamily};
    use serde_json::{Value, json};

    #[test]
    fn spec_examples_roundtrip() {
        roundtrip::<DeviceStatus>(json!({
            "battery": {"level": 0.83, "state": "charging", "lowPowerModeEnabled": false},
            "thermal": {"state": "nominal"},
            "storage": {"totalBytes": 0, "freeBytes": 0, "usedBytes": 0},
            "network": {"status": "satisfied", "isExpensive": false, "isConstrained": false,
                        "interfaces": ["wifi", "cellular", "wired", "other"]},
            "uptimeSeconds": 1234.5
        }));
        roundtrip::<DeviceInfo>(json!({
            "deviceName": "Pixel 9", "modelIdentifier": "…", "systemName": "Android", "systemVersion": "15",
            "appVersion": "2026.9.6", "appBuild": "123", "locale": "en-US"
        }));
        // The Linux host's shape: the shared fields it can read, plus the desktop ones.
        roundtrip::<DeviceInfo>(json!({
            "deviceName": "build-box", "systemName": "Debian GNU/Linux", "systemVersion": "13",
            "osPrettyName": "Debian GNU/Linux 13 (trixie)", "osId": "debian", "kernelVersion": "6.12.0",
            "arch": "x86_64", "platform": "linux", "deviceFamily": "Linux", "appVersion": "0.1.0",
            "displayName": "Build box", "instanceId": "i-1", "locale": "en-US", "cpuCount": 8,
            "memoryTotalBytes": 16_000_000_000u64, "manufacturer": "ACME", "modelIdentifier": "X1"
        }));
        roundtrip::<DevicePermissions>(json!({"permissions": {
            "camera": {"status": "granted", "promptable": false},
            "microphone": {"status": "denied", "promptable": true},
            "notificationListener": {"status": "denied", "promptable": false}
        }}));
        roundtrip::<DeviceHealth>(json!({
            "memory": {"pressure": "normal", "totalRamBytes": 0, "availableRamBytes": 0,
                       "usedRamBytes": 0, "thresholdBytes": 0, "lowMemory": false},
            "battery": {"state": "charging", "chargingType": "usb", "temperatureC": 31.2, "currentMa": -120.0},
            "power": {"dozeModeEnabled": false, "lowPowerModeEnabled": false},
            "system": {"securityPatchLevel": "2026-08-05"}
        }));
        roundtrip::<DeviceHealth>(json!({
            "memory": {"pressure": "unknown", "totalRamBytes": 1, "availableRamBytes": 1,
                       "usedRamBytes": 0, "thresholdBytes": 0, "lowMemory": true},
            "battery": {"state": "unknown", "chargingType": "none"},
            "power": {"dozeModeEnabled": true, "lowPowerModeEnabled": false},
            "system": {}
        }));
    }

    #[test]
    fn params_are_ignored() {
        for v in [Value::Null, json!({}), json!({"x": 1}), json!("junk"), json!([1])] {
            assert_eq!(<DeviceStatusCommand as CatalogCommand>::parse(&v, PlatformFamily::Ios).ok(), Some(NoParams {}));
        }
    }
}
