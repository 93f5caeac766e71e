//! The typed command catalog as the app sees it: the catalog table ([`catalog`]) and typed
//! params of the media/location/notification commands ([`typed_params`]). Thin mirrors of
//! `clawnode::commands`: the core parses, applies defaults and clamps; these records only
//! carry the result to the app.

use clawnode::commands::{self, PlatformFamily, ResultBudget};
use serde::Deserialize;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, uniffi::Enum)]
#[serde(rename_all = "lowercase")]
pub enum CameraFacing {
    /// Front (selfie) camera.
    Front,
    /// Back camera.
    Back,
}

/// `location.get` `desiredAccuracy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, uniffi::Enum)]
#[serde(rename_all = "lowercase")]
pub enum DesiredAccuracy {
    /// City level.
    Coarse,
    /// Block level.
    Balanced,
    /// Best available.
    Precise,
}

/// `system.notify` `priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, uniffi::Enum)]
#[serde(rename_all = "camelCase")]
pub enum NotifyPriority {
    /// Shown without interrupting.
    Passive,
    /// Normal.
    Active,
    /// Breaks through focus modes.
    TimeSensitive,
}

/// `camera.snap` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
#[serde(rename_all = "camelCase")]
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
    #[serde(default)]
    pub device_id: Option<String>,
}

/// `camera.clip` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
#[serde(rename_all = "camelCase")]
pub struct CameraClipParams {
    /// Which camera (default front).
    pub facing: CameraFacing,
    /// Length (default 3000; iOS/Linux 250..60000, Android 200..60000).
    pub duration_ms: u64,
    /// Record audio (default true).
    pub include_audio: bool,
    /// A `camera.list` id.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// `location.get` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
#[serde(rename_all = "camelCase")]
pub struct LocationParams {
    /// Fix timeout (default 10000, 1000..60000).
    pub timeout_ms: u64,
    /// Accept a cached fix at most this old; `None` = the app decides.
    #[serde(default)]
    pub max_age_ms: Option<u64>,
    /// `None` = the app setting decides.
    #[serde(default)]
    pub desired_accuracy: Option<DesiredAccuracy>,
}

/// `system.notify` params (title and body not both empty).
#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
#[serde(rename_all = "camelCase")]
pub struct NotifyParams {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Play the default sound (false for `none|silent|off|false|0`).
    #[serde(skip)]
    pub sound: bool,
    /// Priority (default active).
    pub priority: NotifyPriority,
}

/// `photos.latest` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Deserialize, uniffi::Record)]
#[serde(rename_all = "camelCase")]
pub struct PhotosLatestParams {
    /// How many photos (default 1, 1..20).
    pub limit: u32,
    /// Largest width (default 1600).
    pub max_width: u32,
    /// JPEG quality (default 0.85).
    pub quality: f64,
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
    fn de<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, CommandFailure> {
        serde_json::from_value(v.clone())
            .map_err(|e| CommandFailure::Failed { code: "INVALID_REQUEST".into(), detail: e.to_string() })
    }
    Ok(match command.as_str() {
        "camera.snap" => CatalogParams::CameraSnap { params: de(&v)? },
        "camera.clip" => CatalogParams::CameraClip { params: de(&v)? },
        "location.get" => CatalogParams::LocationGet { params: de(&v)? },
        "system.notify" => {
            let mut params: NotifyParams = de(&v)?;
            params.sound = !matches!(v.get("sound").and_then(|s| s.as_str()), Some("none" | "silent"));
            CatalogParams::SystemNotify { params }
        }
        "photos.latest" => CatalogParams::PhotosLatest { params: de(&v)? },
        _ => CatalogParams::Json { params_json: v.to_string() },
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
        let e = typed_params("camera.snap".into(), r#"{"maxWidth":"x"}"#.into()).unwrap_err();
        assert!(matches!(e, CommandFailure::Failed { code, .. } if code == "INVALID_REQUEST"));
    }
}
