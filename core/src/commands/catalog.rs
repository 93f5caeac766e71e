//! The static command table: cap family, foreground rules (commands.md §4), Gateway
//! "dangerous" flag (§1.3) and result size budget (§6) of every catalog command.

use super::budget::{MEDIA_BASE64_MAX, PHOTO_BASE64_MAX, PHOTOS_TOTAL_BASE64_MAX, ResultBudget, SNAP_BASE64_MAX};

/// Which mobile platform rules apply (from the connect `platform`/`deviceFamily`).
///
/// This only picks param defaults/clamps and foreground rules; it is not the Gateway's
/// allowlist classification (commands.md §1.2), which is stricter (e.g. `linux` needs
/// `deviceFamily:"Linux"` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformFamily {
    /// iOS / iPadOS.
    Ios,
    /// Android.
    Android,
    /// Linux (embedded or desktop node).
    Linux,
    /// Anything else (macOS, Windows, watchOS, unknown).
    Other,
}

/// `true` when `text` is `word` or starts with `word` followed by a non-letter (`"iOS 18.4"`,
/// `"android15"`), ASCII case-insensitively.
fn has_word_prefix(text: &str, word: &str) -> bool {
    let text = text.trim().as_bytes();
    text.len() >= word.len()
        && text[..word.len()].eq_ignore_ascii_case(word.as_bytes())
        && text.get(word.len()).is_none_or(|b| !b.is_ascii_alphabetic())
}

impl PlatformFamily {
    /// `"iOS 18.4"`/`"ios"`/`"iPadOS 18"` → `Ios`; `"Android 15"`/`"android"` → `Android`;
    /// `"linux"` → `Linux`; else `Other`. Case-insensitive prefix match. When `platform` is
    /// not recognised, `device_family` `"iPhone"`/`"iPad"` means `Ios`, `"Android"` `Android`
    /// and `"Linux"` `Linux`.
    pub fn classify(platform: &str, device_family: Option<&str>) -> Self {
        Self::from_platform(platform).or_else(|| device_family.and_then(Self::from_family)).unwrap_or(Self::Other)
    }

    fn from_platform(platform: &str) -> Option<Self> {
        if ["ios", "ipados", "iphoneos", "iphone os"].iter().any(|w| has_word_prefix(platform, w)) {
            Some(Self::Ios)
        } else if has_word_prefix(platform, "android") {
            Some(Self::Android)
        } else if has_word_prefix(platform, "linux") {
            Some(Self::Linux)
        } else {
            None
        }
    }

    fn from_family(family: &str) -> Option<Self> {
        if ["iphone", "ipad", "ios", "ipados"].iter().any(|w| has_word_prefix(family, w)) {
            Some(Self::Ios)
        } else if has_word_prefix(family, "android") {
            Some(Self::Android)
        } else if has_word_prefix(family, "linux") {
            Some(Self::Linux)
        } else {
            None
        }
    }
}

/// One catalog command: its cap family (the connect `caps` entry, e.g. `"camera"`,
/// `"location"`, `"talk"`) and policy flags. One static entry per catalog command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command name, e.g. `"camera.snap"`.
    pub name: &'static str,
    /// The cap family it belongs to.
    pub cap: &'static str,
    /// Needs the app in the foreground on iOS (prefixes `camera.`, `screen.`, `talk.`, `canvas.`).
    pub foreground_ios: bool,
    /// Needs the foreground on Android (`camera.list`, `camera.snap`, `camera.clip`).
    pub foreground_android: bool,
    /// The Gateway treats it as dangerous (needs an explicit `gateway.nodes.commands.allow`):
    /// `camera.snap`, `camera.clip`, `screen.record`, `contacts.add`, `calendar.add`,
    /// `reminders.add`, `sms.send`, `sms.search`.
    pub dangerous: bool,
    /// Largest accepted size of the result, see [`check_result_budget`](super::check_result_budget)
    /// (`None` = only `policy.maxPayload`).
    pub result_budget: Option<ResultBudget>,
}

impl CommandSpec {
    /// Whether the command may only run while the app is in the foreground on `platform`
    /// (otherwise the node answers `NODE_BACKGROUND_UNAVAILABLE`). Never on Linux/Other.
    pub fn needs_foreground(&self, platform: PlatformFamily) -> bool {
        match platform {
            PlatformFamily::Ios => self.foreground_ios,
            PlatformFamily::Android => self.foreground_android,
            PlatformFamily::Linux | PlatformFamily::Other => false,
        }
    }
}

const fn cmd(name: &'static str, cap: &'static str) -> CommandSpec {
    CommandSpec { name, cap, foreground_ios: false, foreground_android: false, dangerous: false, result_budget: None }
}

impl CommandSpec {
    const fn fg_ios(mut self) -> Self {
        self.foreground_ios = true;
        self
    }

    const fn fg_android(mut self) -> Self {
        self.foreground_android = true;
        self
    }

    const fn dangerous(mut self) -> Self {
        self.dangerous = true;
        self
    }

    const fn budget(mut self, budget: ResultBudget) -> Self {
        self.result_budget = Some(budget);
        self
    }
}

const MEDIA: ResultBudget = ResultBudget::Base64Field { field: "base64", max: MEDIA_BASE64_MAX };

/// Every catalog command, sorted by name.
///
/// `screen.record` is iOS-only among the mobile apps (Android has none), so it is not
/// foreground-gated on Android.
pub const CATALOG: &[CommandSpec] = &[
    cmd("calendar.add", "calendar").dangerous(),
    cmd("calendar.events", "calendar"),
    cmd("camera.clip", "camera").fg_ios().fg_android().dangerous().budget(MEDIA),
    cmd("camera.list", "camera").fg_ios().fg_android(),
    cmd("camera.snap", "camera")
        .fg_ios()
        .fg_android()
        .dangerous()
        .budget(ResultBudget::Base64Field { field: "base64", max: SNAP_BASE64_MAX }),
    cmd("contacts.add", "contacts").dangerous(),
    cmd("contacts.search", "contacts"),
    cmd("device.health", "device"),
    cmd("device.info", "device"),
    cmd("device.permissions", "device"),
    cmd("device.status", "device"),
    cmd("location.get", "location"),
    cmd("motion.activity", "motion"),
    cmd("motion.pedometer", "motion"),
    cmd("notifications.actions", "notifications"),
    cmd("notifications.list", "notifications"),
    cmd("photos.latest", "photos")
        .budget(ResultBudget::Photos { per_photo: PHOTO_BASE64_MAX, total: PHOTOS_TOTAL_BASE64_MAX }),
    cmd("reminders.add", "reminders").dangerous(),
    cmd("reminders.list", "reminders"),
    cmd("screen.record", "screen").fg_ios().dangerous().budget(MEDIA),
    cmd("sms.search", "sms").dangerous(),
    cmd("sms.send", "sms").dangerous(),
    cmd("system.notify", "system"),
    cmd("talk.ptt.cancel", "talk").fg_ios(),
    cmd("talk.ptt.once", "talk").fg_ios(),
    cmd("talk.ptt.start", "talk").fg_ios(),
    cmd("talk.ptt.stop", "talk").fg_ios(),
];

/// Looks a command up.
pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    CATALOG.binary_search_by(|s| s.name.cmp(name)).ok().and_then(|i| CATALOG.get(i))
}
