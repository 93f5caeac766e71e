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

/// `device.status` result: the iOS/Android sections (`battery`, `thermal`, `storage`,
/// `network`, `uptimeSeconds`; a phone sets them all) plus the Linux host's own
/// (`loadAverage`, `memory`, `disks`, `networkInterfaces`). Every section is optional and
/// left out of the JSON when absent, as a host omits a section whose source it cannot read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Battery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery: Option<BatteryStatus>,
    /// Thermal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermal: Option<ThermalStatus>,
    /// Storage (Linux: the root filesystem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageStatus>,
    /// Network path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkStatus>,
    /// Seconds since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<f64>,
    /// Load averages over 1, 5 and 15 minutes (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
    /// Memory (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStatus>,
    /// Mounted block devices (Linux; present and possibly empty when the mount table was
    /// readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskStatus>>,
    /// Network interfaces (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interfaces: Option<Vec<NetworkInterfaceStatus>>,
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
    /// Low-power / battery-saver mode (mobile; Linux never sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_power_mode_enabled: Option<bool>,
    /// The battery's name (Linux: the `power_supply` entry, `BAT0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mains or USB power is online (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ac_online: Option<bool>,
}

/// `device.status` `thermal`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThermalStatus {
    /// `"nominal"`, `"fair"`, `"serious"` or `"critical"` (a phone always sets it; Linux
    /// only when a sensor has trip points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Temperature sensors (Linux; omitted when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<ThermalSensor>,
}

/// One `device.status` `thermal.sensors[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThermalSensor {
    /// Where it was read (`thermal_zone0`, `hwmon1/temp2`).
    pub source: String,
    /// A readable name (`x86_pkg_temp`, `coretemp Core 0`).
    pub name: String,
    /// Temperature, °C (rounded to 0.1).
    pub temperature_c: f64,
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
    /// Metered (cellular / hotspot; mobile, Linux never sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_expensive: Option<bool>,
    /// Low-data mode (mobile; Linux never sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_constrained: Option<bool>,
    /// Active interface kinds: `"wifi"`, `"cellular"`, `"wired"`, `"other"`.
    pub interfaces: Vec<String>,
}

/// `device.status` `memory` (Linux, from `/proc/meminfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStatus {
    /// Installed memory.
    pub total_bytes: u64,
    /// Available without swapping (`MemAvailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    /// Unused (`MemFree`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// Total minus available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_bytes: Option<u64>,
    /// Swap size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_total_bytes: Option<u64>,
    /// Unused swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_free_bytes: Option<u64>,
}

/// One `device.status` `disks[]` entry (Linux: a mounted block device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskStatus {
    /// The mounted device (`/dev/sda1`, a ZFS dataset).
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem type (`ext4`).
    pub fs_type: String,
    /// Capacity.
    pub total_bytes: u64,
    /// Available to unprivileged users.
    pub available_bytes: u64,
    /// Free, including the reserved blocks.
    pub free_bytes: u64,
    /// Used (total − free).
    pub used_bytes: u64,
}

