//! The typed command catalog as the app sees it: the catalog table ([`catalog`]) and typed
//! params of the media/location/notification commands ([`typed_params`]). Thin mirrors of
//! `clawnode::commands`: the core parses, applies defaults and clamps; these records only
//! carry the result to the app, converted from the core's params with `From` (no second
//! serde schema).

use clawnode::commands::{self, CatalogCommand, PlatformFamily, ResultBudget};

use crate::error::CommandFailure;

/// One catalog command and its rules (commands.md §3–§4, §6).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CatalogEntry {
    /// Command name (`camera.snap`).
    pub name: String,
    /// Cap family it is declared under (`camera`).
    pub cap: String,
    /// Refused with `NODE_BACKGROUND_UNAVAILABLE` on iOS while the app is backgrounded.
    pub foreground_ios: bool,
    /// Refused with `NODE_BACKGROUND_UNAVAILABLE` on Android while the app is backgrounded.
    pub foreground_android: bool,
    /// The Gateway treats it as dangerous: it needs an explicit `commands.allow`.
    pub dangerous: bool,
    /// Largest accepted base64 length of the result (media commands), else `None`.
    pub base64_budget: Option<u64>,
}

impl From<&commands::CommandSpec> for CatalogEntry {
    fn from(s: &commands::CommandSpec) -> Self {
        CatalogEntry {
            name: s.name.into(),
            cap: s.cap.into(),
            foreground_ios: s.foreground_ios,
            foreground_android: s.foreground_android,
            dangerous: s.dangerous,
            base64_budget: s.result_budget.map(|b| match b {
                ResultBudget::Base64Field { max, .. } => max as u64,
                ResultBudget::Photos { per_photo, .. } => per_photo as u64,
            }),
        }
    }
}

/// Every catalog command, sorted by name. Registering one of these names applies its rules:
/// params normalized before the handler runs, the platform's foreground rule, the result
/// budget.
#[uniffi::export]
pub fn catalog() -> Vec<CatalogEntry> {
    commands::CATALOG.iter().map(CatalogEntry::from).collect()
}

/// `camera.snap` / `camera.clip` `facing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CameraFacing {
    /// Front (selfie) camera.
    Front,
    /// Back camera.
    Back,
}

/// `location.get` `desiredAccuracy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DesiredAccuracy {
    /// City level.
    Coarse,
    /// Block level.
    Balanced,
    /// Best available.
    Precise,
}

/// `system.notify` `priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NotifyPriority {
    /// Shown without interrupting.
    Passive,
    /// Normal.
    Active,
    /// Breaks through focus modes.
    TimeSensitive,
}

/// `camera.snap` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CameraSnapParams {
    /// Which camera (default front).
    pub facing: CameraFacing,
    /// Largest width in pixels (default 1600).
    pub max_width: u32,
    /// JPEG quality in (0, 1] (iOS default 0.9, Android 0.95).
    pub quality: f64,
    /// Delay before the capture (iOS default 0, others 2000; ≤ 10000).
    pub delay_ms: u64,
    /// A `camera.list` id; an unknown id must fail with `INVALID_REQUEST`.
    pub device_id: Option<String>,
}

/// `camera.clip` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CameraClipParams {
    /// Which camera (default front).
    pub facing: CameraFacing,
    /// Length (default 3000; iOS/Linux 250..60000, Android 200..60000).
    pub duration_ms: u64,
    /// Record audio (default true).
    pub include_audio: bool,
    /// A `camera.list` id.
    pub device_id: Option<String>,
}

/// `location.get` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LocationParams {
    /// Fix timeout (default 10000, 1000..60000).
    pub timeout_ms: u64,
    /// Accept a cached fix at most this old; `None` = the app decides.
    pub max_age_ms: Option<u64>,
    /// `None` = the app setting decides.
    pub desired_accuracy: Option<DesiredAccuracy>,
}

/// `system.notify` params (title and body not both empty).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NotifyParams {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Play the default sound (false for `none|silent|off|false|0`).
    pub sound: bool,
    /// Priority (default active).
    pub priority: NotifyPriority,
}

