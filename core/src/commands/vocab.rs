//! Closed vocabularies of command params (`facing`, `format`, `desiredAccuracy`, …).
//!
//! Each enum serializes as its canonical spec token and parses tokens case-insensitively,
//! with aliases (`"jpeg"` → [`ImageFormat::Jpg`]). Unknown tokens are rejected.

/// A closed set of string tokens.
pub trait Vocabulary: Sized + Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The canonical wire token.
    fn as_str(self) -> &'static str;
    /// Parses a token: trimmed, ASCII case-insensitive, aliases accepted.
    fn from_token(token: &str) -> Option<Self>;
    /// The canonical tokens joined for error messages (`"front, back"`).
    fn expected() -> String {
        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
    }
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl Vocabulary for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $canon),+
                }
            }

            fn from_token(token: &str) -> Option<Self> {
                let token = token.trim();
                $(
                    if token.eq_ignore_ascii_case($canon) $(|| token.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let token = <String as serde::Deserialize>::deserialize(deserializer)?;
                <$name as Vocabulary>::from_token(&token).ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom(format!(
                        "unknown {} {:?}, expected one of {}",
                        stringify!($name),
                        token,
                        <$name as Vocabulary>::expected()
                    ))
                })
            }
        }
    };
}

vocabulary! {
    /// `camera.snap` / `camera.clip` `facing`.
    pub enum CameraFacing {
        /// The front (selfie) camera.
        Front = "front",
        /// The back camera.
        Back = "back",
    }
}

vocabulary! {
    /// `camera.snap` `format`: only JPEG; `"jpeg"` is accepted as an alias and normalized to `"jpg"`.
    pub enum ImageFormat {
        /// JPEG.
        Jpg = "jpg" | "jpeg",
    }
}

vocabulary! {
    /// `camera.clip` / `screen.record` `format`: only MP4.
    pub enum VideoFormat {
        /// MPEG-4.
        Mp4 = "mp4",
    }
}

vocabulary! {
    /// `location.get` `desiredAccuracy`.
    pub enum DesiredAccuracy {
        /// City-level (Android 2 km grid; GeoClue level 4).
        Coarse = "coarse",
        /// Block-level (GeoClue level 6).
        Balanced = "balanced",
        /// Best available (GeoClue level 8).
        Precise = "precise",
    }
}

vocabulary! {
    /// `system.notify` `priority` (Android maps it to the `openclaw.system.notify.*` channels).
    pub enum NotifyPriority {
        /// Shown without interrupting.
        Passive = "passive",
        /// The platform's normal level.
        Active = "active",
        /// Breaks through focus modes. Also accepts `timesensitive`, `time-sensitive`, `time_sensitive`.
        TimeSensitive = "timeSensitive" | "time-sensitive" | "time_sensitive",
    }
}

vocabulary! {
    /// `system.notify` `delivery` (macOS only; other platforms ignore it).
    pub enum NotifyDelivery {
        /// A system notification.
        System = "system",
        /// An in-app overlay.
        Overlay = "overlay",
        /// Let the app decide.
        Auto = "auto",
    }
}

vocabulary! {
    /// `reminders.list` `status` filter.
    pub enum ReminderStatus {
        /// Open reminders only (the default).
        Incomplete = "incomplete",
        /// Completed reminders only.
        Completed = "completed",
        /// Both.
        All = "all",
    }
}

vocabulary! {
    /// `notifications.actions` `action`.
    pub enum NotificationAction {
        /// Fire the notification's content intent.
        Open = "open",
        /// Dismiss it (needs a clearable notification).
        Dismiss = "dismiss",
        /// Send `replyText` through its remote-input action.
        Reply = "reply",
    }
}

/// `system.notify` `sound`: whether the notification plays a sound.
///
/// Parsing is lenient like the apps: `"none"`, `"silent"`, `"off"`, `"false"`, `"0"`, `false` and `0`
/// mean [`NotifySound::Silent`]; any other string (a sound name), `true` or a non-zero number
/// means [`NotifySound::Default`]. Serializes as `"default"` / `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NotifySound {
    /// The platform's default notification sound.
    #[default]
    Default,
    /// No sound.
    Silent,
}

impl NotifySound {
    /// The canonical wire token (`"default"` or `"none"`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotifySound::Default => "default",
            NotifySound::Silent => "none",
        }
    }

    /// Interprets a string token (never fails: unknown names are a default sound).
    pub fn from_token(token: &str) -> Self {
        let token = token.trim();
        if ["none", "silent", "off", "false", "0"].iter().any(|s| token.eq_ignore_ascii_case(s)) {
            NotifySound::Silent
        } else {
            NotifySound::Default
        }
    }

    /// Interprets a JSON value; `None` when it is neither a string, a bool nor a number.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Some(Self::from_token(s)),
            serde_json::Value::Bool(b) => Some(if *b { NotifySound::Default } else { NotifySound::Silent }),
            serde_json::Value::Number(n) => {
                Some(if n.as_f64() == Some(0.0) { NotifySound::Silent } else { NotifySound::Default })
            }
            _ => None,
        }
    }
}

impl serde::Serialize for NotifySound {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for NotifySound {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
        NotifySound::from_json(&value)
            .ok_or_else(|| <D::Error as serde::de::Error>::custom("sound must be a string, bool or number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_and_aliases() {
        assert_eq!(ImageFormat::from_token("jpeg"), Some(ImageFormat::Jpg));
        assert_eq!(ImageFormat::from_token(" JPG "), Some(ImageFormat::Jpg));
        assert_eq!(ImageFormat::from_token("png"), None);
        assert_eq!(NotifyPriority::from_token("timesensitive"), Some(NotifyPriority::TimeSensitive));
        assert_eq!(NotifyPriority::from_token("time-sensitive"), Some(NotifyPriority::TimeSensitive));
        assert_eq!(CameraFacing::from_token("BACK"), Some(CameraFacing::Back));
        assert_eq!(CameraFacing::expected(), "front, back");
        assert_eq!(NotificationAction::ALL.len(), 3);
    }

    #[test]
    fn serde_uses_canonical_tokens() {
        assert_eq!(serde_json::to_value(ImageFormat::Jpg).ok(), Some(json!("jpg")));
        assert_eq!(serde_json::from_value::<ImageFormat>(json!("jpeg")).ok(), Some(ImageFormat::Jpg));
        assert!(serde_json::from_value::<ImageFormat>(json!("gif")).is_err());
        assert_eq!(serde_json::to_value(NotifyPriority::TimeSensitive).ok(), Some(json!("timeSensitive")));
        assert_eq!(NotifyPriority::Passive.to_string(), "passive");
        for r in ReminderStatus::ALL {
            let v = serde_json::to_value(r).ok();
            assert_eq!(v.and_then(|v| serde_json::from_value::<ReminderStatus>(v).ok()), Some(*r));
        }
    }

    #[test]
    fn notify_sound() {
        for silent in [json!("none"), json!("Silent"), json!("off"), json!("false"), json!("0"), json!(false), json!(0)]
        {
            assert_eq!(NotifySound::from_json(&silent), Some(NotifySound::Silent), "{silent}");
        }
        for loud in [json!("default"), json!("chime"), json!(true), json!(1)] {
            assert_eq!(NotifySound::from_json(&loud), Some(NotifySound::Default), "{loud}");
        }
        assert_eq!(NotifySound::from_json(&json!([])), None);
        assert_eq!(serde_json::to_value(NotifySound::Silent).ok(), Some(json!("none")));
        assert_eq!(serde_json::from_value::<NotifySound>(json!("none")).ok(), Some(NotifySound::Silent));
    }
}
