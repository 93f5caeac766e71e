//! Cross-cutting tests of the catalog, the dynamic entry points and the budgets, plus the
//! helpers the per-module tests share.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;
use PlatformFamily::{Android, Ios, Linux, Other};

const PLATFORMS: [PlatformFamily; 4] = [Ios, Android, Linux, Other];

/// `(code, message)` of an expected error.
pub(crate) fn err_msg<T: std::fmt::Debug>(r: Result<T, CommandError>) -> (String, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.code().to_owned(), e.message().to_owned()),
    }
}

/// `value` deserializes as `T` and serializes back to exactly `value`.
pub(crate) fn roundtrip<T: Serialize + DeserializeOwned>(value: Value) {
    let typed: T = match serde_json::from_value(value.clone()) {
        Ok(t) => t,
        Err(e) => panic!("{value} does not deserialize: {e}"),
    };
    assert_eq!(serde_json::to_value(&typed).ok(), Some(value));
}

/// Minimal valid params of every catalog command.
fn minimal(name: &str) -> Value {
    match name {
        "calendar.add" => json!({"title": "t", "startISO": "2026-01-03T10:00:00Z", "endISO": "2026-01-03T11:00:00Z"}),
        "contacts.add" => json!({"givenName": "Ada"}),
        "notifications.actions" => json!({"key": "k", "action": "open"}),
        "reminders.add" => json!({"title": "t"}),
        "sms.send" => json!({"to": "+15555550123", "message": "hi"}),
        "system.notify" => json!({"title": "t"}),
        _ => json!({}),
    }
}

const REQUIRED: [&str; 6] =
    ["calendar.add", "contacts.add", "notifications.actions", "reminders.add", "sms.send", "system.notify"];

fn normalize(name: &str, params: &Value, platform: PlatformFamily) -> Value {
    match normalize_params(name, params, platform) {
        Ok(Some(v)) => v,
        other => panic!("{name} {params} on {platform:?}: {other:?}"),
    }
}

#[test]
fn catalog_sorted_unique_and_complete() {
    assert!(CATALOG.windows(2).all(|w| w[0].name < w[1].name), "CATALOG must be sorted and unique");
    assert_eq!(CATALOG.len(), 27);
    for s in CATALOG {
        assert_eq!(spec(s.name), Some(s));
        assert!(s.name.starts_with(s.cap), "{}: cap {}", s.name, s.cap);
    }
    assert_eq!(spec("camera.snap").map(|s| s.cap), Some("camera"));
    assert_eq!(spec("talk.ptt.once").map(|s| s.cap), Some("talk"));
    assert_eq!(spec("system.notify").map(|s| s.cap), Some("system"));
    assert_eq!(spec("canvas.eval"), None);
    assert_eq!(spec(""), None);
}

#[test]
fn every_marker_is_in_the_catalog() {
    let names = [
        CalendarAdd::NAME,
        CalendarEvents::NAME,
        CameraClip::NAME,
        CameraList::NAME,
        CameraSnap::NAME,
        ContactsAdd::NAME,
        ContactsSearch::NAME,
        DeviceHealthCommand::NAME,
        DeviceInfoCommand::NAME,
        DevicePermissionsCommand::NAME,
        DeviceStatusCommand::NAME,
        LocationGet::NAME,
        MotionActivity::NAME,
        MotionPedometer::NAME,
        NotificationsActions::NAME,
        NotificationsList::NAME,
        PhotosLatest::NAME,
        RemindersAdd::NAME,
        RemindersList::NAME,
        ScreenRecord::NAME,
        SmsSearch::NAME,
        SmsSend::NAME,
        SystemNotify::NAME,
        TalkPttCancel::NAME,
        TalkPttOnce::NAME,
        TalkPttStart::NAME,
        TalkPttStop::NAME,
    ];
    let catalog: Vec<&str> = CATALOG.iter().map(|s| s.name).collect();
    assert_eq!(names.to_vec(), catalog);
}

#[test]
fn every_catalog_command_has_a_parse_arm() {
    for s in CATALOG {
        for p in PLATFORMS {
            let v = normalize(s.name, &minimal(s.name), p);
            assert!(v.is_object(), "{}: {v}", s.name);
            let empty = normalize_params(s.name, &json!({}), p);
            if REQUIRED.contains(&s.name) {
                let code = empty.as_ref().err().map(|e| e.code().to_owned());
                let want = if s.name == "contacts.add" { "CONTACTS_INVALID" } else { "INVALID_REQUEST" };
                assert_eq!(code.as_deref(), Some(want), "{}: {empty:?}", s.name);
            } else {
                assert!(matches!(empty, Ok(Some(_))), "{}: {empty:?}", s.name);
                // `null` params mean the same as `{}`.
                assert_eq!(normalize_params(s.name, &Value::Null, p).ok(), empty.ok());
            }
        }
    }
}

