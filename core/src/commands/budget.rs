//! Result size budgets of media commands (commands.md §6).

use serde_json::Value;

use super::catalog::spec;
use crate::command_error::CommandError;

/// `camera.snap`: the photo's base64 must stay under 5 MB, so at most 4 999 999 bytes.
pub const SNAP_BASE64_MAX: usize = 4_999_999;
/// `camera.clip` / `screen.record`: at most 26 148 864 base64 bytes (the Linux media guard).
pub const MEDIA_BASE64_MAX: usize = 26_148_864;
/// `photos.latest`: at most 300 Ki base64 chars per photo.
pub const PHOTO_BASE64_MAX: usize = 300 * 1024;
/// `photos.latest`: at most 340 Ki base64 chars over all photos.
pub const PHOTOS_TOTAL_BASE64_MAX: usize = 340 * 1024;

/// Size budgets (commands.md §6). Limits are inclusive: a length equal to the limit passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultBudget {
    /// A base64 field of the result may hold at most `max` bytes.
    Base64Field {
        /// The result key holding the base64 text (`"base64"`).
        field: &'static str,
        /// The largest accepted length in bytes.
        max: usize,
    },
    /// `photos.latest`: per photo and total base64 chars of `photos[].base64`.
    Photos {
        /// The largest accepted length of one photo's base64.
        per_photo: usize,
        /// The largest accepted sum over all photos.
        total: usize,
    },
}

fn advice(name: &str) -> &'static str {
    match name {
        "camera.snap" => "Reduce maxWidth or quality and retry.",
        "photos.latest" => "Reduce limit, maxWidth or quality and retry.",
        _ => "Reduce durationMs and retry.",
    }
}

fn too_large(name: &str, detail: String) -> CommandError {
    CommandError::new("PAYLOAD_TOO_LARGE", format!("{name} result too large ({detail}). {}", advice(name)))
}

fn base64_len(value: &Value, field: &str) -> usize {
    value.get(field).and_then(Value::as_str).map_or(0, str::len)
}

/// Checks a handler's result against the command's budget. `Err` is `PAYLOAD_TOO_LARGE` with
/// message `"<command> result too large (N bytes of base64 over the M limit). Reduce … and
/// retry."` (`durationMs` for clips/recordings, `maxWidth or quality` for snaps, `limit,
/// maxWidth or quality` for photos). Commands without a budget, unknown commands and results
/// without the base64 field (e.g. the `url` alternative) pass.
pub fn check_result_budget(name: &str, result: &Value) -> Result<(), CommandError> {
    let Some(budget) = spec(name).and_then(|s| s.result_budget) else { return Ok(()) };
    match budget {
        ResultBudget::Base64Field { field, max } => {
            let len = base64_len(result, field);
            if len > max {
                return Err(too_large(name, format!("{len} bytes of base64 over the {max} limit")));
            }
        }
        ResultBudget::Photos { per_photo, total } => {
            let photos = result.get("photos").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            let mut sum = 0usize;
            for (index, photo) in photos.iter().enumerate() {
                let len = base64_len(photo, "base64");
                if len > per_photo {
                    return Err(too_large(
                        name,
                        format!("photo {index}: {len} bytes of base64 over the {per_photo} per-photo limit"),
                    ));
                }
                sum = sum.saturating_add(len);
            }
            if sum > total {
                return Err(too_large(name, format!("{sum} bytes of base64 over the {total} total limit")));
            }
        }
    }
    Ok(())
}
