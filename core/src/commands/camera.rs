//! `camera.list`, `camera.snap`, `camera.clip` (commands.md §3.1) and `screen.record` (§3.2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{Fields, clamp_f64, clamp_u32, clamp_u64};
use super::vocab::{CameraFacing, ImageFormat, VideoFormat, Vocabulary};
use super::{NoParams, PlatformFamily};
use crate::command_error::CommandError;

/// `camera.list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CameraList;
/// `camera.snap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CameraSnap;
/// `camera.clip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CameraClip;
/// `screen.record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScreenRecord;

/// One camera of `camera.list` (Linux: id `/dev/videoN`, position `"unknown"`, deviceType `"v4l2"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraDevice {
    /// Pass as `deviceId` to `camera.snap`/`camera.clip`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// `"front"`, `"back"`, `"external"`, `"unknown"`, …
    pub position: String,
    /// Platform device type (`"v4l2"`, AVFoundation type, …).
    pub device_type: String,
}

/// `camera.list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraListResult {
    /// The cameras.
    pub devices: Vec<CameraDevice>,
}

/// `camera.snap` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraSnapParams {
    /// Default `front` (Linux ignores it).
    pub facing: CameraFacing,
    /// Default 1600; a value ≤ 0 means the default.
    pub max_width: u32,
    /// JPEG quality. iOS default 0.9 clamp [0.05, 1]; Android 0.95 clamp [0.1, 1];
    /// Linux/other 0.9 clamp [0.05, 1].
    pub quality: f64,
    /// Always `jpg` (`"jpeg"` accepted).
    pub format: ImageFormat,
    /// Delay before capture. iOS default 0, others 2000; clamp [0, 10000].
    pub delay_ms: u64,
    /// A camera id from `camera.list`; an unknown id must fail, never fall back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl CameraSnapParams {
    /// Parses and normalizes `camera.snap` params.
    pub fn parse(params: &Value, platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let (default_quality, min_quality) = match platform {
            PlatformFamily::Android => (0.95, 0.1),
            _ => (0.9, 0.05),
        };
        let default_delay = if platform == PlatformFamily::Ios { 0 } else { 2000 };
        Ok(CameraSnapParams {
            facing: f.token("facing")?.unwrap_or(CameraFacing::Front),
            max_width: f.int("maxWidth")?.filter(|w| *w > 0).map_or(1600, |w| clamp_u32(w, 1, u32::MAX)),
            quality: clamp_f64(f.number("quality")?.unwrap_or(default_quality), min_quality, 1.0),
            format: f.token("format")?.unwrap_or(ImageFormat::Jpg),
            delay_ms: f.int("delayMs")?.map_or(default_delay, |d| clamp_u64(d, 0, 10_000)),
            device_id: f.text("deviceId")?,
        })
    }
}

/// `camera.snap` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraSnapResult {
    /// `"jpg"` (the Gateway also accepts `"jpeg"`/`"png"`).
    pub format: String,
    /// The image, base64 (< 5 MB).
    pub base64: String,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
}

/// `format` of a video command: only `mp4`, else `INVALID_REQUEST: <what> format must be mp4`.
fn video_format(f: &Fields<'_>, what: &str) -> Result<VideoFormat, CommandError> {
    let bad = || CommandError::invalid_request(format!("{what} format must be mp4"));
    match f.get("format") {
        None => Ok(VideoFormat::Mp4),
        Some(Value::String(s)) => VideoFormat::from_token(s).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// `camera.clip` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraClipParams {
    /// Default `front`.
    pub facing: CameraFacing,
    /// Default 3000; clamp iOS/Linux/other [250, 60000], Android [200, 60000].
    pub duration_ms: u64,
    /// Default `true`.
    pub include_audio: bool,
    /// Always `mp4`.
    pub format: VideoFormat,
    /// A camera id from `camera.list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl CameraClipParams {
    /// Parses and normalizes `camera.clip` params.
    pub fn parse(params: &Value, platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let min_duration = if platform == PlatformFamily::Android { 200 } else { 250 };
        Ok(CameraClipParams {
            facing: f.token("facing")?.unwrap_or(CameraFacing::Front),
            duration_ms: clamp_u64(f.int("durationMs")?.unwrap_or(3000), min_duration, 60_000),
            include_audio: f.boolean("includeAudio")?.unwrap_or(true),
            format: video_format(&f, "clip")?,
            device_id: f.text("deviceId")?,
        })
    }
}

/// `camera.clip` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraClipResult {
    /// `"mp4"`.
    pub format: String,
    /// The video, base64 (≤ 26 148 864 bytes).
    pub base64: String,
    /// Recorded duration.
    pub duration_ms: u64,
    /// Whether an audio track is present.
    pub has_audio: bool,
}

