//! `calendar.*` (commands.md §3.9) and `reminders.*` (§3.10).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PlatformFamily;
use super::params::{Fields, check_range, clamp_u32, parse_instant_ms};
use super::vocab::ReminderStatus;
use crate::command_error::CommandError;

/// `calendar.events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CalendarEvents;
/// `calendar.add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CalendarAdd;
/// `reminders.list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemindersList;
/// `reminders.add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemindersAdd;

// ---- calendar.* ----

/// `calendar.events` params. An absent bound means the platform default window (now → +7 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEventsParams {
    /// Window start, RFC 3339.
    #[serde(rename = "startISO", default, skip_serializing_if = "Option::is_none")]
    pub start_iso: Option<String>,
    /// Window end, RFC 3339 (after `startISO`).
    #[serde(rename = "endISO", default, skip_serializing_if = "Option::is_none")]
    pub end_iso: Option<String>,
    /// Default 50, clamp 1..500.
    pub limit: u32,
}

impl CalendarEventsParams {
    /// Parses and normalizes `calendar.events` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let start = f.instant("startISO")?;
        let end = f.instant("endISO")?;
        check_range(&start, &end, "startISO", "endISO")?;
        Ok(CalendarEventsParams {
            start_iso: start.map(|(s, _)| s),
            end_iso: end.map(|(s, _)| s),
            limit: clamp_u32(f.int("limit")?.unwrap_or(50), 1, 500),
        })
    }
}

/// A calendar event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEvent {
    /// Platform event id.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Start, ISO-8601.
    #[serde(rename = "startISO")]
    pub start_iso: String,
    /// End, ISO-8601.
    #[serde(rename = "endISO")]
    pub end_iso: String,
    /// All-day event.
    pub is_all_day: bool,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Calendar name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_title: Option<String>,
}

/// `calendar.events` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEventsResult {
    /// Events in the window.
    pub events: Vec<CalendarEvent>,
}

/// `calendar.add` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarAddParams {
    /// Title (trimmed, non-empty).
    pub title: String,
    /// Start, RFC 3339.
    #[serde(rename = "startISO")]
    pub start_iso: String,
    /// End, RFC 3339, after the start.
    #[serde(rename = "endISO")]
    pub end_iso: String,
    /// Default `false`.
    pub is_all_day: bool,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Target calendar id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<String>,
    /// Target calendar by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_title: Option<String>,
}

fn calendar_invalid(message: &str) -> CommandError {
    CommandError::new("CALENDAR_INVALID", message)
}

/// A required string field: absent/`null` ⇒ `INVALID_REQUEST: <key> required`.
fn required_string<'a>(f: &Fields<'a>, key: &str) -> Result<&'a str, CommandError> {
    f.string(key)?.ok_or_else(|| CommandError::invalid_request(format!("{key} required")))
}

impl CalendarAddParams {
    /// Parses `calendar.add` params. Absent `title`/`startISO`/`endISO` (or `null` params) ⇒
    /// `INVALID_REQUEST: <key> required`; a blank title, a malformed date or end ≤ start ⇒
    /// `CALENDAR_INVALID`.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::required(params)?;
        let title = required_string(&f, "title")?.trim();
        let start_iso = required_string(&f, "startISO")?.trim();
        let end_iso = required_string(&f, "endISO")?.trim();
        if title.is_empty() {
            return Err(calendar_invalid("title required"));
        }
        let start = parse_instant_ms(start_iso)
            .ok_or_else(|| calendar_invalid("startISO must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z"))?;
        let end = parse_instant_ms(end_iso)
            .ok_or_else(|| calendar_invalid("endISO must be an ISO-8601 date-time such as 2026-01-03T13:34:56Z"))?;
        if end <= start {
            return Err(calendar_invalid("endISO must be after startISO"));
        }
        Ok(CalendarAddParams {
            title: title.to_owned(),
            start_iso: start_iso.to_owned(),
            end_iso: end_iso.to_owned(),
            is_all_day: f.boolean("isAllDay")?.unwrap_or(false),
            location: f.text("location")?,
            notes: f.text("notes")?,
            calendar_id: f.text("calendarId")?,
            calendar_title: f.text("calendarTitle")?,
        })
    }
}

