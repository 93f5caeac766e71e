//! `notifications.list`, `notifications.actions` (commands.md §3.6) and `sms.send`,
//! `sms.search` (§3.12) — Android.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{Fields, clamp_u32, clamp_u64};
use super::vocab::NotificationAction;
use super::{NoParams, PlatformFamily};
use crate::command_error::CommandError;

/// `notifications.list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotificationsList;
/// `notifications.actions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotificationsActions;
/// `sms.send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SmsSend;
/// `sms.search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SmsSearch;

// ---- notifications.* ----

/// A posted notification (texts trimmed to 512 UTF-16 units by the app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecord {
    /// Listener key (pass to `notifications.actions`).
    pub key: String,
    /// Posting app.
    pub package_name: String,
    /// Post time, ms since the epoch.
    pub post_time_ms: i64,
    /// Ongoing (not user-dismissable).
    pub is_ongoing: bool,
    /// Clearable.
    pub is_clearable: bool,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Sub-text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_text: Option<String>,
    /// Category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Channel id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
}

/// `notifications.list` result (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsListResult {
    /// Notification Listener access granted.
    pub enabled: bool,
    /// Listener service connected.
    pub connected: bool,
    /// `notifications.len()`.
    pub count: u64,
    /// The notifications.
    pub notifications: Vec<NotificationRecord>,
}

/// `notifications.actions` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationActionParams {
    /// Notification key (trimmed).
    pub key: String,
    /// What to do.
    pub action: NotificationAction,
    /// Reply text (trimmed); present exactly when `action` is `reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
}

impl NotificationActionParams {
    /// Parses `notifications.actions` params: `INVALID_REQUEST: key required`, `…: action
    /// required`, `…: replyText required for reply action`.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::required(params)?;
        let key = f.text("key")?.ok_or_else(|| CommandError::invalid_request("key required"))?;
        let action = f.token("action")?.ok_or_else(|| CommandError::invalid_request("action required"))?;
        let reply_text = match action {
            NotificationAction::Reply => Some(
                f.text("replyText")?
                    .ok_or_else(|| CommandError::invalid_request("replyText required for reply action"))?,
            ),
            NotificationAction::Open | NotificationAction::Dismiss => None,
        };
        Ok(NotificationActionParams { key, action, reply_text })
    }
}

/// `notifications.actions` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationActionResult {
    /// `true`.
    pub ok: bool,
    /// The notification key.
    pub key: String,
    /// The action performed.
    pub action: NotificationAction,
}

// ---- sms.* ----

/// `sms.send` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSendParams {
    /// Recipient number (trimmed).
    pub to: String,
    /// Text (sent as is; multipart handled by the app).
    pub message: String,
}

impl SmsSendParams {
    /// Parses `sms.send` params: `INVALID_REQUEST: 'to' phone number required`,
    /// `INVALID_REQUEST: 'message' text required` (the Android texts).
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::required(params)?;
        let to = f.text("to")?.ok_or_else(|| CommandError::invalid_request("'to' phone number required"))?;
        let message = f
            .string("message")?
            .filter(|m| !m.is_empty())
            .ok_or_else(|| CommandError::invalid_request("'message' text required"))?;
        Ok(SmsSendParams { to, message: message.to_owned() })
    }
}

/// `sms.send` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSendResult {
    /// `true`.
    pub ok: bool,
    /// The recipient.
    pub to: String,
}

/// `sms.search` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSearchParams {
    /// Earliest message date, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Latest message date, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Contact name filter (needs READ_CONTACTS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// Phone number filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Body keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// Android message type (1 inbox, 2 sent, 3 draft, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<i64>,
    /// Read state filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    /// Default 25, clamp 1..200.
    pub limit: u32,
    /// Default 0 (negative → 0).
    pub offset: u64,
}

impl SmsSearchParams {
    /// Parses and normalizes `sms.search` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        Ok(SmsSearchParams {
            start_time: f.int("startTime")?,
            end_time: f.int("endTime")?,
            contact_name: f.text("contactName")?,
            phone_number: f.text("phoneNumber")?,
            keyword: f.text("keyword")?,
            r#type: f.int("type")?,
            is_read: f.boolean("isRead")?,
            limit: clamp_u32(f.int("limit")?.unwrap_or(25), 1, 200),
            offset: clamp_u64(f.int("offset")?.unwrap_or(0), 0, u64::MAX),
        })
    }
}

/// One SMS of `sms.search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsMessage {
    /// Message id.
    pub id: i64,
    /// Thread id.
    pub thread_id: i64,
    /// Counterpart number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Contact reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Received, ms since the epoch.
    pub date: i64,
    /// Sent, ms since the epoch.
    pub date_sent: i64,
    /// Read.
    pub read: bool,
    /// Android message type.
    pub r#type: i64,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Android delivery status.
    pub status: i64,
}

/// `sms.search` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSearchResult {
    /// `true`.
    pub ok: bool,
    /// `messages.len()`.
    pub count: u64,
    /// The messages.
    pub messages: Vec<SmsMessage>,
}

