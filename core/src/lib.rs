//! ClawNode core.
#![forbid(unsafe_code)]