#[test]
fn null_params_of_required_commands() {
    for name in ["calendar.add", "contacts.add", "notifications.actions", "reminders.add", "sms.send"] {
        let e = err_msg(normalize_params(name, &Value::Null, Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "paramsJSON required".into()), "{name}");
    }
    let e = err_msg(normalize_params("system.notify", &Value::Null, Ios));
    assert_eq!(e.1, "empty notification");
}

#[test]
fn unknown_names_are_none() {
    for name in ["canvas.eval", "system.run", "camera", "", "CAMERA.SNAP", "device.apps", "callLog.search"] {
        assert_eq!(normalize_params(name, &json!({}), Ios).ok(), Some(None), "{name}");
    }
    assert_eq!(check_result_budget("system.run", &json!({"base64": "x".repeat(10)})).ok(), Some(()));
}

#[test]
fn normalized_defaults() {
    assert_eq!(
        normalize("camera.snap", &Value::Null, Ios),
        json!({"facing": "front", "maxWidth": 1600, "quality": 0.9, "format": "jpg", "delayMs": 0})
    );
    assert_eq!(
        normalize("camera.snap", &json!({"format": "jpeg", "quality": 2, "extra": true}), Android),
        json!({"facing": "front", "maxWidth": 1600, "quality": 1.0, "format": "jpg", "delayMs": 2000})
    );
    assert_eq!(
        normalize("camera.clip", &json!({}), Android),
        json!({"facing": "front", "durationMs": 3000, "includeAudio": true, "format": "mp4"})
    );
    assert_eq!(
        normalize("screen.record", &json!({}), Ios),
        json!({"screenIndex": 0, "durationMs": 10000, "fps": 10.0, "format": "mp4", "includeAudio": true})
    );
    assert_eq!(normalize("location.get", &json!({}), Linux), json!({"timeoutMs": 10000}));
    assert_eq!(
        normalize("system.notify", &json!({"title": "Ping", "body": "Gateway ready"}), Ios),
        json!({"title": "Ping", "body": "Gateway ready", "sound": "default", "priority": "active"})
    );
    assert_eq!(normalize("photos.latest", &json!({}), Android), json!({"limit": 1, "maxWidth": 1600, "quality": 0.85}));
    assert_eq!(normalize("contacts.search", &json!({}), Ios), json!({"limit": 25}));
    assert_eq!(normalize("calendar.events", &json!({}), Ios), json!({"limit": 50}));
    assert_eq!(normalize("reminders.list", &json!({}), Ios), json!({"status": "incomplete", "limit": 50}));
    assert_eq!(normalize("motion.activity", &json!({}), Ios), json!({"limit": 200}));
    assert_eq!(normalize("motion.pedometer", &json!({}), Ios), json!({}));
    assert_eq!(normalize("sms.search", &json!({}), Android), json!({"limit": 25, "offset": 0}));
    for name in ["camera.list", "device.info", "device.status", "device.permissions", "device.health"] {
        assert_eq!(normalize(name, &json!({"ignored": 1}), Android), json!({}), "{name}");
    }
    for name in ["notifications.list", "talk.ptt.start", "talk.ptt.stop", "talk.ptt.cancel", "talk.ptt.once"] {
        assert_eq!(normalize(name, &Value::Null, Ios), json!({}), "{name}");
    }
}

