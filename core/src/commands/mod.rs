//! The typed catalog of mobile/Linux node commands (commands.md §3): per command its
//! [`CommandSpec`] (cap, foreground rules, dangerous flag, result budget), typed params with
//! the platform's defaults and clamps, and typed results.
//!
//! - [`CATALOG`] / [`spec`]: the static table.
//! - [`CatalogCommand`]: one zero-sized marker per command ([`CameraSnap`], …) tying its name,
//!   params and result types together.
//! - [`normalize_params`]: the dynamic entry point for the router — validates params of any
//!   catalog command and returns them normalized as JSON (spec key names).
//! - [`check_result_budget`]: the media size guards of §6 (`PAYLOAD_TOO_LARGE`).
//!
//! Param rules: `params` is the parsed `paramsJSON` — an object, or `null` (= defaults; for
//! commands with required fields `INVALID_REQUEST: paramsJSON required`). Unknown keys are
//! ignored, `null` fields count as absent, wrong types and unknown enum tokens are
//! `INVALID_REQUEST` naming the field, integers must be integral, and out-of-range numbers are
//! clamped, never rejected. Commands without params ignore `params` entirely.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command_error::CommandError;

/// Implements [`CatalogCommand`] for a marker whose params type has an inherent
/// `parse(&Value, PlatformFamily)`.
macro_rules! catalog_command {
    ($marker:ty, $name:literal, $params:ty, $result:ty) => {
        impl $crate::commands::CatalogCommand for $marker {
            const NAME: &'static str = $name;
            type Params = $params;
            type Result = $result;
            fn parse(
                params: &::serde_json::Value,
                platform: $crate::commands::PlatformFamily,
            ) -> ::std::result::Result<$params, $crate::command_error::CommandError> {
                <$params>::parse(params, platform)
            }
        }
    };
}

mod budget;
mod calendar;
mod camera;
mod catalog;
mod device;
mod messaging;
mod motion;
mod params;
mod personal;
mod system;
mod vocab;

#[cfg(test)]
mod tests;

pub use budget::{
    MEDIA_BASE64_MAX, PHOTO_BASE64_MAX, PHOTOS_TOTAL_BASE64_MAX, ResultBudget, SNAP_BASE64_MAX, check_result_budget,
};
pub use calendar::{
    CalendarAdd, CalendarAddParams, CalendarAddResult, CalendarEvent, CalendarEvents, CalendarEventsParams,
    CalendarEventsResult, Reminder, RemindersAdd, RemindersAddParams, RemindersAddResult, RemindersList,
    RemindersListParams, RemindersListResult,
};
pub use camera::{
    CameraClip, CameraClipParams, CameraClipResult, CameraDevice, CameraList, CameraListResult, CameraSnap,
    CameraSnapParams, CameraSnapResult, ScreenRecord, ScreenRecordParams, ScreenRecordResult,
};
pub use catalog::{CATALOG, CommandSpec, PlatformFamily, spec};
pub use device::{
    BatteryHealth, BatteryStatus, DeviceHealth, DeviceHealthCommand, DeviceInfo, DeviceInfoCommand, DevicePermissions,
    DevicePermissionsCommand, DeviceStatus, DeviceStatusCommand, DiskStatus, MemoryHealth, MemoryStatus,
    NetworkInterfaceStatus, NetworkStatus, PermissionState, PowerHealth, StorageStatus, SystemHealth, ThermalSensor,
    ThermalStatus,
};
pub use messaging::{
    NotificationActionParams, NotificationActionResult, NotificationRecord, NotificationsActions, NotificationsList,
    NotificationsListResult, SmsMessage, SmsSearch, SmsSearchParams, SmsSearchResult, SmsSend, SmsSendParams,
    SmsSendResult,
};
pub use motion::{
    MotionActivity, MotionActivityParams, MotionActivityResult, MotionActivitySample, MotionPedometer, PedometerParams,
    PedometerResult, TalkPttCancel, TalkPttOnce, TalkPttResult, TalkPttStart, TalkPttStop,
};
pub use personal::{
    ContactRecord, ContactsAdd, ContactsAddParams, ContactsAddResult, ContactsSearch, ContactsSearchParams,
    ContactsSearchResult, Photo, PhotosLatest, PhotosLatestParams, PhotosLatestResult,
};
pub use system::{LocationGet, LocationParams, LocationResult, NotifyResult, SystemNotify, SystemNotifyParams};
pub use vocab::{
    CameraFacing, DesiredAccuracy, ImageFormat, NotificationAction, NotifyDelivery, NotifyPriority, NotifySound,
    ReminderStatus, VideoFormat, Vocabulary,
};

/// A catalog command: its wire name, typed params (with the platform's defaults and clamps
/// applied by [`CatalogCommand::parse`]) and typed result.
pub trait CatalogCommand {
    /// The wire name, e.g. `"camera.snap"`; always present in [`CATALOG`].
    const NAME: &'static str;
    /// Normalized params; serialize with the spec's key names.
    type Params: Serialize + DeserializeOwned + std::fmt::Debug + Clone + PartialEq;
    /// The handler's result payload.
    type Result: Serialize + DeserializeOwned;
    /// Validates `params` (the parsed `paramsJSON`) and applies defaults and clamps for `platform`.
    fn parse(params: &Value, platform: PlatformFamily) -> Result<Self::Params, CommandError>;
}

/// Params of commands that take none (`camera.list`, `device.*`, `notifications.list`,
/// `talk.ptt.*`): whatever is sent is ignored. Serializes as `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoParams {}

impl NoParams {
    /// Accepts any params (they are ignored).
    pub fn parse(_params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        Ok(NoParams {})
    }
}

fn normalized<C: CatalogCommand>(params: &Value, platform: PlatformFamily) -> Result<Option<Value>, CommandError> {
    let parsed = C::parse(params, platform)?;
    serde_json::to_value(parsed)
        .map(Some)
        .map_err(|e| CommandError::unavailable(format!("{}: cannot encode params: {e}", C::NAME)))
}

/// Validates `params` of catalog command `name` and returns them normalized (defaults and
/// clamps applied, spec key names) as JSON; `Ok(None)` when `name` is not in the catalog.
pub fn normalize_params(name: &str, params: &Value, platform: PlatformFamily) -> Result<Option<Value>, CommandError> {
    macro_rules! dispatch {
        ($($marker:ty),+ $(,)?) => {
            $(
                if name == <$marker as CatalogCommand>::NAME {
                    return normalized::<$marker>(params, platform);
                }
            )+
        };
    }
    dispatch!(
        CalendarAdd,
        CalendarEvents,
        CameraClip,
        CameraList,
        CameraSnap,
        ContactsAdd,
        ContactsSearch,
        DeviceHealthCommand,
        DeviceInfoCommand,
        DevicePermissionsCommand,
        DeviceStatusCommand,
        LocationGet,
        MotionActivity,
        MotionPedometer,
        NotificationsActions,
        NotificationsList,
        PhotosLatest,
        RemindersAdd,
        RemindersList,
        ScreenRecord,
        SmsSearch,
        SmsSend,
        SystemNotify,
        TalkPttCancel,
        TalkPttOnce,
        TalkPttStart,
        TalkPttStop,
    );
    Ok(None)
}
