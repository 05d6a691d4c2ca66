//! How values are written to and read from columns.
//!
//! Times are RFC 3339 UTC text with nanoseconds, always the same width, so
//! comparing the text in SQL compares the times and nothing is lost on the way
//! back. People are stored as `<prefix>_id`, `<prefix>_name` and, for actors,
//! `<prefix>_groups` (a JSON array).

use super::{Actor, UserRef};
use crate::facts::Timestamp;
use crate::model::Tier;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Type;
use rusqlite::Row;
use std::str::FromStr;

/// A time as stored.
pub(super) fn ts(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A JSON array of an actor's groups, as stored.
pub(super) fn groups(actor: &Actor) -> String {
    serde_json::Value::from(actor.groups.clone()).to_string()
}

/// Reads a nullable text column and parses it.
fn parsed<T, E>(
    row: &Row,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<Option<T>>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(text) = row.get::<_, Option<String>>(column)? else {
        return Ok(None);
    };
    parse(&text).map(Some).map_err(|e| {
        let index = row.as_ref().column_index(column).unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, e.into())
    })
}

/// Fails like rusqlite does when a NOT NULL column holds NULL.
fn required<T>(row: &Row, column: &str, value: Option<T>) -> rusqlite::Result<T> {
    value.ok_or_else(|| {
        let index = row.as_ref().column_index(column).unwrap_or_default();
        rusqlite::Error::InvalidColumnType(index, column.to_string(), Type::Null)
    })
}

/// A nullable time column.
pub(super) fn opt_time(row: &Row, column: &str) -> rusqlite::Result<Option<Timestamp>> {
    parsed(row, column, |text| {
        DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
    })
}

/// A time column.
pub(super) fn time(row: &Row, column: &str) -> rusqlite::Result<Timestamp> {
    required(row, column, opt_time(row, column)?)
}

/// A tier column, stored as its command-line name.
pub(super) fn tier(row: &Row, column: &str) -> rusqlite::Result<Tier> {
    required(row, column, parsed(row, column, Tier::from_str)?)
}

/// `<prefix>_id`, `<prefix>_name` and `<prefix>_groups`; `None` when the id is NULL.
pub(super) fn opt_actor(row: &Row, prefix: &str) -> rusqlite::Result<Option<Actor>> {
    let Some(user_id) = row.get(format!("{prefix}_id").as_str())? else {
        return Ok(None);
    };
    let groups_column = format!("{prefix}_groups");
    let groups = parsed(row, &groups_column, |text| {
        serde_json::from_str::<Vec<String>>(text)
    })?;
    Ok(Some(Actor {
        user_id,
        name: row.get(format!("{prefix}_name").as_str())?,
        groups: required(row, &groups_column, groups)?,
    }))
}

/// Like [`opt_actor`], for NOT NULL columns.
pub(super) fn actor(row: &Row, prefix: &str) -> rusqlite::Result<Actor> {
    let actor = opt_actor(row, prefix)?;
    required(row, &format!("{prefix}_id"), actor)
}

/// `<prefix>_id` and `<prefix>_name`; `None` when the id is NULL.
pub(super) fn opt_user(row: &Row, prefix: &str) -> rusqlite::Result<Option<UserRef>> {
    let Some(user_id) = row.get(format!("{prefix}_id").as_str())? else {
        return Ok(None);
    };
    Ok(Some(UserRef {
        user_id,
        name: row.get(format!("{prefix}_name").as_str())?,
    }))
}

/// Like [`opt_user`], for NOT NULL columns.
pub(super) fn user(row: &Row, prefix: &str) -> rusqlite::Result<UserRef> {
    let user = opt_user(row, prefix)?;
    required(row, &format!("{prefix}_id"), user)
}

/// A JSON text column.
pub(super) fn json(row: &Row, column: &str) -> rusqlite::Result<serde_json::Value> {
    required(
        row,
        column,
        parsed(row, column, |text| serde_json::from_str(text))?,
    )
}
