//! `motion.activity`, `motion.pedometer` (commands.md §3.11) and `talk.ptt.*` (§3.14).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{Fields, check_range, clamp_u32};
use super::{NoParams, PlatformFamily};
use crate::command_error::CommandError;

/// `motion.activity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MotionActivity;
/// `motion.pedometer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MotionPedometer;
/// `talk.ptt.start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TalkPttStart;
/// `talk.ptt.stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TalkPttStop;
/// `talk.ptt.cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TalkPttCancel;
/// `talk.ptt.once`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TalkPttOnce;

/// `motion.activity` params (Android ignores the range and classifies the last 2 s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MotionActivityParams {
    /// Range start, RFC 3339.
    #[serde(rename = "startISO", default, skip_serializing_if = "Option::is_none")]
    pub start_iso: Option<String>,
    /// Range end, RFC 3339 (after `startISO`).
    #[serde(rename = "endISO", default, skip_serializing_if = "Option::is_none")]
    pub end_iso: Option<String>,
    /// Default 200, clamp 1..1000.
    pub limit: u32,
}

impl MotionActivityParams {
    /// Parses and normalizes `motion.activity` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let start = f.instant("startISO")?;
        let end = f.instant("endISO")?;
        check_range(&start, &end, "startISO", "endISO")?;
        Ok(MotionActivityParams {
            start_iso: start.map(|(s, _)| s),
            end_iso: end.map(|(s, _)| s),
            limit: clamp_u32(f.int("limit")?.unwrap_or(200), 1, 1000),
        })
    }
}

/// One activity sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MotionActivitySample {
    /// Start, ISO-8601.
    #[serde(rename = "startISO")]
    pub start_iso: String,
    /// End, ISO-8601.
    #[serde(rename = "endISO")]
    pub end_iso: String,
    /// `"low"`, `"medium"` or `"high"`.
    pub confidence: String,
    /// Walking.
    pub is_walking: bool,
    /// Running.
    pub is_running: bool,
    /// Cycling.
    pub is_cycling: bool,
    /// In a vehicle.
    pub is_automotive: bool,
    /// Stationary.
    pub is_stationary: bool,
    /// Unknown.
    pub is_unknown: bool,
}

/// `motion.activity` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MotionActivityResult {
    /// The samples.
    pub activities: Vec<MotionActivitySample>,
}

/// `motion.pedometer` params (Android: steps since boot, range ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PedometerParams {
    /// Range start, RFC 3339.
    #[serde(rename = "startISO", default, skip_serializing_if = "Option::is_none")]
    pub start_iso: Option<String>,
    /// Range end, RFC 3339 (after `startISO`).
    #[serde(rename = "endISO", default, skip_serializing_if = "Option::is_none")]
    pub end_iso: Option<String>,
}

impl PedometerParams {
    /// Parses and normalizes `motion.pedometer` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let start = f.instant("startISO")?;
        let end = f.instant("endISO")?;
        check_range(&start, &end, "startISO", "endISO")?;
        Ok(PedometerParams { start_iso: start.map(|(s, _)| s), end_iso: end.map(|(s, _)| s) })
    }
}

/// `motion.pedometer` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PedometerResult {
    /// Range start, ISO-8601.
    #[serde(rename = "startISO")]
    pub start_iso: String,
    /// Range end, ISO-8601.
    #[serde(rename = "endISO")]
    pub end_iso: String,
    /// Steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Distance in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_meters: Option<f64>,
    /// Floors up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors_ascended: Option<u64>,
    /// Floors down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors_descended: Option<u64>,
}

/// `talk.ptt.*` result: `start` returns only `captureId`; `stop`/`cancel`/`once` add
/// `status` and, when recognised, `transcript`. The Gateway rebroadcasts them as `talk.event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TalkPttResult {
    /// The capture.
    pub capture_id: String,
    /// Recognised text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// Capture status (vocabulary not pinned down upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