catalog_command!(NotificationsList, "notifications.list", NoParams, NotificationsListResult);
catalog_command!(NotificationsActions, "notifications.actions", NotificationActionParams, NotificationActionResult);
catalog_command!(SmsSend, "sms.send", SmsSendParams, SmsSendResult);
catalog_command!(SmsSearch, "sms.search", SmsSearchParams, SmsSearchResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::Android;
    use serde_json::json;

    #[test]
    fn notification_actions() {
        let p =
            NotificationActionParams::parse(&json!({"key": " k1 ", "action": "dismiss", "replyText": "x"}), Android);
        assert_eq!(
            p.ok(),
            Some(NotificationActionParams { key: "k1".into(), action: NotificationAction::Dismiss, reply_text: None })
        );
        let p = NotificationActionParams::parse(&json!({"key": "k", "action": "reply", "replyText": " hi "}), Android);
        assert_eq!(p.ok().and_then(|p| p.reply_text), Some("hi".to_owned()));
        let cases = [
            (Value::Null, "paramsJSON required"),
            (json!({}), "key required"),
            (json!({"key": " ", "action": "open"}), "key required"),
            (json!({"key": "k"}), "action required"),
            (json!({"key": "k", "action": "reply"}), "replyText required for reply action"),
            (json!({"key": "k", "action": "reply", "replyText": "  "}), "replyText required for reply action"),
            (json!({"key": "k", "action": "snooze"}), "action must be one of open, dismiss, reply (got \"snooze\")"),
            (json!({"key": 7, "action": "open"}), "key must be a string (got a number)"),
        ];
        for (params, want) in cases {
            let e = err_msg(NotificationActionParams::parse(&params, Android));
            assert_eq!(e, ("INVALID_REQUEST".to_owned(), want.to_owned()), "{params}");
        }
    }

    #[test]
    fn sms_send() {
        let p = SmsSendParams::parse(&json!({"to": " +15555550123 ", "message": " hi "}), Android);
        assert_eq!(p.ok(), Some(SmsSendParams { to: "+15555550123".into(), message: " hi ".into() }));
        let cases = [
            (Value::Null, "paramsJSON required"),
            (json!({}), "'to' phone number required"),
            (json!({"to": "", "message": "x"}), "'to' phone number required"),
            (json!({"to": "+1"}), "'message' text required"),
            (json!({"to": "+1", "message": ""}), "'message' text required"),
            (json!({"to": 15555550123_i64, "message": "x"}), "to must be a string (got a number)"),
        ];
        for (params, want) in cases {
            let e = err_msg(SmsSendParams::parse(&params, Android));
            assert_eq!(e, ("INVALID_REQUEST".to_owned(), want.to_owned()), "{params}");
        }
    }

    #[test]
    fn sms_search() {
        for empty in [Value::Null, json!({})] {
            let p = SmsSearchParams::parse(&empty, Android).ok();
            assert_eq!(p.as_ref().map(|p| (p.limit, p.offset, p.r#type)), Some((25, 0, None)));
            assert_eq!(p.map(|p| serde_json::to_value(p).ok()), Some(Some(json!({"limit": 25, "offset": 0}))));
        }
        let p = SmsSearchParams::parse(
            &json!({"limit": 0, "offset": -4, "type": 2, "isRead": false,
            "keyword": "otp", "startTime": 1.7e12}),
            Android,
        )
        .ok();
        assert_eq!(
            p.map(|p| (p.limit, p.offset, p.r#type, p.is_read, p.keyword, p.start_time)),
            Some((1, 0, Some(2), Some(false), Some("otp".to_owned()), Some(1_700_000_000_000)))
        );
        let p = SmsSearchParams::parse(&json!({"limit": 1000}), Android).ok();
        assert_eq!(p.map(|p| p.limit), Some(200));
        let e = err_msg(SmsSearchParams::parse(&json!({"isRead": "yes"}), Android));
        assert_eq!(e.1, "isRead must be a boolean (got a string)");
    }

    #[test]
    fn results_roundtrip() {
        roundtrip::<NotificationsListResult>(json!({"enabled": true, "connected": true, "count": 1,
            "notifications": [{"key": "0|com.x|1", "packageName": "com.x", "postTimeMs": 1_767_443_696_000_i64,
                "isOngoing": false, "isClearable": true, "title": "Hi", "text": "there", "channelId": "c"}]}));
        roundtrip::<NotificationActionResult>(json!({"ok": true, "key": "k", "action": "reply"}));
        roundtrip::<SmsSendResult>(json!({"ok": true, "to": "+15555550123"}));
        roundtrip::<SmsSearchResult>(json!({"ok": true, "count": 1, "messages": [{"id": 5, "threadId": 2,
            "address": "+1555", "person": "12", "date": 1000, "dateSent": 900, "read": true, "type": 1,
            "body": "code 1234", "status": -1}]}));
    }
}
