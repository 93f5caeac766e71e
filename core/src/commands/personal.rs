//! `photos.latest` (commands.md §3.7) and `contacts.*` (§3.8).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PlatformFamily;
use super::params::{Fields, clamp_f64, clamp_u32};
use crate::command_error::CommandError;

/// `photos.latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhotosLatest;
/// `contacts.search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactsSearch;
/// `contacts.add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactsAdd;

// ---- photos.latest ----

/// `photos.latest` params, defaults and clamps applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotosLatestParams {
    /// Number of photos: default 1, clamp 1..20.
    pub limit: u32,
    /// Default 1600; Android clamp 240..4096; elsewhere a value ≤ 0 means the default.
    pub max_width: u32,
    /// JPEG quality: default 0.85; Android clamp [0.1, 1], elsewhere [0.05, 1].
    pub quality: f64,
}

impl PhotosLatestParams {
    /// Parses and normalizes `photos.latest` params.
    pub fn parse(params: &Value, platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        let android = platform == PlatformFamily::Android;
        let max_width = match f.int("maxWidth")? {
            Some(w) if android => clamp_u32(w, 240, 4096),
            Some(w) if w > 0 => clamp_u32(w, 1, u32::MAX),
            _ => 1600,
        };
        let min_quality = if android { 0.1 } else { 0.05 };
        Ok(PhotosLatestParams {
            limit: clamp_u32(f.int("limit")?.unwrap_or(1), 1, 20),
            max_width,
            quality: clamp_f64(f.number("quality")?.unwrap_or(0.85), min_quality, 1.0),
        })
    }
}

/// One photo of `photos.latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    /// `"jpeg"`.
    pub format: String,
    /// The image, base64 (≤ 300 Ki chars).
    pub base64: String,
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// ISO-8601 creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// `photos.latest` result (newest first; ≤ 340 Ki base64 chars in total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotosLatestResult {
    /// The photos.
    pub photos: Vec<Photo>,
}

// ---- contacts.* ----

/// `contacts.search` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactsSearchParams {
    /// Name/phone/email filter (trimmed; blank = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Default 25, clamp 1..200.
    pub limit: u32,
}

impl ContactsSearchParams {
    /// Parses and normalizes `contacts.search` params.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::new(params)?;
        Ok(ContactsSearchParams { query: f.text("query")?, limit: clamp_u32(f.int("limit")?.unwrap_or(25), 1, 200) })
    }
}

/// A contact as `contacts.search` / `contacts.add` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    /// Platform contact id.
    pub identifier: String,
    /// Full display name.
    pub display_name: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Organization.
    pub organization_name: String,
    /// Phone numbers.
    pub phone_numbers: Vec<String>,
    /// Email addresses.
    pub emails: Vec<String>,
}

/// `contacts.search` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactsSearchResult {
    /// Matches.
    pub contacts: Vec<ContactRecord>,
}

/// `contacts.add` params: every field optional, but something usable is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactsAddParams {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Phone numbers (trimmed, blanks dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    /// Email addresses (trimmed, blanks dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

impl ContactsAddParams {
    /// Parses `contacts.add` params. Nothing usable (no name, organization, phone or email) ⇒
    /// `CONTACTS_INVALID: contact needs a name, organization, phone number or email`.
    pub fn parse(params: &Value, _platform: PlatformFamily) -> Result<Self, CommandError> {
        let f = Fields::required(params)?;
        let p = ContactsAddParams {
            given_name: f.text("givenName")?,
            family_name: f.text("familyName")?,
            organization_name: f.text("organizationName")?,
            display_name: f.text("displayName")?,
            phone_numbers: f.strings("phoneNumbers")?,
            emails: f.strings("emails")?,
        };
        let usable = p.given_name.is_some()
            || p.family_name.is_some()
            || p.organization_name.is_some()
            || p.display_name.is_some()
            || !p.phone_numbers.is_empty()
            || !p.emails.is_empty();
        if !usable {
            return Err(CommandError::new(
                "CONTACTS_INVALID",
                "contact needs a name, organization, phone number or email",
            ));
        }
        Ok(p)
    }
}

/// `contacts.add` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactsAddResult {
    /// The stored contact.
    pub contact: ContactRecord,
}