/// `photos.latest` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotosLatestParams {
    /// How many photos (default 1, 1..20).
    pub limit: u32,
    /// Largest width (default 1600).
    pub max_width: u32,
    /// JPEG quality (default 0.85).
    pub quality: f64,
}

/// `screen.record` params, defaults and clamps applied (iOS: screen 0, mp4).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScreenRecordParams {
    /// Screen index (always 0).
    pub screen_index: u32,
    /// Length (default 10000, 250..60000).
    pub duration_ms: u64,
    /// Frames per second (default 10, 1..30).
    pub fps: f64,
    /// Record audio (default true).
    pub include_audio: bool,
}

/// `contacts.search` params.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ContactsSearchParams {
    /// Text to match; `None` lists contacts.
    pub query: Option<String>,
    /// Most results (default 25, 1..200).
    pub limit: u32,
}

/// `contacts.add` params (at least one usable field).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ContactsAddParams {
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Organization.
    pub organization_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Phone numbers.
    pub phone_numbers: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
}

/// `calendar.events` params (ISO-8601 instants; `None` = now / now + 7 days).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CalendarEventsParams {
    /// Window start.
    pub start_iso: Option<String>,
    /// Window end.
    pub end_iso: Option<String>,
    /// Most events (default 50, 1..500).
    pub limit: u32,
}

/// `calendar.add` params (title, start < end checked).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CalendarAddParams {
    /// Title.
    pub title: String,
    /// Start (ISO-8601).
    pub start_iso: String,
    /// End (ISO-8601).
    pub end_iso: String,
    /// All-day event.
    pub is_all_day: bool,
    /// Location.
    pub location: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Target calendar id.
    pub calendar_id: Option<String>,
    /// Target calendar by title.
    pub calendar_title: Option<String>,
}

/// `reminders.list` `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReminderStatus {
    /// Open reminders (default).
    Incomplete,
    /// Completed reminders.
    Completed,
    /// Both.
    All,
}

/// `reminders.list` params.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RemindersListParams {
    /// Which reminders.
    pub status: ReminderStatus,
    /// Most results.
    pub limit: u32,
}

/// `reminders.add` params.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RemindersAddParams {
    /// Title.
    pub title: String,
    /// Due (ISO-8601).
    pub due_iso: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Target list id.
    pub list_id: Option<String>,
    /// Target list by name.
    pub list_name: Option<String>,
}

/// `motion.activity` / `motion.pedometer` params (`limit` 0 for the pedometer).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MotionParams {
    /// Window start (ISO-8601).
    pub start_iso: Option<String>,
    /// Window end (ISO-8601).
    pub end_iso: Option<String>,
    /// `motion.activity`: most samples (default 200, 1..1000).
    pub limit: u32,
}

/// `notifications.actions` `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NotificationAction {
    /// Open it.
    Open,
    /// Dismiss it.
    Dismiss,
    /// Reply with `reply_text`.
    Reply,
}

/// `notifications.actions` params (`reply_text` present for replies).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NotificationActionParams {
    /// Notification key.
    pub key: String,
    /// What to do.
    pub action: NotificationAction,
    /// Reply text.
    pub reply_text: Option<String>,
}

/// `sms.send` params.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SmsSendParams {
    /// Recipient number.
    pub to: String,
    /// Text.
    pub message: String,
}

/// `sms.search` params.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SmsSearchParams {
    /// From (epoch ms).
    pub start_time: Option<i64>,
    /// Until (epoch ms).
    pub end_time: Option<i64>,
    /// Contact name (needs the contacts permission).
    pub contact_name: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Text to match.
    pub keyword: Option<String>,
    /// Android message type (1 inbox, 2 sent, 3 draft, …).
    pub kind: Option<i64>,
    /// Read state.
    pub is_read: Option<bool>,
    /// Most results (default 25, 1..200).
    pub limit: u32,
    /// Results to skip.
    pub offset: u64,
}