/// `calendar.add` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarAddResult {
    /// The stored event.
    pub event: CalendarEvent,
}

// ---- reminders.* ----

/// `reminders.list` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemindersListParams {
    /// Default `incomplete`.
    pub status: ReminderStatus,
    /// Default 50, clamp 1..500 (iOS).
    pub limit: u32,
}

impl RemindersListParams {
    /// Parses and normalizes `reminders.list` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        Ok(RemindersListParams {
            status: f.token("status")?.unwrap_or(ReminderStatus::Incomplete),
            limit: clamp_u32(f.int("limit")?.unwrap_or(50), 1, 500),
        })
    }
}

/// A reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    /// Platform reminder id.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Due date, ISO-8601.
    #[serde(rename = "dueISO", default, skip_serializing_if = "Option::is_none")]
    pub due_iso: Option<String>,
    /// Completed.
    pub completed: bool,
    /// List name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_name: Option<String>,
}

/// `reminders.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemindersListResult {
    /// The reminders.
    pub reminders: Vec<Reminder>,
}

/// `reminders.add` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemindersAddParams {
    /// Title (trimmed, non-empty).
    pub title: String,
    /// Due date, RFC 3339.
    #[serde(rename = "dueISO", default, skip_serializing_if = "Option::is_none")]
    pub due_iso: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Target list id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// Target list by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_name: Option<String>,
}

impl RemindersAddParams {
    /// Parses `reminders.add` params: a missing or blank title ⇒ `INVALID_REQUEST: title required`.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::required(params)?;
        let title = f.text("title")?.ok_or_else(|| CommandError::invalid_request("title required"))?;
        Ok(RemindersAddParams {
            title,
            due_iso: f.instant("dueISO")?.map(|(s, _)| s),
            notes: f.text("notes")?,
            list_id: f.text("listId")?,
            list_name: f.text("listName")?,
        })
    }
}

/// `reminders.add` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemindersAddResult {
    /// The stored reminder.
    pub reminder: Reminder,
}