catalog_command!(MotionActivity, "motion.activity", MotionActivityParams, MotionActivityResult);
catalog_command!(MotionPedometer, "motion.pedometer", PedometerParams, PedometerResult);
catalog_command!(TalkPttStart, "talk.ptt.start", NoParams, TalkPttResult);
catalog_command!(TalkPttStop, "talk.ptt.stop", NoParams, TalkPttResult);
catalog_command!(TalkPttCancel, "talk.ptt.cancel", NoParams, TalkPttResult);
catalog_command!(TalkPttOnce, "talk.ptt.once", NoParams, TalkPttResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::{Android, Ios};
    use serde_json::json;

    #[test]
    fn activity_params() {
        for empty in [Value::Null, json!({})] {
            let p = MotionActivityParams::parse(&empty, Ios).ok();
            assert_eq!(p, Some(MotionActivityParams { start_iso: None, end_iso: None, limit: 200 }));
        }
        let p = MotionActivityParams::parse(&json!({"limit": 0}), Ios).ok();
        assert_eq!(p.map(|p| p.limit), Some(1));
        let p = MotionActivityParams::parse(&json!({"limit": 5000}), Android).ok();
        assert_eq!(p.map(|p| p.limit), Some(1000));
        let p = MotionActivityParams::parse(
            &json!({"startISO": "2026-01-03T00:00:00Z", "endISO": " 2026-01-03T01:00:00+01:00 "}),
            Ios,
        );
        let e = err_msg(p);
        assert_eq!(e, ("INVALID_REQUEST".into(), "endISO must be after startISO".into()));
        let p = MotionActivityParams::parse(
            &json!({"startISO": "2026-01-03T00:00:00Z", "endISO": " 2026-01-03T01:00:00Z "}),
            Ios,
        );
        assert_eq!(p.ok().and_then(|p| p.end_iso), Some("2026-01-03T01:00:00Z".to_owned()));
        let e = err_msg(MotionActivityParams::parse(&json!({"startISO": "yesterday"}), Ios));
        assert_eq!(e.1, "startISO must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z");
        let e = err_msg(MotionActivityParams::parse(&json!({"limit": "10"}), Ios));
        assert_eq!(e.1, "limit must be an integer (got a string)");
    }

    #[test]
    fn pedometer_params() {
        for empty in [Value::Null, json!({})] {
            assert_eq!(
                PedometerParams::parse(&empty, Ios).ok(),
                Some(PedometerParams { start_iso: None, end_iso: None })
            );
        }
        let p = PedometerParams::parse(&json!({"startISO": "2026-01-03T00:00:00Z"}), Ios).ok();
        assert_eq!(p.and_then(|p| p.start_iso), Some("2026-01-03T00:00:00Z".to_owned()));
        let e = err_msg(PedometerParams::parse(&json!({"endISO": 5}), Ios));
        assert_eq!(e.1, "endISO must be a string (got a number)");
    }

    #[test]
    fn results_roundtrip() {
        roundtrip::<MotionActivityResult>(json!({"activities": [{"startISO": "2026-01-03T00:00:00Z",
            "endISO": "2026-01-03T00:00:02Z", "confidence": "high", "isWalking": true, "isRunning": false,
            "isCycling": false, "isAutomotive": false, "isStationary": false, "isUnknown": false}]}));
        roundtrip::<PedometerResult>(json!({"startISO": "2026-01-03T00:00:00Z", "endISO": "2026-01-04T00:00:00Z",
            "steps": 4200, "distanceMeters": 3100.5, "floorsAscended": 3, "floorsDescended": 2}));
        roundtrip::<PedometerResult>(json!({"startISO": "a", "endISO": "b"}));
        roundtrip::<TalkPttResult>(json!({"captureId": "c1"}));
        roundtrip::<TalkPttResult>(json!({"captureId": "c1", "transcript": "hello", "status": "stopped"}));
    }
}
