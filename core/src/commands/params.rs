//! Field extraction for command params: typed getters that name the field in their
//! `INVALID_REQUEST` errors, clamps, and an RFC 3339 instant parser.
//!
//! Rules shared by every command: params are a JSON object or `null`/absent (= no fields);
//! a `null` field counts as absent; unknown keys are ignored; a number field rejects strings;
//! an integer field accepts integral floats (`3000.0`) and rejects `2.5`; out-of-range numbers
//! are clamped by the caller, never rejected.

use serde_json::{Map, Value};

use super::vocab::Vocabulary;
use crate::command_error::CommandError;

/// The fields of one params object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(key: &str, expected: &str, got: &Value) -> CommandError {
    CommandError::invalid_request(format!("{key} must be {expected} (got {})", kind(got)))
}

impl<'a> Fields<'a> {
    /// `null` → no fields; an object → its fields; anything else → `INVALID_REQUEST: expected JSON object`.
    pub(crate) fn new(params: &'a Value) -> Result<Self, CommandError> {
        match params {
            Value::Null => Ok(Fields { map: None }),
            Value::Object(map) => Ok(Fields { map: Some(map) }),
            _ => Err(CommandError::invalid_request("expected JSON object")),
        }
    }

    /// Like [`Fields::new`] but `null` is `INVALID_REQUEST: paramsJSON required` (commands with
    /// required fields, commands.md §8.5).
    pub(crate) fn required(params: &'a Value) -> Result<Self, CommandError> {
        if params.is_null() {
            return Err(CommandError::invalid_request("paramsJSON required"));
        }
        Self::new(params)
    }

    /// The raw value, `None` when absent or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A string field, untouched.
    pub(crate) fn string(&self, key: &str) -> Result<Option<&'a str>, CommandError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// A string field, trimmed; blank counts as absent.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, CommandError> {
        Ok(self.string(key)?.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned))
    }

    /// A boolean field.
    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, CommandError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(key, "a boolean", other)),
        }
    }

    /// A number field.
    pub(crate) fn number(&self, key: &str) -> Result<Option<f64>, CommandError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_f64().map(Some).ok_or_else(|| CommandError::invalid_request(format!("{key} must be a number")))
            }
            Some(other) => Err(wrong_type(key, "a number", other)),
        }
    }

    /// An integer field. Integral floats are accepted; values beyond `i64` saturate (the
    /// caller clamps); non-integral numbers are rejected.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, CommandError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                if n.as_u64().is_some() {
                    return Ok(Some(i64::MAX));
                }
                match n.as_f64() {
                    // `as` saturates at the i64 bounds.
                    Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
                    _ => Err(CommandError::invalid_request(format!("{key} must be an integer (got {n})"))),
                }
            }
            Some(other) => Err(wrong_type(key, "an integer", other)),
        }
    }

    /// A token of a closed vocabulary.
    pub(crate) fn token<T: Vocabulary>(&self, key: &str) -> Result<Option<T>, CommandError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => T::from_token(s).map(Some).ok_or_else(|| {
                CommandError::invalid_request(format!("{key} must be one of {} (got {s:?})", T::expected()))
            }),
            Some(other) => Err(wrong_type(key, &format!("one of {}", T::expected()), other)),
        }
    }

    /// An array of strings, each trimmed, blanks dropped; absent → empty.
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, CommandError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    other => Err(wrong_type(key, "an array of strings", other)),
                })
                .filter(|r| !matches!(r, Ok(s) if s.is_empty()))
                .collect(),
            Some(other) => Err(wrong_type(key, "an array of strings", other)),
        }
    }

    /// An RFC 3339 instant string (trimmed), returned with its epoch milliseconds.
    pub(crate) fn instant(&self, key: &str) -> Result<Option<(String, i64)>, CommandError> {
        let Some(s) = self.text(key)? else { return Ok(None) };
        match parse_instant_ms(&s) {
            Some(ms) => Ok(Some((s, ms))),
            None => Err(invalid_instant(key)),
        }
    }
}

/// `INVALID_REQUEST: <key> must be an ISO-8601 date-time …`.
pub(crate) fn invalid_instant(key: &str) -> CommandError {
    CommandError::invalid_request(format!("{key} must be an ISO-8601 date-time such as 2026-01-03T12:34:56Z"))
}

/// Checks an optional `[start, end]` pair of instants: `end` must be after `start`.
pub(crate) fn check_range(
    start: &Option<(String, i64)>,
    end: &Option<(String, i64)>,
    start_key: &str,
    end_key: &str,
) -> Result<(), CommandError> {
    match (start, end) {
        (Some((_, s)), Some((_, e))) if e <= s => {
            Err(CommandError::invalid_request(format!("{end_key} must be after {start_key}")))
        }
        _ => Ok(()),
    }
}

/// Clamps into `[lo, hi]` as `u64` (negative → `lo`).
pub(crate) fn clamp_u64(value: i64, lo: u64, hi: u64) -> u64 {
    u64::try_from(value).unwrap_or(0).clamp(lo, hi)
}

/// Clamps into `[lo, hi]` as `u32` (negative → `lo`, huge → `hi`).
pub(crate) fn clamp_u32(value: i64, lo: u32, hi: u32) -> u32 {
    u32::try_from(clamp_u64(value, u64::from(lo), u64::from(hi))).unwrap_or(hi)
}

