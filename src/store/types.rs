//! How domain values are stored: status enums as their `as_str` spelling, timestamps as RFC 3339
//! UTC text, dates as `YYYY-MM-DD` text. A stored value that does not read back is a decode
//! error naming its column (sqlx's `ColumnDecode`), never a silent default.

use crate::domain::alerts::{RunStatus, Severity};
use crate::domain::notify::{InboundKind, MessageStatus, Transport};
use crate::domain::outbox::PostStatus;
use crate::domain::promise::Cause;
use crate::domain::{
    BackorderId, BackorderStatus, Channel, CustomerId, EtaKind, MovementKind, OutboxStatus,
    PoStatus, ProductId, ReservationStatus, Tier, UpdateKind,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Sqlite, Type};

/// A stored value that is not what its column must hold.
#[derive(Debug, thiserror::Error)]
#[error("stored value \"{value}\" is not {expected}")]
pub struct BadStoredValue {
    value: String,
    expected: &'static str,
}

/// Implements `Type`, `Encode` and `Decode` for a domain enum with `ALL` and `as_str`, stored as
/// TEXT (the spellings are those the migrations' CHECK constraints list).
macro_rules! text_enum {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Type<Sqlite> for $ty {
            fn type_info() -> SqliteTypeInfo {
                <str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Sqlite> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                <&'q str as Encode<'q, Sqlite>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $ty {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <&str as Decode<'r, Sqlite>>::decode(value)?;
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == raw)
                    .ok_or_else(|| {
                        BadStoredValue { value: raw.to_string(), expected: $what }.into()
                    })
            }
        }
    )*};
}

text_enum!(
    BackorderStatus => "a backorder status",
    ReservationStatus => "a reservation status",
    PoStatus => "a purchase-order status",
    EtaKind => "an ETA kind",
    Tier => "a tier",
    Channel => "a channel",
    OutboxStatus => "an outbox status",
    UpdateKind => "an update kind",
    MovementKind => "a movement kind",
    Severity => "a severity",
    RunStatus => "an alert run status",
    Cause => "an ETA change cause",
    Transport => "a message transport",
    MessageStatus => "a message status",
    InboundKind => "an inbound message kind",
    PostStatus => "a channel post status",
);

/// Implements `Type`, `Encode` and `Decode` for a row id newtype, stored as its INTEGER.
macro_rules! row_id {
    ($($ty:ty),* $(,)?) => {$(
        impl Type<Sqlite> for $ty {
            fn type_info() -> SqliteTypeInfo {
                <i64 as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <i64 as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Sqlite> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, Sqlite>>::encode(self.0, buf)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $ty {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'r, Sqlite>>::decode(value).map(Self)
            }
        }
    )*};
}

row_id!(ProductId, CustomerId, BackorderId);

/// Stored form of a timestamp: RFC 3339 UTC, whole seconds (text order is time order).
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Stored form of a date.
pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_ts(raw: &str) -> Result<DateTime<Utc>, BadStoredValue> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| BadStoredValue {
            value: raw.to_string(),
            expected: "an RFC 3339 timestamp",
        })
}

/// Reads a stored date.
pub fn parse_day(raw: &str) -> Result<NaiveDate, BadStoredValue> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| BadStoredValue {
        value: raw.to_string(),
        expected: "a date like 2026-12-31",
    })
}

/// Implements `Type` and `Decode` for a newtype that a `FromRow` field converts from with
/// `#[sqlx(try_from = "…")]`, so the row holds the chrono type. The parsing happens in `Decode`:
/// sqlx then reports a bad value as `ColumnDecode` with the column's name and our reason.
macro_rules! text_newtype {
    ($($name:ident($inner:ty) => |$raw:ident| $parse:expr;)*) => {$(
        impl Type<Sqlite> for $name {
            fn type_info() -> SqliteTypeInfo {
                <str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $name {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let $raw = <Option<&str> as Decode<'r, Sqlite>>::decode(value)?;
                let inner: $inner = $parse?;
                Ok($name(inner))
            }
        }

        impl From<$name> for $inner {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    )*};
}

/// A stored timestamp, for `#[sqlx(try_from = "StoredTs")]` on a `DateTime<Utc>` field.
#[derive(Debug)]
pub struct StoredTs(DateTime<Utc>);

/// A stored timestamp or NULL, for `#[sqlx(try_from = "StoredOptTs")]` on an
/// `Option<DateTime<Utc>>` field.
#[derive(Debug)]
pub struct StoredOptTs(Option<DateTime<Utc>>);

/// A stored date, for `#[sqlx(try_from = "StoredDay")]` on a `NaiveDate` field.
#[derive(Debug)]
pub struct StoredDay(NaiveDate);

/// A stored date or NULL, for `#[sqlx(try_from = "StoredOptDay")]` on an `Option<NaiveDate>`.
#[derive(Debug)]
pub struct StoredOptDay(Option<NaiveDate>);

/// A Discord id (a snowflake, stored as decimal text), for `#[sqlx(try_from = "StoredDiscordId")]`
/// on a `u64` field.
#[derive(Debug)]
pub struct StoredDiscordId(u64);

/// A JSON array of row ids, for `#[sqlx(try_from = "StoredIds")]` on a `Vec<i64>` field.
#[derive(Debug)]
pub struct StoredIds(Vec<i64>);

fn parse_discord_id(raw: &str) -> Result<u64, BadStoredValue> {
    raw.parse().map_err(|_| BadStoredValue {
        value: raw.to_string(),
        expected: "a Discord id",
    })
}

fn parse_ids(raw: &str) -> Result<Vec<i64>, BadStoredValue> {
    serde_json::from_str(raw).map_err(|_| BadStoredValue {
        value: raw.to_string(),
        expected: "a JSON array of ids",
    })
}

fn not_null(raw: Option<&str>) -> Result<&str, BadStoredValue> {
    raw.ok_or(BadStoredValue {
        value: "NULL".to_string(),
        expected: "a value",
    })
}

text_newtype! {
    StoredTs(DateTime<Utc>) => |raw| not_null(raw).and_then(parse_ts);
    StoredOptTs(Option<DateTime<Utc>>) => |raw| raw.map(parse_ts).transpose();
    StoredDay(NaiveDate) => |raw| not_null(raw).and_then(parse_day);
    StoredOptDay(Option<NaiveDate>) => |raw| raw.map(parse_day).transpose();
    StoredDiscordId(u64) => |raw| not_null(raw).and_then(parse_discord_id);
    StoredIds(Vec<i64>) => |raw| not_null(raw).and_then(parse_ids);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_what_was_stored() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ts(t), "2026-11-26T09:30:00Z");
        assert_eq!(parse_ts(&ts(t)).unwrap(), t);
        assert!(parse_ts("yesterday").is_err());
        assert!(parse_day("2026-02-30").is_err());
    }
}