/// One `From` per vocabulary: the core parses, the FFI only renames.
macro_rules! mirror_enum {
    ($t:ident { $($v:ident),+ $(,)? }) => {
        impl From<commands::$t> for $t {
            fn from(v: commands::$t) -> Self {
                match v {
                    $(commands::$t::$v => $t::$v,)+
                }
            }
        }
    };
}

/// One `From` per params record whose fields carry over unchanged (or through `Into`).
macro_rules! mirror_record {
    ($t:ident <- $core:ident { $($f:ident),+ $(,)? }) => {
        impl From<commands::$core> for $t {
            fn from(p: commands::$core) -> Self {
                $t { $($f: p.$f.into(),)+ }
            }
        }
    };
}

mirror_enum!(CameraFacing { Front, Back });
mirror_enum!(DesiredAccuracy { Coarse, Balanced, Precise });
mirror_enum!(NotifyPriority { Passive, Active, TimeSensitive });
mirror_enum!(ReminderStatus { Incomplete, Completed, All });
mirror_enum!(NotificationAction { Open, Dismiss, Reply });

mirror_record!(CameraSnapParams <- CameraSnapParams { facing, max_width, quality, delay_ms, device_id });
mirror_record!(CameraClipParams <- CameraClipParams { facing, duration_ms, include_audio, device_id });
mirror_record!(PhotosLatestParams <- PhotosLatestParams { limit, max_width, quality });
mirror_record!(ScreenRecordParams <- ScreenRecordParams { screen_index, duration_ms, fps, include_audio });
mirror_record!(ContactsSearchParams <- ContactsSearchParams { query, limit });
mirror_record!(ContactsAddParams <- ContactsAddParams {
    given_name, family_name, organization_name, display_name, phone_numbers, emails
});
mirror_record!(CalendarEventsParams <- CalendarEventsParams { start_iso, end_iso, limit });
mirror_record!(CalendarAddParams <- CalendarAddParams {
    title, start_iso, end_iso, is_all_day, location, notes, calendar_id, calendar_title
});
mirror_record!(RemindersListParams <- RemindersListParams { status, limit });
mirror_record!(RemindersAddParams <- RemindersAddParams { title, due_iso, notes, list_id, list_name });
mirror_record!(MotionParams <- MotionActivityParams { start_iso, end_iso, limit });
mirror_record!(NotificationActionParams <- NotificationActionParams { key, action, reply_text });
mirror_record!(SmsSendParams <- SmsSendParams { to, message });

impl From<commands::LocationParams> for LocationParams {
    fn from(p: commands::LocationParams) -> Self {
        LocationParams {
            timeout_ms: p.timeout_ms,
            max_age_ms: p.max_age_ms,
            desired_accuracy: p.desired_accuracy.map(Into::into),
        }
    }
}

impl From<commands::SystemNotifyParams> for NotifyParams {
    fn from(p: commands::SystemNotifyParams) -> Self {
        NotifyParams {
            title: p.title,
            body: p.body,
            sound: p.sound != commands::NotifySound::Silent,
            priority: p.priority.into(),
        }
    }
}

impl From<commands::PedometerParams> for MotionParams {
    fn from(p: commands::PedometerParams) -> Self {
        MotionParams { start_iso: p.start_iso, end_iso: p.end_iso, limit: 0 }
    }
}