catalog_command!(PhotosLatest, "photos.latest", PhotosLatestParams, PhotosLatestResult);
catalog_command!(ContactsSearch, "contacts.search", ContactsSearchParams, ContactsSearchResult);
catalog_command!(ContactsAdd, "contacts.add", ContactsAddParams, ContactsAddResult);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::{err_msg, roundtrip};
    use PlatformFamily::{Android, Ios, Linux, Other};
    use serde_json::json;

    fn photos(v: Value, p: PlatformFamily) -> PhotosLatestParams {
        match PhotosLatestParams::parse(&v, p) {
            Ok(x) => x,
            Err(e) => panic!("{v} on {p:?}: {e}"),
        }
    }

    #[test]
    fn photos_defaults_and_clamps() {
        for p in [Ios, Android, Linux, Other] {
            for empty in [Value::Null, json!({})] {
                assert_eq!(photos(empty, p), PhotosLatestParams { limit: 1, max_width: 1600, quality: 0.85 });
            }
            assert_eq!(photos(json!({"limit": 0}), p).limit, 1);
            assert_eq!(photos(json!({"limit": 20}), p).limit, 20);
            assert_eq!(photos(json!({"limit": 21}), p).limit, 20);
            assert_eq!(photos(json!({"quality": 1.01}), p).quality, 1.0);
        }
        assert_eq!(photos(json!({"maxWidth": 10}), Android).max_width, 240);
        assert_eq!(photos(json!({"maxWidth": -10}), Android).max_width, 240);
        assert_eq!(photos(json!({"maxWidth": 9000}), Android).max_width, 4096);
        assert_eq!(photos(json!({"maxWidth": 4096}), Android).max_width, 4096);
        assert_eq!(photos(json!({"maxWidth": 10}), Ios).max_width, 10);
        assert_eq!(photos(json!({"maxWidth": 0}), Ios).max_width, 1600);
        assert_eq!(photos(json!({"maxWidth": 9000}), Ios).max_width, 9000);
        assert_eq!(photos(json!({"quality": 0.0}), Android).quality, 0.1);
        assert_eq!(photos(json!({"quality": 0.0}), Ios).quality, 0.05);
        let e = err_msg(PhotosLatestParams::parse(&json!({"limit": 2.5}), Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "limit must be an integer (got 2.5)".into()));
        let e = err_msg(PhotosLatestParams::parse(&json!({"quality": "0.5"}), Ios));
        assert_eq!(e.1, "quality must be a number (got a string)");
    }

    #[test]
    fn contacts_search() {
        for empty in [Value::Null, json!({})] {
            let p = ContactsSearchParams::parse(&empty, Ios).ok();
            assert_eq!(p, Some(ContactsSearchParams { query: None, limit: 25 }));
        }
        let p = ContactsSearchParams::parse(&json!({"query": " ada ", "limit": 0}), Android).ok();
        assert_eq!(p, Some(ContactsSearchParams { query: Some("ada".into()), limit: 1 }));
        let p = ContactsSearchParams::parse(&json!({"query": "", "limit": 201}), Android).ok();
        assert_eq!(p, Some(ContactsSearchParams { query: None, limit: 200 }));
        let e = err_msg(ContactsSearchParams::parse(&json!({"query": ["a"]}), Ios));
        assert_eq!(e.1, "query must be a string (got an array)");
    }

    #[test]
    fn contacts_add() {
        let p = ContactsAddParams::parse(&json!({"phoneNumbers": [" +1 555 ", ""], "emails": []}), Ios).ok();
        assert_eq!(p.map(|p| (p.phone_numbers, p.given_name)), Some((vec!["+1 555".to_owned()], None)));
        for nothing in [json!({}), json!({"givenName": " ", "phoneNumbers": [""], "emails": [null]})] {
            let e = err_msg(ContactsAddParams::parse(&nothing, Ios));
            assert_eq!(
                e,
                ("CONTACTS_INVALID".into(), "contact needs a name, organization, phone number or email".into())
            );
        }
        let e = err_msg(ContactsAddParams::parse(&Value::Null, Ios));
        assert_eq!(e, ("INVALID_REQUEST".into(), "paramsJSON required".into()));
        let e = err_msg(ContactsAddParams::parse(&json!({"emails": "a@b"}), Ios));
        assert_eq!(e.1, "emails must be an array of strings (got a string)");
        let e = err_msg(ContactsAddParams::parse(&json!({"emails": [1]}), Ios));
        assert_eq!(e.1, "emails must be an array of strings (got a number)");
    }

    #[test]
    fn results_roundtrip() {
        roundtrip::<PhotosLatestResult>(json!({"photos": [
            {"format": "jpeg", "base64": "AAAA", "width": 1600, "height": 1200, "createdAt": "2026-01-03T12:00:00Z"},
            {"format": "jpeg", "base64": "BBBB", "width": 10, "height": 10}]}));
        let contact = json!({"identifier": "c1", "displayName": "Ada Lovelace", "givenName": "Ada",
            "familyName": "Lovelace", "organizationName": "", "phoneNumbers": ["+1"], "emails": []});
        roundtrip::<ContactsSearchResult>(json!({"contacts": [contact.clone()]}));
        roundtrip::<ContactsAddResult>(json!({"contact": contact}));
    }
}