catalog_command!(CalendarEvents, "calendar.events", CalendarEventsParams, CalendarEventsResult);
catalog_command!(CalendarAdd, "calendar.add", CalendarAddParams, CalendarAddResult);
catalog_command!(RemindersList, "reminders.list", RemindersListParams, RemindersListResult);
catalog_command!(RemindersAdd, "reminders.add", RemindersAddParams, RemindersAddResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::{Android, Ios};
    use serde_json::json;

    const START: &str = "2026-01-03T12:00:00Z";
    const END: &str = "2026-01-03T13:00:00Z";

    #[test]
    fn events_params() {
        for empty in [Value::Null, json!({})] {
            let p = CalendarEventsParams::parse(&empty, Ios).ok();
            assert_eq!(p, Some(CalendarEventsParams { start_iso: None, end_iso: None, limit: 50 }));
        }
        let p = CalendarEventsParams::parse(&json!({"limit": 0}), Ios).ok();
        assert_eq!(p.map(|p| p.limit), Some(1));
        let p = CalendarEventsParams::parse(&json!({"limit": 501}), Android).ok();
        assert_eq!(p.map(|p| p.limit), Some(500));
        let p = CalendarEventsParams::parse(&json!({"startISO": START, "endISO": END}), Ios).ok();
        assert_eq!(p.and_then(|p| p.start_iso), Some(START.to_owned()));
        let e = err_msg(CalendarEventsParams::parse(&json!({"startISO": END, "endISO": START}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "endISO must be after startISO".into()));
        let e = err_msg(CalendarEventsParams::parse(&json!({"endISO": "next week"}), Ios));
        assert_eq!(e.1, "endISO must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z");
    }

    #[test]
    fn add_params() {
        let p = CalendarAddParams::parse(&json!({"title": " Lunch ", "startISO": START, "endISO": END}), Ios);
        assert_eq!(
            p.ok(),
            Some(CalendarAddParams {
                title: "Lunch".into(),
                start_iso: START.into(),
                end_iso: END.into(),
                is_all_day: false,
                location: None,
                notes: None,
                calendar_id: None,
                calendar_title: None
            })
        );
        let cases = [
            (Value::Null, "INVALID_REQUEST", "paramsJSON required"),
            (json!({}), "INVALID_REQUEST", "title required"),
            (json!({"title": "t", "endISO": END}), "INVALID_REQUEST", "startISO required"),
            (json!({"title": "t", "startISO": START}), "INVALID_REQUEST", "endISO required"),
            (
                json!({"title": 1, "startISO": START, "endISO": END}),
                "INVALID_REQUEST",
                "title must be a string (got a number)",
            ),
            (json!({"title": " ", "startISO": START, "endISO": END}), "CALENDAR_INVALID", "title required"),
            (
                json!({"title": "t", "startISO": START, "endISO": START}),
                "CALENDAR_INVALID",
                "endISO must be after startISO",
            ),
            (
                json!({"title": "t", "startISO": "noon", "endISO": END}),
                "CALENDAR_INVALID",
                "startISO must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z",
            ),
            (
                json!({"title": "t", "startISO": START, "endISO": "2026-01-03"}),
                "CALENDAR_INVALID",
                "endISO must be an ISO-8601 date-time such as 2026-01-03T13:34:56Z",
            ),
            (
                json!({"title": "t", "startISO": START, "endISO": END, "isAllDay": "no"}),
                "INVALID_REQUEST",
                "isAllDay must be a boolean (got a string)",
            ),
        ];
        for (params, code, msg) in cases {
            assert_eq!(err_msg(CalendarAddParams::parse(&params, Ios)), (code.to_owned(), msg.to_owned()), "{params}");
        }
    }

    #[test]
    fn reminders_params() {
        for empty in [Value::Null, json!({})] {
            let p = RemindersListParams::parse(&empty, Ios).ok();
            assert_eq!(p, Some(RemindersListParams { status: ReminderStatus::Incomplete, limit: 50 }));
        }
        let p = RemindersListParams::parse(&json!({"status": "completed", "limit": 0}), Ios).ok();
        assert_eq!(p, Some(RemindersListParams { status: ReminderStatus::Completed, limit: 1 }));
        let p = RemindersListParams::parse(&json!({"status": "ALL", "limit": 1000}), Ios).ok();
        assert_eq!(p, Some(RemindersListParams { status: ReminderStatus::All, limit: 500 }));
        let e = err_msg(RemindersListParams::parse(&json!({"status": "open"}), Ios));
        assert_eq!(e.1, "status must be one of incomplete, completed, all (got \"open\")");

        let p = RemindersAddParams::parse(&json!({"title": " Milk ", "dueISO": START}), Ios).ok();
        assert_eq!(p.map(|p| (p.title, p.due_iso)), Some(("Milk".to_owned(), Some(START.to_owned()))));
        for (params, msg) in [
            (Value::Null, "paramsJSON required"),
            (json!({}), "title required"),
            (json!({"title": "  "}), "title required"),
            (
                json!({"title": "t", "dueISO": "tomorrow"}),
                "dueISO must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z",
            ),
        ] {
            let e = err_msg(RemindersAddParams::parse(&params, Ios));
            assert_eq!(e, ("INVALID_REQUEST".to_owned(), msg.to_owned()), "{params}");
        }
    }

    #[test]
    fn results_roundtrip() {
        let event = json!({"identifier": "e1", "title": "Lunch", "startISO": START, "endISO": END,
            "isAllDay": false, "location": "Café", "calendarTitle": "Home"});
        roundtrip::<CalendarEventsResult>(json!({"events": [event.clone(),
            {"identifier": "e2", "title": "Day", "startISO": START, "endISO": END, "isAllDay": true}]}));
        roundtrip::<CalendarAddResult>(json!({"event": event}));
        let reminder = json!({"identifier": "r1", "title": "Milk", "dueISO": START, "completed": false,
            "listName": "Groceries"});
        roundtrip::<RemindersListResult>(json!({"reminders": [reminder.clone(),
            {"identifier": "r2", "title": "x", "completed": true}]}));
        roundtrip::<RemindersAddResult>(json!({"reminder": reminder}));
    }
}
