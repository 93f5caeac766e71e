//! `location.get` (commands.md §3.3) and `system.notify` (§3.4).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PlatformFamily;
use super::params::{Fields, clamp_u64};
use super::vocab::{DesiredAccuracy, NotifyDelivery, NotifyPriority, NotifySound};
use crate::command_error::CommandError;

/// `location.get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocationGet;
/// `system.notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SystemNotify;

/// `location.get` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationParams {
    /// Fix timeout: default 10000, clamp [1000, 60000].
    pub timeout_ms: u64,
    /// Accept a cached fix at most this old (negative → 0); `None` = the platform's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_ms: Option<u64>,
    /// `None` = the app setting decides (Android: precise when the "Precise" toggle and fine
    /// permission allow, else balanced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_accuracy: Option<DesiredAccuracy>,
}

impl LocationParams {
    /// Parses and normalizes `location.get` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        Ok(LocationParams {
            timeout_ms: clamp_u64(f.int("timeoutMs")?.unwrap_or(10_000), 1000, 60_000),
            max_age_ms: f.int("maxAgeMs")?.map(|v| clamp_u64(v, 0, u64::MAX)),
            desired_accuracy: f.token("desiredAccuracy")?,
        })
    }
}

/// `location.get` result. Optional fields are omitted when unknown/invalid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationResult {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Horizontal accuracy radius in metres.
    pub accuracy_meters: f64,
    /// Altitude in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_meters: Option<f64>,
    /// Speed in m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f64>,
    /// Course in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// ISO-8601 time of the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Whether the fix is precise (Linux: accuracy ≤ 100 m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_precise: Option<bool>,
    /// `"gps"`, `"wifi"`, `"cell"` or `"unknown"` (iOS: omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// `system.notify` params, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemNotifyParams {
    /// Trimmed title (may be empty when `body` is not).
    pub title: String,
    /// Trimmed body (may be empty when `title` is not).
    pub body: String,
    /// Default sound unless `none|silent|off|false|0`.
    pub sound: NotifySound,
    /// Default `active`.
    pub priority: NotifyPriority,
    /// macOS only; `None` = `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<NotifyDelivery>,
}

impl SystemNotifyParams {
    /// Parses `system.notify` params: title/body must be strings when present; both blank ⇒
    /// `INVALID_REQUEST: empty notification`.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let title = f.string("title")?.unwrap_or_default().trim().to_owned();
        let body = f.string("body")?.unwrap_or_default().trim().to_owned();
        if title.is_empty() && body.is_empty() {
            return Err(CommandError::invalid_request("empty notification"));
        }
        let sound = match f.get("sound") {
            None => NotifySound::Default,
            Some(v) => NotifySound::from_json(v)
                .ok_or_else(|| CommandError::invalid_request("sound must be a string, boolean or number".to_owned()))?,
        };
        Ok(SystemNotifyParams {
            title,
            body,
            sound,
            priority: f.token("priority")?.unwrap_or(NotifyPriority::Active),
            delivery: f.token("delivery")?,
        })
    }
}

/// `system.notify` result: no payload. Serializes as `{}`; deserializes from anything
/// (`null`, `{}`, Linux's `{"ok":true}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NotifyResult {}

impl<'de> Deserialize<'de> for NotifyResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(NotifyResult {})
    }
}

