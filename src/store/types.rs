//! How domain values are stored: status enums as their `as_str` spelling, timestamps as RFC 3339
//! UTC text, dates as `YYYY-MM-DD` text. A stored value that does not read back is a decode
//! error naming its column (sqlx's `ColumnDecode`), never a silent default.

use crate::domain::alerts::{RunStatus, Severity};
use crate::domain::notify::{InboundKind, MessageStatus, Transport};
use crate::domain::outbox::PostStatus;
use crate::domain::promise::Cause;
use crate::domain::schedule::Trigger;
use crate::domain::{
    AlertRunId, ApprovalId, BackorderId, BackorderStatus, Channel, CustomerId, EtaKind, InboundId,
    MessageId, MovementKind, OrderId, OrderLineId, OutboxId, OutboxStatus, PoLineId, PoStatus,
    PostId, ProductId, PurchaseOrderId, ReservationStatus, SupplierId, Tier, UpdateKind,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type, TypeInfo, ValueRef};

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

        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <&str as Decode<'r, Postgres>>::decode(value)?;
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
    Trigger => "an alert run trigger",
    crate::domain::incentive::CodeKind => "a discount code kind",
    crate::domain::approval::ApprovalStatus => "an approval status",
);

/// The SQL spelling of a stored status (or a kind, or a set of them as an `IN` list), where a
/// statement names it rather than binding it: a partial index is only used when the query holds
/// its literal. A macro so that `concat!` can build constant statements from it; the tests below
/// check each against its enum's `as_str`.
macro_rules! sql_word {
    (backorder open) => {
        "'open'"
    };
    (backorder allocated) => {
        "'allocated'"
    };
    (backorder active) => {
        "('open', 'allocated')"
    };
    (backorder cancelled) => {
        "'cancelled'"
    };
    (backorder served) => {
        "('allocated', 'fulfilled')"
    };
    (po received) => {
        "'received'"
    };
    (movement receipt) => {
        "'receipt'"
    };
    (inbound inquiry) => {
        "'inquiry'"
    };
    (reservation held) => {
        "'held'"
    };
    (outbox pending) => {
        "'pending'"
    };
    (outbox sending) => {
        "'sending'"
    };
    (outbox sent) => {
        "'sent'"
    };
    (outbox superseded) => {
        "'superseded'"
    };
    (outbox held) => {
        "'held'"
    };
    (approval held) => {
        "'held'"
    };
    (outbox unsent) => {
        "('pending', 'sending')"
    };
    (update eta_changed) => {
        "'eta_changed'"
    };
    (cause po_eta_changed) => {
        "'po_eta_changed'"
    };
    (post pending) => {
        "'pending'"
    };
    (message failed) => {
        "('undelivered', 'failed')"
    };
}
pub(crate) use sql_word;

/// A row id newtype, as the store binds it.
pub trait RowId: Copy {
    /// The INTEGER the row holds.
    fn raw(self) -> i64;
    /// The id an INTEGER of its kind of row is.
    fn from_raw(raw: i64) -> Self;
}

/// Ids as one JSON array, bound to `json_each`: one bound value however many ids.
pub fn id_json<T: RowId>(ids: &[T]) -> String {
    let raw: Vec<i64> = ids.iter().map(|id| id.raw()).collect();
    serde_json::Value::from(raw).to_string()
}

/// Implements [`RowId`], `Type`, `Encode` and `Decode` for a row id newtype, stored as its
/// INTEGER.
macro_rules! row_id {
    ($($ty:ty),* $(,)?) => {$(
        impl RowId for $ty {
            fn raw(self) -> i64 {
                self.0
            }
            fn from_raw(raw: i64) -> Self {
                Self(raw)
            }
        }

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

        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <i64 as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <i64 as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'_, Postgres>>::encode(self.0, buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'r, Postgres>>::decode(value).map(Self)
            }
        }
    )*};
}

row_id!(
    ProductId,
    CustomerId,
    BackorderId,
    OutboxId,
    PurchaseOrderId,
    PoLineId,
    AlertRunId,
    PostId,
    OrderId,
    OrderLineId,
    MessageId,
    InboundId,
    SupplierId,
    crate::domain::ids::DiscountCodeId,
    ApprovalId,
);