/// `screen.record` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenRecordParams {
    /// Must be 0 (the only screen of a mobile device).
    pub screen_index: u32,
    /// Default 10000, clamp [250, 60000].
    pub duration_ms: u64,
    /// Frames per second: default 10, clamp [1, 30] (may be fractional).
    pub fps: f64,
    /// Always `mp4`, else `INVALID_REQUEST: screen format must be mp4`.
    pub format: VideoFormat,
    /// Default `true`.
    pub include_audio: bool,
}

impl ScreenRecordParams {
    /// Parses and normalizes `screen.record` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        if let Some(index) = f.int("screenIndex")?
            && index != 0
        {
            return Err(CommandError::invalid_request(format!("screenIndex must be 0 (got {index})")));
        }
        Ok(ScreenRecordParams {
            screen_index: 0,
            duration_ms: clamp_u64(f.int("durationMs")?.unwrap_or(10_000), 250, 60_000),
            fps: clamp_f64(f.number("fps")?.unwrap_or(10.0), 1.0, 30.0),
            format: video_format(&f, "screen")?,
            include_audio: f.boolean("includeAudio")?.unwrap_or(true),
        })
    }
}

/// `screen.record` result (the Gateway requires only `format` and `base64`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenRecordResult {
    /// `"mp4"`.
    pub format: String,
    /// The video, base64 (≤ 26 148 864 bytes).
    pub base64: String,
    /// Recorded duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Frame rate used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Screen recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_index: Option<u32>,
    /// Whether an audio track is present.
    #[serde(default)]
    pub has_audio: bool,
}

catalog_command!(CameraList, "camera.list", NoParams, CameraListResult);

