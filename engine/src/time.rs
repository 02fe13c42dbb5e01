//! Instants: RFC 3339 text from requests and reference data, normalised to
//! the form Cedar's `datetime` accepts (`2024-01-01T00:00:00Z`,
//! `2022-10-13T00:00:00+0100`, milliseconds optional), with the epoch
//! milliseconds alongside for comparisons made outside Cedar (shares as of a
//! time).

/// An instant in Cedar's text form and as milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instant {
    pub cedar: String,
    pub millis: i64,
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl Instant {
    /// Parses an exact instant: a date, a time and a zone, as requests must
    /// give them (a bare date would silently be read as midnight UTC, hours
    /// off a deadline in the regime's own zone).
    pub fn parse_exact(text: &str) -> Option<Instant> {
        if text.len() <= 10 {
            return None;
        }
        Instant::parse(text)
    }

    /// Parses `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss[.fff]` (digits past the
    /// millisecond only as zeros) followed by `Z`,
    /// `±hh:mm` or `±hhmm`. Anything else is `None`: no text that is not an
    /// instant reaches Cedar.
    pub fn parse(text: &str) -> Option<Instant> {
        if !text.is_ascii() || text.len() > 40 {
            return None;
        }
        let (date, rest) = text.split_at(text.len().min(10));
        let mut parts = date.split('-');
        let (year, month, day) = (
            digits(parts.next()?)?,
            digits(parts.next()?)?,
            digits(parts.next()?)?,
        );
        if parts.next().is_some()
            || date.len() != 10
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if rest.is_empty() {
            return Some(Instant {
                cedar: date.to_string(),
                millis: days * 86_400_000,
            });
        }
        let rest = rest.strip_prefix('T')?;
        if rest.len() < 9 {
            return None;
        }
        let (clock, mut zone) = rest.split_at(8);
        let mut hms = clock.split(':');
        let (h, m, s) = (
            digits(hms.next()?)?,
            digits(hms.next()?)?,
            digits(hms.next()?)?,
        );
        if hms.next().is_some() || h > 23 || m > 59 || s > 59 {
            return None;
        }
        let mut millis_part = 0;
        let mut fraction = String::new();
        if let Some(after_dot) = zone.strip_prefix('.') {
            let end = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            if end == 0 {
                return None;
            }
            // Cedar compares to the millisecond. A finer instant could only
            // be rounded, and either way some comparison would move by up
            // to a millisecond (a window ending early, a deadline passing
            // late), so it is refused unless its extra digits are zeros.
            if after_dot[..end].chars().skip(3).any(|c| c != '0') {
                return None;
            }
            let mut ms: String = after_dot[..end].chars().take(3).collect();
            while ms.len() < 3 {
                ms.push('0');
            }
            millis_part = digits(&ms)?;
            fraction = format!(".{ms}");
            zone = &after_dot[end..];
        }
        let (offset_minutes, cedar_zone) = if zone == "Z" {
            (0, "Z".to_string())
        } else {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = zone[1..].replace(':', "");
            if body.len() != 4 || zone[1..].len() > 5 {
                return None;
            }
            let (oh, om) = (digits(&body[..2])?, digits(&body[2..])?);
            if oh > 23 || om > 59 {
                return None;
            }
            (sign * (oh * 60 + om), format!("{}{body}", &zone[..1]))
        };
        let local = days * 86_400_000 + ((h * 60 + m) * 60 + s) * 1000 + millis_part;
        Some(Instant {
            cedar: format!("{date}T{clock}{fraction}{cedar_zone}"),
            millis: local - offset_minutes * 60_000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Instant;

    #[test]
    fn normalises_offsets_and_fractions() {
        let a = Instant::parse("2022-10-13T00:00:00+01:00").unwrap();
        assert_eq!(a.cedar, "2022-10-13T00:00:00+0100");
        let b = Instant::parse("2022-10-12T23:00:00Z").unwrap();
        assert_eq!(a.millis, b.millis);
        let c = Instant::parse("2024-01-01T00:00:00.5Z").unwrap();
        assert_eq!(c.cedar, "2024-01-01T00:00:00.500Z");
        // Digits past the millisecond are accepted only as zeros.
        let d = Instant::parse("2024-01-01T00:00:00.123000000Z").unwrap();
        assert_eq!(d.cedar, "2024-01-01T00:00:00.123Z");
        assert_eq!(Instant::parse("1970-01-01").unwrap().millis, 0);
    }

    #[test]
    fn refuses_what_is_not_an_instant() {
        for text in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+1",
            "2024-01-01T00:00:00Z\")",
            "yesterday",
            "2024-01-01T00:00:00.0009Z",
            "2024-01-01T00:00:00.123456Z",
        ] {
            assert!(Instant::parse(text).is_none(), "{text}");
        }
        // Reference data may give a date; a request gives an instant.
        assert!(Instant::parse("2023-02-06").is_some());
        assert!(Instant::parse_exact("2023-02-06").is_none());
        assert!(Instant::parse_exact("2023-02-06T00:00:00-05:00").is_some());
    }
}