/// Normalizing is idempotent and the output deserializes into the typed params.
#[test]
fn normalize_roundtrips() {
    fn check<C: CatalogCommand>(params: Value) {
        for p in PLATFORMS {
            let typed = match C::parse(&params, p) {
                Ok(t) => t,
                Err(e) => panic!("{} {params}: {e}", C::NAME),
            };
            let once = normalize(C::NAME, &params, p);
            let back: Option<C::Params> = serde_json::from_value(once.clone()).ok();
            assert_eq!(back.as_ref(), Some(&typed), "{} on {p:?}", C::NAME);
            assert_eq!(normalize(C::NAME, &once, p), once, "{} on {p:?} is not idempotent", C::NAME);
        }
    }
    check::<CameraList>(json!({}));
    check::<CameraSnap>(json!({"facing": "back", "maxWidth": 640, "quality": 0.5, "format": "jpeg",
        "delayMs": 500, "deviceId": "cam-1"}));
    check::<CameraClip>(json!({"facing": "back", "durationMs": 90_000, "includeAudio": false, "deviceId": "x"}));
    check::<ScreenRecord>(json!({"durationMs": 5000, "fps": 24.5, "includeAudio": false}));
    check::<LocationGet>(json!({"timeoutMs": 3000, "maxAgeMs": 15000, "desiredAccuracy": "coarse"}));
    check::<SystemNotify>(json!({"title": "T", "body": "B", "sound": "silent", "priority": "passive",
        "delivery": "auto"}));
    check::<DeviceInfoCommand>(json!({}));
    check::<DeviceStatusCommand>(json!({}));
    check::<DevicePermissionsCommand>(json!({}));
    check::<DeviceHealthCommand>(json!({}));
    check::<PhotosLatest>(json!({"limit": 3, "maxWidth": 1024, "quality": 0.7}));
    check::<ContactsSearch>(json!({"query": "ada", "limit": 10}));
    check::<ContactsAdd>(json!({"givenName": "Ada", "familyName": "Lovelace", "phoneNumbers": ["+1"],
        "emails": ["ada@example.com"]}));
    check::<CalendarEvents>(json!({"startISO": "2026-01-03T00:00:00Z", "endISO": "2026-01-10T00:00:00Z",
        "limit": 5}));
    check::<CalendarAdd>(json!({"title": "Lunch", "startISO": "2026-01-03T12:00:00Z",
        "endISO": "2026-01-03T13:00:00Z", "isAllDay": false, "location": "Café", "notes": "n",
        "calendarId": "c", "calendarTitle": "Home"}));
    check::<RemindersList>(json!({"status": "all", "limit": 7}));
    check::<RemindersAdd>(json!({"title": "Milk", "dueISO": "2026-01-03T18:00:00Z", "notes": "2%",
        "listId": "l", "listName": "Groceries"}));
    check::<MotionActivity>(json!({"startISO": "2026-01-03T00:00:00Z", "limit": 10}));
    check::<MotionPedometer>(json!({"endISO": "2026-01-03T00:00:00Z"}));
    check::<NotificationsList>(json!({}));
    check::<NotificationsActions>(json!({"key": "k", "action": "reply", "replyText": "ok"}));
    check::<SmsSend>(json!({"to": "+1", "message": "hi"}));
    check::<SmsSearch>(json!({"startTime": 1, "endTime": 2, "contactName": "Ada", "phoneNumber": "+1",
        "keyword": "k", "type": 1, "isRead": true, "limit": 5, "offset": 10}));
    check::<TalkPttStart>(json!({}));
    check::<TalkPttStop>(json!({}));
    check::<TalkPttCancel>(json!({}));
    check::<TalkPttOnce>(json!({}));
}

#[test]
fn foreground_table() {
    let fg = |name: &str, p: PlatformFamily| spec(name).map(|s| s.needs_foreground(p));
    for name in [
        "camera.list",
        "camera.snap",
        "camera.clip",
        "screen.record",
        "talk.ptt.start",
        "talk.ptt.stop",
        "talk.ptt.cancel",
        "talk.ptt.once",
    ] {
        assert_eq!(fg(name, Ios), Some(true), "{name}");
    }
    for name in ["camera.list", "camera.snap", "camera.clip"] {
        assert_eq!(fg(name, Android), Some(true), "{name}");
    }
    // Android has no screen.record and runs Talk in its foreground service.
    for name in ["screen.record", "talk.ptt.start", "talk.ptt.once", "location.get"] {
        assert_eq!(fg(name, Android), Some(false), "{name}");
    }
    assert_eq!(fg("location.get", Ios), Some(false));
    for s in CATALOG {
        assert!(!s.needs_foreground(Linux) && !s.needs_foreground(Other), "{}", s.name);
        let prefixed = ["camera.", "screen.", "talk.", "canvas."].iter().any(|p| s.name.starts_with(p));
        assert_eq!(s.foreground_ios, prefixed, "{}", s.name);
        assert_eq!(s.foreground_android, s.name.starts_with("camera."), "{}", s.name);
    }
}

#[test]
fn dangerous_flags() {
    let dangerous: Vec<&str> = CATALOG.iter().filter(|s| s.dangerous).map(|s| s.name).collect();
    assert_eq!(
        dangerous,
        [
            "calendar.add",
            "camera.clip",
            "camera.snap",
            "contacts.add",
            "reminders.add",
            "screen.record",
            "sms.search",
            "sms.send"
        ]
    );
}

