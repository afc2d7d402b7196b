//! Timestamps in the sources' formats, written out as RFC 3339 UTC with milliseconds.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::Error;

fn invalid(field: &str, reason: String) -> Error {
    Error::InvalidValue {
        field: field.to_owned(),
        reason,
    }
}

/// Writes a time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn to_rfc3339_utc(t: OffsetDateTime, field: &str) -> Result<String, Error> {
    let utc = t.to_offset(UtcOffset::UTC);
    if !(0..=9999).contains(&utc.year()) {
        return Err(invalid(
            field,
            format!("year {} is outside 0..=9999", utc.year()),
        ));
    }
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .map_err(|e| invalid(field, e.to_string()))
}

/// An RFC 3339 timestamp with any offset and precision.
pub(crate) fn parse_rfc3339(s: &str, field: &str) -> Result<String, Error> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| invalid(field, format!("{s:?} is not an RFC 3339 time: {e}")))?;
    to_rfc3339_utc(t, field)
}

/// X API v1.1's `created_at`, e.g. `Wed Oct 10 20:19:24 +0000 2018`.
pub(crate) fn parse_v1_created_at(s: &str, field: &str) -> Result<String, Error> {
    let t = OffsetDateTime::parse(
        s,
        format_description!(
            "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute] [year]"
        ),
    )
    .map_err(|e| invalid(field, format!("{s:?} is not an X v1.1 time: {e}")))?;
    to_rfc3339_utc(t, field)
}

/// A count of `unit_nanos` since the Unix epoch (milliseconds: 1_000_000; microseconds: 1_000).
pub(crate) fn from_unix(count: i128, unit_nanos: i128, field: &str) -> Result<String, Error> {
    let t = count
        .checked_mul(unit_nanos)
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .ok_or_else(|| invalid(field, format!("{count} is out of range")))?;
    to_rfc3339_utc(t, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_time_is_converted_to_utc() {
        assert_eq!(
            parse_v1_created_at("Wed Oct 10 20:19:24 +0200 2018", "created_at").unwrap(),
            "2018-10-10T18:19:24.000Z"
        );
    }

    #[test]
    fn rfc3339_keeps_milliseconds() {
        assert_eq!(
            parse_rfc3339("2024-12-25T01:02:03.456789+01:00", "t").unwrap(),
            "2024-12-25T00:02:03.456Z"
        );
    }

    #[test]
    fn unix_units() {
        assert_eq!(
            from_unix(1_539_202_764_123, 1_000_000, "t").unwrap(),
            "2018-10-10T20:19:24.123Z"
        );
        assert!(from_unix(i128::MAX, 1_000, "t").is_err());
    }
}