/// A timestamp as the store binds it: on SQLite RFC 3339 UTC text, whole seconds (text order
/// is time order); on PostgreSQL a `timestamptz` (whole seconds too, so both engines store the
/// same instant). `to_string()` gives the SQLite text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(DateTime<Utc>);

/// Stored form of a timestamp.
pub fn ts(t: DateTime<Utc>) -> Ts {
    use chrono::Timelike;
    Ts(t.with_nanosecond(0).unwrap_or(t))
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// A date as the store binds it: on SQLite `YYYY-MM-DD` text, on PostgreSQL a `date`.
/// `to_string()` gives the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(NaiveDate);

/// Stored form of a date.
pub fn day(d: NaiveDate) -> Day {
    Day(d)
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// `Type` and `Encode` for a bound value stored as text on SQLite and natively on PostgreSQL.
macro_rules! bound_as {
    ($($name:ident => $pg:ty;)*) => {$(
        impl Type<Sqlite> for $name {
            fn type_info() -> SqliteTypeInfo {
                <str as Type<Sqlite>>::type_info()
            }
        }

        impl<'q> Encode<'q, Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                <String as Encode<'q, Sqlite>>::encode(self.to_string(), buf)
            }
        }

        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <$pg as Type<Postgres>>::type_info()
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <$pg as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
            }
        }
    )*};
}

impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

bound_as! {
    Ts => DateTime<Utc>;
    Day => NaiveDate;
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

        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <str as Type<Postgres>>::type_info()
            }
            fn compatible(_: &PgTypeInfo) -> bool {
                // Native or text: `Decode` reads either and names what it found otherwise.
                true
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let native = pg_native(value)?;
                let $raw = native.as_deref();
                let inner: $inner = $parse?;
                Ok($name(inner))
            }
        }
    )*};
}

