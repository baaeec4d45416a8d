//! The limits a calendar collection advertises (RFC 4791 §5.2.5-5.2.9) and
//! enforces on PUT (§5.3.2.1).

/// `min-date-time` (§5.2.6): the earliest instant accepted in a calendar object.
pub const MIN_DATE_TIME: &str = "19000101T000000Z";
/// `max-date-time` (§5.2.7): the latest instant accepted.
pub const MAX_DATE_TIME: &str = "21001231T235959Z";
/// `max-instances` (§5.2.8): the most instances a finite recurrence may
/// generate. Unbounded rules (no COUNT or UNTIL) are accepted, see
/// `docs/compliance/rfc4791.md`.
pub const MAX_INSTANCES: u32 = 100_000;
/// `max-attendees-per-instance` (§5.2.9).
pub const MAX_ATTENDEES_PER_INSTANCE: usize = 2_000;

/// `MIN_DATE_TIME` in milliseconds since the epoch.
pub fn min_millis() -> i64 {
    -2_208_988_800_000
}

/// `MAX_DATE_TIME` in milliseconds since the epoch.
pub fn max_millis() -> i64 {
    4_133_980_799_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    #[test]
    fn millis_match_the_advertised_values() {
        let parse = |s: &str| NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").unwrap().and_utc().timestamp_millis();
        assert_eq!(parse(MIN_DATE_TIME), min_millis());
        assert_eq!(parse(MAX_DATE_TIME), max_millis());
    }
}