/// Clamps a float into `[lo, hi]`.
pub(crate) fn clamp_f64(value: f64, lo: f64, hi: f64) -> f64 {
    value.clamp(lo, hi)
}

/// Parses an RFC 3339 date-time (`2026-01-03T12:34:56Z`, optional fraction, `Z` or `±HH:MM`
/// offset; `T`, `t` or a space as separator) to milliseconds since the Unix epoch. A leap
/// second (`:60`) counts as `:59`. `None` when malformed or out of range.
pub(crate) fn parse_instant_ms(s: &str) -> Option<i64> {
    let mut c = Cursor { b: s.as_bytes(), i: 0 };
    let year = c.digits(4)?;
    c.byte(b'-')?;
    let month = c.digits(2)?;
    c.byte(b'-')?;
    let day = c.digits(2)?;
    match c.next()? {
        b'T' | b't' | b' ' => {}
        _ => return None,
    }
    let hour = c.digits(2)?;
    c.byte(b':')?;
    let minute = c.digits(2)?;
    c.byte(b':')?;
    let second = c.digits(2)?;
    let mut millis = 0;
    if c.peek() == Some(b'.') {
        c.i += 1;
        let start = c.i;
        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
            if c.i - start < 3 {
                millis = millis * 10 + i64::from(c.b[c.i] - b'0');
            }
            c.i += 1;
        }
        let n = c.i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_secs = match c.next()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let oh = c.digits(2)?;
            c.byte(b':')?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    if c.i != c.b.len()
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    Some(secs * 1000 + millis)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn byte(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v = 0i64;
        for _ in 0..n {
            let b = self.next()?;
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        Some(v)
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants() {
        assert_eq!(parse_instant_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_instant_ms("1970-01-01T00:00:00.123456Z"), Some(123));
        assert_eq!(parse_instant_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_instant_ms("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(parse_instant_ms("2026-01-03T12:34:56.000Z"), Some(1_767_443_696_000));
        assert_eq!(parse_instant_ms("2000-02-29 00:00:00z"), Some(951_782_400_000));
        for bad in [
            "",
            "2026-01-03",
            "2026-01-03T12:34Z",
            "2026-01-03T12:34:56",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-03T24:00:00Z",
            "2026-01-03T12:34:56.Z",
            "2026-01-03T12:34:56+0100",
            "2026-01-03T12:34:56Zjunk",
            "yesterday",
        ] {
            assert_eq!(parse_instant_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn getters() {
        let v = json!({"s": " a ", "blank": "  ", "b": true, "n": 2.5, "i": 3000.0, "big": 1e300,
                       "u": u64::MAX, "neg": -5, "null": null, "arr": [" x ", "", null, "y"]});
        let f = Fields::new(&v).ok();
        let f = f.as_ref();
        assert_eq!(f.and_then(|f| f.text("s").ok().flatten()), Some("a".to_owned()));
        assert_eq!(f.and_then(|f| f.text("blank").ok()), Some(None));
        assert_eq!(f.and_then(|f| f.boolean("b").ok()), Some(Some(true)));
        assert_eq!(f.and_then(|f| f.int("i").ok()), Some(Some(3000)));
        assert_eq!(f.and_then(|f| f.int("big").ok()), Some(Some(i64::MAX)));
        assert_eq!(f.and_then(|f| f.int("u").ok()), Some(Some(i64::MAX)));
        assert_eq!(f.and_then(|f| f.int("neg").ok()), Some(Some(-5)));
        assert_eq!(f.and_then(|f| f.int("null").ok()), Some(None));
        assert_eq!(f.and_then(|f| f.number("n").ok()), Some(Some(2.5)));
        assert_eq!(f.and_then(|f| f.strings("arr").ok()), Some(vec!["x".to_owned(), "y".to_owned()]));
        let e = f.and_then(|f| f.int("n").err());
        assert_eq!(e.as_ref().map(|e| e.message()), Some("n must be an integer (got 2.5)"));
        let e = f.and_then(|f| f.number("s").err());
        assert_eq!(e.as_ref().map(|e| e.message()), Some("s must be a number (got a string)"));
        let e = f.and_then(|f| f.boolean("s").err());
        assert_eq!(e.as_ref().map(|e| e.code()), Some("INVALID_REQUEST"));
        let e = f.and_then(|f| f.strings("s").err());
        assert_eq!(e.as_ref().map(|e| e.message()), Some("s must be an array of strings (got a string)"));
    }

    #[test]
    fn params_shape() {
        assert!(Fields::new(&Value::Null).is_ok());
        let e = Fields::new(&json!([1])).err();
        assert_eq!(e.as_ref().map(|e| e.message()), Some("expected JSON object"));
        let e = Fields::required(&Value::Null).err();
        assert_eq!(e.as_ref().map(|e| e.message()), Some("paramsJSON required"));
    }

    #[test]
    fn clamps() {
        assert_eq!(clamp_u64(-1, 0, 10), 0);
        assert_eq!(clamp_u64(11, 0, 10), 10);
        assert_eq!(clamp_u32(i64::MAX, 1, 20), 20);
        assert_eq!(clamp_u32(i64::MAX, 1, u32::MAX), u32::MAX);
        assert_eq!(clamp_u32(-3, 1, 20), 1);
        assert_eq!(clamp_f64(1.5, 0.1, 1.0), 1.0);
    }
}