/// A PostgreSQL value read as the text SQLite would have stored: a `timestamptz` as RFC 3339
/// UTC, a `date` as `YYYY-MM-DD`, a number as its digits, text as it is; NULL as `None`.
fn pg_native(value: PgValueRef<'_>) -> Result<Option<String>, BoxDynError> {
    if value.is_null() {
        return Ok(None);
    }
    let ty = value.type_info().name().to_string();
    Ok(Some(match ty.as_str() {
        "TIMESTAMPTZ" => {
            let t = <DateTime<Utc> as Decode<Postgres>>::decode(value)?;
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        "DATE" => <NaiveDate as Decode<Postgres>>::decode(value)?
            .format("%Y-%m-%d")
            .to_string(),
        "INT8" => <i64 as Decode<Postgres>>::decode(value)?.to_string(),
        "INT4" => <i32 as Decode<Postgres>>::decode(value)?.to_string(),
        "INT8[]" => {
            let ids = <Vec<i64> as Decode<Postgres>>::decode(value)?;
            serde_json::Value::from(ids).to_string()
        }
        _ => <String as Decode<Postgres>>::decode(value)?,
    }))
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

/// When the next of some queued rows is due (`SELECT MIN(…) AS next_attempt_at`), named so that
/// a bad stored time fails the read naming its column.
#[derive(sqlx::FromRow)]
pub(crate) struct NextAttempt {
    #[sqlx(try_from = "StoredOptTs")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A Discord id (a snowflake, stored as decimal text), for `#[sqlx(try_from = "StoredDiscordId")]`
/// on a `u64` field.
#[derive(Debug)]
pub struct StoredDiscordId(u64);

/// A JSON array of row ids, for `#[sqlx(try_from = "StoredIds<ProductId>")]` on a
/// `Vec<ProductId>` field.
#[derive(Debug)]
pub struct StoredIds<T>(Vec<T>);

impl<T> Type<Sqlite> for StoredIds<T> {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r, T: RowId> Decode<'r, Sqlite> for StoredIds<T> {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <Option<&str> as Decode<'r, Sqlite>>::decode(value)?;
        let ids = not_null(raw).and_then(parse_ids)?;
        Ok(StoredIds(ids.into_iter().map(T::from_raw).collect()))
    }
}

impl<T> Type<Postgres> for StoredIds<T> {
    fn type_info() -> PgTypeInfo {
        <str as Type<Postgres>>::type_info()
    }
    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl<'r, T: RowId> Decode<'r, Postgres> for StoredIds<T> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = pg_native(value)?;
        let ids = not_null(raw.as_deref()).and_then(parse_ids)?;
        Ok(StoredIds(ids.into_iter().map(T::from_raw).collect()))
    }
}

impl<T> From<StoredIds<T>> for Vec<T> {
    fn from(v: StoredIds<T>) -> Self {
        v.0
    }
}

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_what_was_stored() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ts(t).to_string(), "2026-11-26T09:30:00Z");
        assert_eq!(parse_ts(&ts(t).to_string()).unwrap(), t);
        assert!(parse_ts("yesterday").is_err());
        assert!(parse_day("2026-02-30").is_err());
    }

    fn word(s: &str) -> String {
        format!("'{s}'")
    }

    fn list<T: Copy>(
        all: &[T],
        keep: impl Fn(T) -> bool,
        spell: impl Fn(T) -> &'static str,
    ) -> String {
        let words: Vec<String> = all
            .iter()
            .copied()
            .filter(|v| keep(*v))
            .map(|v| word(spell(v)))
            .collect();
        format!("({})", words.join(", "))
    }

    #[test]
    fn sql_words_are_the_enums_spellings() {
        use crate::domain::notify::MessageStatus as M;
        let unsent = |s| matches!(s, OutboxStatus::Pending | OutboxStatus::Sending);
        let failed = |s| matches!(s, M::Failed | M::Undelivered);
        let cases = [
            (
                sql_word!(backorder open),
                word(BackorderStatus::Open.as_str()),
            ),
            (
                sql_word!(backorder allocated),
                word(BackorderStatus::Allocated.as_str()),
            ),
            (
                sql_word!(backorder active),
                list(
                    &BackorderStatus::ALL,
                    BackorderStatus::is_active,
                    BackorderStatus::as_str,
                ),
            ),
            (
                sql_word!(backorder cancelled),
                word(BackorderStatus::Cancelled.as_str()),
            ),
            (
                sql_word!(backorder served),
                list(
                    &BackorderStatus::ALL,
                    |s| matches!(s, BackorderStatus::Allocated | BackorderStatus::Fulfilled),
                    BackorderStatus::as_str,
                ),
            ),
            (sql_word!(po received), word(PoStatus::Received.as_str())),
            (
                sql_word!(movement receipt),
                word(MovementKind::Receipt.as_str()),
            ),
            (
                sql_word!(inbound inquiry),
                word(crate::domain::notify::InboundKind::Inquiry.as_str()),
            ),
            (
                sql_word!(reservation held),
                word(ReservationStatus::Held.as_str()),
            ),
            (
                sql_word!(outbox pending),
                word(OutboxStatus::Pending.as_str()),
            ),
            (
                sql_word!(outbox sending),
                word(OutboxStatus::Sending.as_str()),
            ),
            (sql_word!(outbox sent), word(OutboxStatus::Sent.as_str())),
            (
                sql_word!(outbox superseded),
                word(OutboxStatus::Superseded.as_str()),
            ),
            (sql_word!(outbox held), word(OutboxStatus::Held.as_str())),
            (
                sql_word!(approval held),
                word(crate::domain::approval::ApprovalStatus::Held.as_str()),
            ),
            (
                sql_word!(outbox unsent),
                list(&OutboxStatus::ALL, unsent, OutboxStatus::as_str),
            ),
            (
                sql_word!(update eta_changed),
                word(UpdateKind::EtaChanged.as_str()),
            ),
            (
                sql_word!(cause po_eta_changed),
                word(Cause::PoEtaChanged.as_str()),
            ),
            (sql_word!(post pending), word(PostStatus::Pending.as_str())),
            (sql_word!(message failed), list(&M::ALL, failed, M::as_str)),
        ];
        for (sql, spelled) in cases {
            assert_eq!(sql, spelled);
        }
    }
}