impl From<commands::SmsSearchParams> for SmsSearchParams {
    fn from(p: commands::SmsSearchParams) -> Self {
        SmsSearchParams {
            start_time: p.start_time,
            end_time: p.end_time,
            contact_name: p.contact_name,
            phone_number: p.phone_number,
            keyword: p.keyword,
            kind: p.r#type,
            is_read: p.is_read,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// Params of an invoke, typed where the catalog defines them.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CatalogParams {
    /// `camera.snap`.
    CameraSnap {
        /// The params.
        params: CameraSnapParams,
    },
    /// `camera.clip`.
    CameraClip {
        /// The params.
        params: CameraClipParams,
    },
    /// `location.get`.
    LocationGet {
        /// The params.
        params: LocationParams,
    },
    /// `system.notify`.
    SystemNotify {
        /// The params.
        params: NotifyParams,
    },
    /// `photos.latest`.
    PhotosLatest {
        /// The params.
        params: PhotosLatestParams,
    },
    /// `screen.record`.
    ScreenRecord {
        /// The params.
        params: ScreenRecordParams,
    },
    /// `contacts.search`.
    ContactsSearch {
        /// The params.
        params: ContactsSearchParams,
    },
    /// `contacts.add`.
    ContactsAdd {
        /// The params.
        params: ContactsAddParams,
    },
    /// `calendar.events`.
    CalendarEvents {
        /// The params.
        params: CalendarEventsParams,
    },
    /// `calendar.add`.
    CalendarAdd {
        /// The params.
        params: CalendarAddParams,
    },
    /// `reminders.list`.
    RemindersList {
        /// The params.
        params: RemindersListParams,
    },
    /// `reminders.add`.
    RemindersAdd {
        /// The params.
        params: RemindersAddParams,
    },
    /// `motion.activity`.
    MotionActivity {
        /// The params.
        params: MotionParams,
    },
    /// `motion.pedometer`.
    MotionPedometer {
        /// The params.
        params: MotionParams,
    },
    /// `notifications.actions`.
    NotificationsActions {
        /// The params.
        params: NotificationActionParams,
    },
    /// `sms.send`.
    SmsSend {
        /// The params.
        params: SmsSendParams,
    },
    /// `sms.search`.
    SmsSearch {
        /// The params.
        params: SmsSearchParams,
    },
    /// A catalog command without params (`camera.list`, `device.*`, `notifications.list`,
    /// `talk.ptt.*`): params are ignored.
    NoParams,
    /// Any other command: its params JSON as the handler received it.
    Json {
        /// JSON text.
        params_json: String,
    },
}

/// Decodes the `params_json` a handler received for `command` into typed params. Handlers of
/// catalog commands receive params already validated and normalized by the core, so this
/// only fails for params that did not come through the node (`INVALID_REQUEST`).
#[uniffi::export]
pub fn typed_params(command: String, params_json: String) -> Result<CatalogParams, CommandFailure> {
    let invalid = |detail: String| CommandFailure::Failed { code: "INVALID_REQUEST".into(), detail };
    let value: serde_json::Value =
        serde_json::from_str(&params_json).map_err(|e| invalid(format!("params are not JSON: {e}")))?;
    // Idempotent on params the router already normalized; applies the generic defaults to others.
    let normalized = commands::normalize_params(&command, &value, PlatformFamily::Other)
        .map_err(|e| CommandFailure::Failed { code: e.code().into(), detail: e.message().into() })?;
    let Some(v) = normalized else {
        return Ok(CatalogParams::Json { params_json });
    };
    /// The core's typed params (a read-back of the normalized form), converted with `From`.
    fn typed<C: CatalogCommand>(v: &serde_json::Value) -> Result<C::Params, CommandFailure> {
        C::parse(v, PlatformFamily::Other)
            .map_err(|e| CommandFailure::Failed { code: e.code().into(), detail: e.message().into() })
    }
    use commands as c;
    Ok(match command.as_str() {
        "camera.snap" => CatalogParams::CameraSnap { params: typed::<c::CameraSnap>(&v)?.into() },
        "camera.clip" => CatalogParams::CameraClip { params: typed::<c::CameraClip>(&v)?.into() },
        "location.get" => CatalogParams::LocationGet { params: typed::<c::LocationGet>(&v)?.into() },
        "system.notify" => CatalogParams::SystemNotify { params: typed::<c::SystemNotify>(&v)?.into() },
        "photos.latest" => CatalogParams::PhotosLatest { params: typed::<c::PhotosLatest>(&v)?.into() },
        "screen.record" => CatalogParams::ScreenRecord { params: typed::<c::ScreenRecord>(&v)?.into() },
        "contacts.search" => CatalogParams::ContactsSearch { params: typed::<c::ContactsSearch>(&v)?.into() },
        "contacts.add" => CatalogParams::ContactsAdd { params: typed::<c::ContactsAdd>(&v)?.into() },
        "calendar.events" => CatalogParams::CalendarEvents { params: typed::<c::CalendarEvents>(&v)?.into() },
        "calendar.add" => CatalogParams::CalendarAdd { params: typed::<c::CalendarAdd>(&v)?.into() },
        "reminders.list" => CatalogParams::RemindersList { params: typed::<c::RemindersList>(&v)?.into() },
        "reminders.add" => CatalogParams::RemindersAdd { params: typed::<c::RemindersAdd>(&v)?.into() },
        "motion.activity" => CatalogParams::MotionActivity { params: typed::<c::MotionActivity>(&v)?.into() },
        "motion.pedometer" => CatalogParams::MotionPedometer { params: typed::<c::MotionPedometer>(&v)?.into() },
        "notifications.actions" => {
            CatalogParams::NotificationsActions { params: typed::<c::NotificationsActions>(&v)?.into() }
        }
        "sms.send" => CatalogParams::SmsSend { params: typed::<c::SmsSend>(&v)?.into() },
        "sms.search" => CatalogParams::SmsSearch { params: typed::<c::SmsSearch>(&v)?.into() },
        _ => CatalogParams::NoParams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_and_typed_params() {
        let c = catalog();
        let snap = c.iter().find(|e| e.name == "camera.snap").unwrap();
        assert_eq!((snap.cap.as_str(), snap.foreground_ios, snap.dangerous), ("camera", true, true));
        assert_eq!(snap.base64_budget, Some(4_999_999));
        assert!(c.iter().any(|e| e.name == "location.get" && !e.foreground_ios && !e.dangerous));

        match typed_params("camera.snap".into(), r#"{"quality":7,"facing":"back"}"#.into()).unwrap() {
            CatalogParams::CameraSnap { params } => {
                assert_eq!((params.facing, params.quality, params.max_width), (CameraFacing::Back, 1.0, 1600))
            }
            other => panic!("{other:?}"),
        }
        match typed_params("location.get".into(), "null".into()).unwrap() {
            CatalogParams::LocationGet { params } => assert_eq!(params.timeout_ms, 10_000),
            other => panic!("{other:?}"),
        }
        match typed_params("system.notify".into(), r#"{"title":"t","body":"b","sound":"off"}"#.into()).unwrap() {
            CatalogParams::SystemNotify { params } => {
                assert_eq!((params.title.as_str(), params.sound, params.priority), ("t", false, NotifyPriority::Active))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            typed_params("acme.x".into(), r#"{"a":1}"#.into()).unwrap(),
            CatalogParams::Json { params_json } if params_json == r#"{"a":1}"#
        ));
        // Every catalog command decodes into its typed variant (minimal valid params).
        let minimal = |name: &str| -> &'static str {
            match name {
                "system.notify" => r#"{"title":"t","body":"b"}"#,
                "contacts.add" => r#"{"givenName":"Ada"}"#,
                "calendar.add" => r#"{"title":"t","startISO":"2026-01-01T10:00:00Z","endISO":"2026-01-01T11:00:00Z"}"#,
                "reminders.add" => r#"{"title":"t"}"#,
                "notifications.actions" => r#"{"key":"k","action":"reply","replyText":"ok"}"#,
                "sms.send" => r#"{"to":"+15555550123","message":"hi"}"#,
                _ => "{}",
            }
        };
        for entry in catalog() {
            let typed = typed_params(entry.name.clone(), minimal(&entry.name).into())
                .unwrap_or_else(|e| panic!("{}: {e:?}", entry.name));
            assert!(!matches!(typed, CatalogParams::Json { .. }), "{} stayed untyped", entry.name);
        }
        match typed_params("sms.search".into(), r#"{"type":2,"limit":500}"#.into()).unwrap() {
            CatalogParams::SmsSearch { params } => {
                assert_eq!((params.kind, params.limit, params.offset), (Some(2), 200, 0))
            }
            other => panic!("{other:?}"),
        }
        let e = typed_params("camera.snap".into(), r#"{"maxWidth":"x"}"#.into()).unwrap_err();
        assert!(matches!(e, CommandFailure::Failed { code, .. } if code == "INVALID_REQUEST"));
    }
}