catalog_command!(CameraSnap, "camera.snap", CameraSnapParams, CameraSnapResult);
catalog_command!(CameraClip, "camera.clip", CameraClipParams, CameraClipResult);
catalog_command!(ScreenRecord, "screen.record", ScreenRecordParams, ScreenRecordResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::{Android, Ios, Linux, Other};
    use serde_json::json;

    fn snap(v: Value, p: PlatformFamily) -> CameraSnapParams {
        match CameraSnapParams::parse(&v, p) {
            Ok(s) => s,
            Err(e) => panic!("{v} on {p:?}: {e}"),
        }
    }

    fn clip(v: Value, p: PlatformFamily) -> CameraClipParams {
        match CameraClipParams::parse(&v, p) {
            Ok(s) => s,
            Err(e) => panic!("{v} on {p:?}: {e}"),
        }
    }

    fn screen(v: Value) -> ScreenRecordParams {
        match ScreenRecordParams::parse(&v, Ios) {
            Ok(s) => s,
            Err(e) => panic!("{v}: {e}"),
        }
    }

    #[test]
    fn snap_defaults_per_platform() {
        for empty in [Value::Null, json!({})] {
            let ios = snap(empty.clone(), Ios);
            assert_eq!(
                ios,
                CameraSnapParams {
                    facing: CameraFacing::Front,
                    max_width: 1600,
                    quality: 0.9,
                    format: ImageFormat::Jpg,
                    delay_ms: 0,
                    device_id: None
                }
            );
            let android = snap(empty.clone(), Android);
            assert_eq!((android.quality, android.delay_ms), (0.95, 2000));
            let linux = snap(empty.clone(), Linux);
            assert_eq!((linux.quality, linux.delay_ms, linux.max_width), (0.9, 2000, 1600));
            let other = snap(empty, Other);
            assert_eq!((other.quality, other.delay_ms), (0.9, 2000));
        }
    }

    #[test]
    fn snap_clamps() {
        assert_eq!(snap(json!({"quality": 0.0}), Ios).quality, 0.05);
        assert_eq!(snap(json!({"quality": 7}), Ios).quality, 1.0);
        assert_eq!(snap(json!({"quality": 0.01}), Android).quality, 0.1);
        assert_eq!(snap(json!({"quality": 1.5}), Android).quality, 1.0);
        assert_eq!(snap(json!({"quality": -1}), Linux).quality, 0.05);
        assert_eq!(snap(json!({"quality": 0.5}), Linux).quality, 0.5);
        for p in [Ios, Android, Linux, Other] {
            assert_eq!(snap(json!({"delayMs": -5}), p).delay_ms, 0);
            assert_eq!(snap(json!({"delayMs": 99_999}), p).delay_ms, 10_000);
            assert_eq!(snap(json!({"delayMs": 10_000}), p).delay_ms, 10_000);
            assert_eq!(snap(json!({"maxWidth": 0}), p).max_width, 1600);
            assert_eq!(snap(json!({"maxWidth": -3}), p).max_width, 1600);
            assert_eq!(snap(json!({"maxWidth": 800.0}), p).max_width, 800);
        }
    }

    #[test]
    fn snap_fields() {
        let s = snap(json!({"facing": "back", "format": "jpeg", "deviceId": " /dev/video0 ", "x": 1}), Linux);
        assert_eq!(
            (s.facing, s.format, s.device_id.as_deref()),
            (CameraFacing::Back, ImageFormat::Jpg, Some("/dev/video0"))
        );
        assert_eq!(snap(json!({"deviceId": ""}), Ios).device_id, None);
        let e = err_msg(CameraSnapParams::parse(&json!({"format": "png"}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "format must be one of jpg (got \"png\")".into()));
        let e = err_msg(CameraSnapParams::parse(&json!({"facing": "side"}), Ios));
        assert_eq!(e.1, "facing must be one of front, back (got \"side\")");
        let e = err_msg(CameraSnapParams::parse(&json!({"maxWidth": "1600"}), Ios));
        assert_eq!(e.1, "maxWidth must be an integer (got a string)");
        let e = err_msg(CameraSnapParams::parse(&json!({"quality": "high"}), Ios));
        assert_eq!(e.1, "quality must be a number (got a string)");
        let e = err_msg(CameraSnapParams::parse(&json!({"delayMs": 1.5}), Ios));
        assert_eq!(e.1, "delayMs must be an integer (got 1.5)");
        let e = err_msg(CameraSnapParams::parse(&json!("nope"), Ios));
        assert_eq!(e.1, "expected JSON object");
    }

    #[test]
    fn clip_defaults_and_clamps() {
        for p in [Ios, Android, Linux, Other] {
            let c = clip(Value::Null, p);
            assert_eq!(
                c,
                CameraClipParams {
                    facing: CameraFacing::Front,
                    duration_ms: 3000,
                    include_audio: true,
                    format: VideoFormat::Mp4,
                    device_id: None
                }
            );
            assert_eq!(clip(json!({"durationMs": 120_000}), p).duration_ms, 60_000);
            assert_eq!(clip(json!({"durationMs": 60_000}), p).duration_ms, 60_000);
        }
        assert_eq!(clip(json!({"durationMs": 1}), Ios).duration_ms, 250);
        assert_eq!(clip(json!({"durationMs": 1}), Linux).duration_ms, 250);
        assert_eq!(clip(json!({"durationMs": 1}), Other).duration_ms, 250);
        assert_eq!(clip(json!({"durationMs": 1}), Android).duration_ms, 200);
        assert_eq!(clip(json!({"durationMs": 220}), Android).duration_ms, 220);
        assert_eq!(clip(json!({"durationMs": -1}), Android).duration_ms, 200);
        assert!(!clip(json!({"includeAudio": false}), Ios).include_audio);
        assert_eq!(clip(json!({"format": "MP4"}), Ios).format, VideoFormat::Mp4);
        let e = err_msg(CameraClipParams::parse(&json!({"format": "mov"}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "clip format must be mp4".into()));
        let e = err_msg(CameraClipParams::parse(&json!({"includeAudio": "yes"}), Ios));
        assert_eq!(e.1, "includeAudio must be a boolean (got a string)");
    }

    #[test]
    fn screen_record() {
        for empty in [Value::Null, json!({})] {
            assert_eq!(
                screen(empty),
                ScreenRecordParams {
                    screen_index: 0,
                    duration_ms: 10_000,
                    fps: 10.0,
                    format: VideoFormat::Mp4,
                    include_audio: true
                }
            );
        }
        assert_eq!(screen(json!({"durationMs": 10})).duration_ms, 250);
        assert_eq!(screen(json!({"durationMs": 300_000})).duration_ms, 60_000);
        assert_eq!(screen(json!({"fps": 0})).fps, 1.0);
        assert_eq!(screen(json!({"fps": 60})).fps, 30.0);
        assert_eq!(screen(json!({"fps": 12.5})).fps, 12.5);
        assert_eq!(screen(json!({"screenIndex": 0})).screen_index, 0);
        let e = err_msg(ScreenRecordParams::parse(&json!({"screenIndex": 1}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "screenIndex must be 0 (got 1)".into()));
        let e = err_msg(ScreenRecordParams::parse(&json!({"format": "webm"}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "screen format must be mp4".into()));
        let e = err_msg(ScreenRecordParams::parse(&json!({"format": 4}), Ios));
        assert_eq!(e.1, "screen format must be mp4");
    }

    #[test]
    fn results_roundtrip() {
        roundtrip::<CameraListResult>(json!({"devices": [
            {"id": "/dev/video0", "name": "USB Camera", "position": "unknown", "deviceType": "v4l2"}]}));
        roundtrip::<CameraSnapResult>(json!({"format": "jpg", "base64": "AAAA", "width": 1600, "height": 1200}));
        roundtrip::<CameraClipResult>(json!({"format": "mp4", "base64": "AAAA", "durationMs": 3000, "hasAudio": true}));
        roundtrip::<ScreenRecordResult>(json!({"format": "mp4", "base64": "AAAA", "durationMs": 10000,
            "fps": 10.0, "screenIndex": 0, "hasAudio": true}));
        roundtrip::<ScreenRecordResult>(json!({"format": "mp4", "base64": "AAAA", "hasAudio": false}));
    }
}
