//! One-line error messages.

/// The `cedar-policy` version the engine (and the native checks) use.
pub const CEDAR_VERSION: &str = "4.14.1";

/// Chains an error's sources into one line (Cedar's top-level messages are
/// terse; the detail is in the chain).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