catalog_command!(LocationGet, "location.get", LocationParams, LocationResult);
catalog_command!(SystemNotify, "system.notify", SystemNotifyParams, NotifyResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::{Android, Ios, Linux, Other};
    use serde_json::json;

    fn loc(v: Value) -> LocationParams {
        match LocationParams::parse(&v, Android) {
            Ok(p) => p,
            Err(e) => panic!("{v}: {e}"),
        }
    }

    fn notify(v: Value) -> SystemNotifyParams {
        match SystemNotifyParams::parse(&v, Ios) {
            Ok(p) => p,
            Err(e) => panic!("{v}: {e}"),
        }
    }

    #[test]
    fn location_defaults_and_clamps() {
        for p in [Ios, Android, Linux, Other] {
            for empty in [Value::Null, json!({})] {
                let got = LocationParams::parse(&empty, p).ok();
                let want = LocationParams { timeout_ms: 10_000, max_age_ms: None, desired_accuracy: None };
                assert_eq!(got, Some(want));
            }
        }
        assert_eq!(loc(json!({"timeoutMs": 5})).timeout_ms, 1000);
        assert_eq!(loc(json!({"timeoutMs": 1000})).timeout_ms, 1000);
        assert_eq!(loc(json!({"timeoutMs": 600_000})).timeout_ms, 60_000);
        assert_eq!(loc(json!({"maxAgeMs": -1})).max_age_ms, Some(0));
        assert_eq!(loc(json!({"maxAgeMs": 15000})).max_age_ms, Some(15000));
        assert_eq!(loc(json!({"desiredAccuracy": "Precise"})).desired_accuracy, Some(DesiredAccuracy::Precise));
        let e = err_msg(LocationParams::parse(&json!({"desiredAccuracy": "exact"}), Ios));
        assert_eq!(e.1, "desiredAccuracy must be one of coarse, balanced, precise (got \"exact\")");
        let e = err_msg(LocationParams::parse(&json!({"timeoutMs": "10s"}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "timeoutMs must be an integer (got a string)".into()));
    }

    #[test]
    fn notify_params() {
        let n = notify(json!({"title": " Ping ", "body": "Gateway ready"}));
        assert_eq!(
            n,
            SystemNotifyParams {
                title: "Ping".into(),
                body: "Gateway ready".into(),
                sound: NotifySound::Default,
                priority: NotifyPriority::Active,
                delivery: None
            }
        );
        assert_eq!(notify(json!({"body": "x"})).title, "");
        let n = notify(json!({"title": "t", "sound": "off", "priority": "timeSensitive", "delivery": "overlay"}));
        assert_eq!(
            (n.sound, n.priority, n.delivery),
            (NotifySound::Silent, NotifyPriority::TimeSensitive, Some(NotifyDelivery::Overlay))
        );
        for empty in [Value::Null, json!({}), json!({"title": " ", "body": ""})] {
            let e = err_msg(SystemNotifyParams::parse(&empty, Android));
            assert_eq!(e, ("INVALID_REQUEST".into(), "empty notification".into()));
        }
        let e = err_msg(SystemNotifyParams::parse(&json!({"title": 5}), Ios));
        assert_eq!(e.1, "title must be a string (got a number)");
        let e = err_msg(SystemNotifyParams::parse(&json!({"title": "t", "priority": "urgent"}), Ios));
        assert_eq!(e.1, "priority must be one of passive, active, timeSensitive (got \"urgent\")");
        let e = err_msg(SystemNotifyParams::parse(&json!({"title": "t", "sound": {}}), Ios));
        assert_eq!(e.1, "sound must be a string, boolean or number");
    }

    #[test]
    fn results_roundtrip() {
        roundtrip::<LocationResult>(json!({"lat": 48.20849, "lon": 16.37208, "accuracyMeters": 12.5,
            "altitudeMeters": 182.0, "speedMps": 0.0, "headingDeg": 270.0,
            "timestamp": "2026-01-03T12:34:56.000Z", "isPrecise": true, "source": "gps"}));
        roundtrip::<LocationResult>(json!({"lat": 1.0, "lon": 2.0, "accuracyMeters": 2000.0}));
        let ios: Option<LocationResult> =
            serde_json::from_value(json!({"lat": 1.0, "lon": 2.0, "accuracyMeters": 5.0, "source": null})).ok();
        assert_eq!(ios.map(|l| l.source), Some(None));
        assert_eq!(serde_json::to_value(NotifyResult {}).ok(), Some(json!({})));
        for v in [Value::Null, json!({}), json!({"ok": true})] {
            assert_eq!(serde_json::from_value::<NotifyResult>(v).ok(), Some(NotifyResult {}));
        }
    }
}
