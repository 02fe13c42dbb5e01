//! When a loaded bundle may decide: its not-before and not-after, and the
//! last instant the trust store's threshold of its signing keys is valid.

use std::time::SystemTime;

use crate::decision::Failure;

/// When a loaded bundle may decide, at the host's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validity {
    /// Not before (the bundle's `not-before`).
    pub not_before: Option<SystemTime>,
    /// Not after: the earlier of the bundle's `not-after` and the last
    /// instant at which at least the trust store's threshold of the keys
    /// that signed it are still valid.
    pub not_after: Option<SystemTime>,
    /// What `not_after` is (for the refusal).
    pub limited_by: Option<String>,
}

impl Validity {
    /// `Ok` inside the window at `now`; the refusal otherwise.
    pub fn check(&self, now: SystemTime) -> Result<(), Failure> {
        let at = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        if let Some(start) = self.not_before
            && now < start
        {
            return Err(Failure::BundleExpired(format!(
                "it is not valid before {}",
                at(start)
            )));
        }
        if let Some(end) = self.not_after
            && now > end
        {
            return Err(Failure::BundleExpired(format!(
                "its window ended at {} ({}); a newer valid bundle must replace it",
                at(end),
                self.limited_by.as_deref().unwrap_or("its not-after")
            )));
        }
        Ok(())
    }

    /// Whether the window has passed (or not begun) at `now`.
    pub fn expired_at(&self, now: SystemTime) -> bool {
        self.check(now).is_err()
    }
}