/// One `device.status` `networkInterfaces[]` entry (Linux).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterfaceStatus {
    /// Interface name (`eth0`).
    pub name: String,
    /// `"wired"`, `"wifi"`, `"loopback"` or `"other"`.
    pub kind: String,
    /// Kernel operstate (`up`, `down`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operstate: Option<String>,
    /// Hardware address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u64>,
    /// Bytes received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_bytes: Option<u64>,
    /// Bytes sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_bytes: Option<u64>,
    /// IPv4 addresses.
    #[serde(default)]
    pub ipv4: Vec<String>,
    /// IPv6 addresses.
    #[serde(default)]
    pub ipv6: Vec<String>,
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
    fn device_status_linux_sections_roundtrip() {
        // The Linux host's shape (docs/linux-commands.md), every section present.
        roundtrip::<DeviceStatus>(json!({
            "battery": {"level": 0.75, "state": "charging", "name": "BAT0", "acOnline": true},
            "thermal": {"state": "fair", "sensors": [
                {"source": "thermal_zone0", "name": "x86_pkg_temp", "temperatureC": 48.5}]},
            "storage": {"totalBytes": 10, "freeBytes": 4, "usedBytes": 6},
            "network": {"status": "satisfied", "interfaces": ["wired"]},
            "uptimeSeconds": 385.22,
            "loadAverage": [2.4, 1.07, 0.44],
            "memory": {"totalBytes": 100, "availableBytes": 60, "freeBytes": 50, "usedBytes": 40,
                       "swapTotalBytes": 0, "swapFreeBytes": 0},
            "disks": [{"device": "/dev/vda", "mountPoint": "/", "fsType": "ext4", "totalBytes": 10,
                       "availableBytes": 4, "freeBytes": 5, "usedBytes": 5}],
            "networkInterfaces": [
                {"name": "eth0", "kind": "wired", "operstate": "up", "macAddress": "02:fc:00:00:00:01",
                 "mtu": 1400, "rxBytes": 1, "txBytes": 2, "ipv4": ["192.0.2.2"], "ipv6": ["fd00::2"]},
                {"name": "lo", "kind": "loopback", "ipv4": ["127.0.0.1"], "ipv6": []}]
        }));
    }

    #[test]
    fn device_status_absent_sections_are_omitted() {
        assert_eq!(serde_json::to_value(DeviceStatus::default()).unwrap(), json!({}));
        // Each section on its own: only its key appears.
        let one =
            |s: DeviceStatus| serde_json::to_value(s).unwrap().as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let d = DeviceStatus::default;
        assert_eq!(one(DeviceStatus { uptime_seconds: Some(1.5), ..d() }), ["uptimeSeconds"]);
        assert_eq!(one(DeviceStatus { load_average: Some([0.0; 3]), ..d() }), ["loadAverage"]);
        assert_eq!(one(DeviceStatus { disks: Some(vec![]), ..d() }), ["disks"], "an empty mount list is reported");
        assert_eq!(one(DeviceStatus { network_interfaces: Some(vec![]), ..d() }), ["networkInterfaces"]);
        // Optional fields inside sections.
        let battery = BatteryStatus {
            level: None,
            state: "unknown".into(),
            low_power_mode_enabled: None,
            name: None,
            ac_online: None,
        };
        assert_eq!(serde_json::to_value(&battery).unwrap(), json!({"state": "unknown"}));
        assert_eq!(serde_json::to_value(ThermalStatus::default()).unwrap(), json!({}));
        let memory = MemoryStatus {
            total_bytes: 1,
            available_bytes: None,
            free_bytes: None,
            used_bytes: None,
            swap_total_bytes: None,
            swap_free_bytes: None,
        };
        assert_eq!(serde_json::to_value(&memory).unwrap(), json!({"totalBytes": 1}));
        let net = NetworkStatus {
            status: "unsatisfied".into(),
            is_expensive: None,
            is_constrained: None,
            interfaces: vec![],
        };
        assert_eq!(serde_json::to_value(&net).unwrap(), json!({"status": "unsatisfied", "interfaces": []}));
        // A phone's sections parse with every field (and a Linux reader tolerates it).
        let phone: DeviceStatus = serde_json::from_value(json!({
            "battery": {"state": "full", "lowPowerModeEnabled": true},
            "thermal": {"state": "nominal"},
            "uptimeSeconds": 1
        }))
        .unwrap();
        assert_eq!(phone.battery.unwrap().low_power_mode_enabled, Some(true));
        assert_eq!(phone.thermal.unwrap().state.as_deref(), Some("nominal"));
        assert!(phone.memory.is_none() && phone.disks.is_none());
    }

    #[test]
    fn params_are_ignored() {
        for v in [Value::Null, json!({}), json!({"x": 1}), json!("junk"), json!([1])] {
            assert_eq!(<DeviceStatusCommand as CatalogCommand>::parse(&v, PlatformFamily::Ios).ok(), Some(NoParams {}));
        }
    }
}