#[test]
fn classify_table() {
    let cases: [(&str, Option<&str>, PlatformFamily); 20] = [
        ("iOS 18.4", None, Ios),
        ("ios", None, Ios),
        ("iPadOS 18", Some("iPad"), Ios),
        ("IOS", Some("whatever"), Ios),
        ("Android 15 (SDK 35)", Some("Android"), Android),
        ("android", None, Android),
        ("linux", Some("Linux"), Linux),
        ("Linux 6.8", None, Linux),
        ("linux", None, Linux),
        ("macOS 15.1", Some("Mac"), Other),
        ("windows", Some("Windows"), Other),
        ("watchOS 11", Some("Apple Watch"), Other),
        ("", Some("iPhone"), Ios),
        ("", Some("iPad"), Ios),
        ("unknown", Some("Android"), Android),
        ("", Some("Linux"), Linux),
        ("", None, Other),
        ("iosx", None, Other),
        ("androidish", Some("Mac"), Other),
        ("linuxbrew", Some("linux"), Linux),
    ];
    for (platform, family, want) in cases {
        assert_eq!(PlatformFamily::classify(platform, family), want, "{platform:?} {family:?}");
    }
}

fn b64(n: usize) -> Value {
    Value::String("A".repeat(n))
}

#[test]
fn snap_budget_boundary() {
    assert_eq!(
        spec("camera.snap").and_then(|s| s.result_budget),
        Some(ResultBudget::Base64Field { field: "base64", max: 4_999_999 })
    );
    let ok = json!({"format": "jpg", "base64": b64(4_999_999), "width": 1, "height": 1});
    assert!(check_result_budget("camera.snap", &ok).is_ok());
    let big = json!({"format": "jpg", "base64": b64(5_000_000), "width": 1, "height": 1});
    let e = err_msg(check_result_budget("camera.snap", &big));
    assert_eq!(e.0, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        e.1,
        "camera.snap result too large (5000000 bytes of base64 over the 4999999 limit). \
         Reduce maxWidth or quality and retry."
    );
    // The `url` alternative carries no base64.
    assert!(check_result_budget("camera.snap", &json!({"format": "jpg", "url": "https://x"})).is_ok());
}

#[test]
fn media_budget_boundary() {
    for name in ["camera.clip", "screen.record"] {
        let ok = json!({"format": "mp4", "base64": b64(26_148_864)});
        assert!(check_result_budget(name, &ok).is_ok(), "{name}");
        let e = err_msg(check_result_budget(name, &json!({"format": "mp4", "base64": b64(26_148_865)})));
        assert_eq!(e.0, "PAYLOAD_TOO_LARGE");
        assert_eq!(
            e.1,
            format!(
                "{name} result too large (26148865 bytes of base64 over the 26148864 limit). Reduce durationMs and retry."
            )
        );
    }
    assert!(check_result_budget("device.info", &json!({"base64": b64(30_000_000)})).is_ok());
}

#[test]
fn photos_budget_boundaries() {
    let photo = |n| json!({"format": "jpeg", "base64": b64(n), "width": 1, "height": 1});
    let at_limit = json!({"photos": [photo(300 * 1024)]});
    assert!(check_result_budget("photos.latest", &at_limit).is_ok());
    let over = json!({"photos": [photo(1), photo(300 * 1024 + 1)]});
    let e = err_msg(check_result_budget("photos.latest", &over));
    assert_eq!(e.0, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        e.1,
        "photos.latest result too large (photo 1: 307201 bytes of base64 over the 307200 per-photo limit). \
         Reduce limit, maxWidth or quality and retry."
    );
    let total_ok = json!({"photos": [photo(300 * 1024), photo(40 * 1024)]});
    assert!(check_result_budget("photos.latest", &total_ok).is_ok());
    let total_over = json!({"photos": [photo(300 * 1024), photo(40 * 1024 + 1)]});
    let e = err_msg(check_result_budget("photos.latest", &total_over));
    assert_eq!(
        e.1,
        "photos.latest result too large (348161 bytes of base64 over the 348160 total limit). \
         Reduce limit, maxWidth or quality and retry."
    );
    assert!(check_result_budget("photos.latest", &json!({"photos": []})).is_ok());
    assert!(check_result_budget("photos.latest", &json!({})).is_ok());
}

#[test]
fn error_wire_form() {
    let e = match normalize_params("system.notify", &json!({}), Ios) {
        Err(e) => e.to_wire(),
        Ok(v) => panic!("{v:?}"),
    };
    assert_eq!((e.code.as_str(), e.message.as_str()), ("INVALID_REQUEST", "INVALID_REQUEST: empty notification"));
}
