//! The PostgreSQL side of `nexudus sync`: the same tables, checkpoints and
//! one-transaction batches as the SQLite side, in a schema of their own
//! (`--schema`, default `nexudus`), with the types a PostgreSQL user
//! expects: `bigint`, `double precision` for prices (the API sends JSON
//! numbers, decoded as f64: a double keeps each value exactly as sent,
//! where `numeric` would claim a precision the API never gives),
//! `boolean`, `timestamptz` for date-times, `jsonb` for lists, objects and
//! the fields the spec does not name, `text` otherwise. A session advisory
//! lock per schema makes a second sync wait for the first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use nexudus_timepasses::Checkpoint;
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::{error::SqlState, Client, Config, NoTls, Statement};

use super::outcome::{Applied, Outcome, Write};
use super::schema::{definitions, quoted, quoted_names, Column, Kind, EXTRA};
use crate::failure::{code, Failure};

/// An open PostgreSQL database, holding the schema's advisory lock.
pub struct Store {
    client: Client,
    schema: String,
    /// Whether opening waited for another sync's lock.
    pub waited: bool,
}

/// A resource's table and its prepared statements.
pub struct Table {
    name: String,
    columns: Vec<Column>,
    upsert: Statement,
}

/// The connection settings of `url`; refused when it is not a URL of
/// PostgreSQL or holds a password (which `ps` and shell history would
/// show). The message never repeats the URL.
pub fn config_of(url: &str) -> Result<Config, String> {
    let config: Config = url
        .parse()
        .map_err(|_| "--into: not a PostgreSQL URL (postgres://USER@HOST:PORT/DB)".to_owned())?;
    if config.get_password().is_some() {
        return Err(
            "--into: a password in the URL would show in `ps` and shell history; \
             leave it out and set PGPASSWORD, or put it in ~/.pgpass"
                .into(),
        );
    }
    Ok(config)
}

/// A column's declared type.
fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer => "bigint",
        Kind::Real => "double precision",
        Kind::Boolean => "boolean",
        Kind::DateTime => "timestamp with time zone",
        Kind::Text => "text",
        Kind::Json => "jsonb",
    }
}

fn db_error(what: &str) -> impl Fn(tokio_postgres::Error) -> String + '_ {
    move |e| format!("{what}: {}", described(&e))
}

/// The server's message when there is one (tokio-postgres's Display says
/// only "db error").
fn described(e: &tokio_postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.message().to_owned(),
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    }
}

impl Store {
    /// Connects to `url` (`postgres://USER@HOST:PORT/DB`; the password from
    /// `PGPASSWORD` or the password file, never from the URL), creates the
    /// schema when missing and takes its advisory lock, waiting for a sync
    /// that holds it.
    pub async fn open(url: &str, schema: &str) -> Result<Store, Failure> {
        let mut config = config_of(url).map_err(Failure::usage)?;
        if let Some(password) = password_for(&config) {
            config.password(password);
        }
        let (client, connection) = config.connect(NoTls).await.map_err(connect_failure)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "nexudus", "the PostgreSQL connection ended: {e}");
            }
        });
        let key = lock_key(schema);
        let free: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(|e| Failure::from(db_error("cannot take the sync lock")(e)))?
            .get(0);
        if !free {
            client
                .execute("SELECT pg_advisory_lock($1)", &[&key])
                .await
                .map_err(|e| Failure::from(db_error("cannot take the sync lock")(e)))?;
        }
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE IF NOT EXISTS {schema}.sync_state (
                     resource   text PRIMARY KEY,
                     checkpoint text NOT NULL,
                     synced_at  timestamp with time zone NOT NULL
                 );",
                schema = quoted(schema)
            ))
            .await
            .map_err(|e| {
                Failure::from(db_error(&format!("cannot create the schema {schema:?}"))(e))
            })?;
        Ok(Store {
            client,
            schema: schema.to_owned(),
            waited: !free,
        })
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{}", quoted(&self.schema), quoted(name))
    }

    /// Creates `name` with `columns` when missing; adds the columns the
    /// spec gained (their values moved out of `extra`) in one transaction;
    /// refuses a column whose type conflicts with the spec. The columns the
    /// spec no longer names, which are kept.
    pub async fn table(
        &mut self,
        name: &str,
        columns: Vec<Column>,
    ) -> Result<(Table, Vec<String>), String> {
        let table = self.qualified(name);
        let tx = self
            .client
            .transaction()
            .await
            .map_err(db_error("cannot begin a transaction"))?;
        let defs = definitions(&columns, sql_type, "jsonb");
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} ({})",
            defs.join(", ")
        ))
        .await
        .map_err(db_error(&format!("cannot create the table {table}")))?;
        let existing: HashMap<String, String> = tx
            .query(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
                &[&table],
            )
            .await
            .map_err(db_error("cannot read the table's columns"))?
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        for c in &columns {
            match existing.get(&c.name) {
                Some(ty) if ty == sql_type(c.kind) => {}
                Some(ty) => {
                    return Err(format!(
                        "{table}: column {:?} is {ty}, but the spec's field needs {}; \
                         rename the table or the column, and sync again",
                        c.name,
                        sql_type(c.kind)
                    ))
                }
                None => add_column(&tx, &table, c).await?,
            }
        }
        if existing.get(EXTRA).is_some_and(|ty| ty != "jsonb") {
            return Err(format!("{table}: column \"extra\" is not jsonb"));
        }
        tx.commit().await.map_err(db_error("cannot commit"))?;
        let mut dropped: Vec<String> = existing
            .into_keys()
            .filter(|e| e != EXTRA && !columns.iter().any(|c| &c.name == e))
            .collect();
        dropped.sort();
        let upsert = self
            .client
            .prepare(&upsert_sql(&table, &columns))
            .await
            .map_err(db_error("cannot prepare the upsert"))?;
        Ok((
            Table {
                name: name.to_owned(),
                columns,
                upsert,
            },
            dropped,
        ))
    }

    /// The checkpoint stored for `resource`, if a run committed one.
    pub async fn checkpoint(&self, resource: &str) -> Result<Option<Checkpoint>, String> {
        let sql = format!(
            "SELECT checkpoint FROM {}.sync_state WHERE resource = $1",
            quoted(&self.schema)
        );
        let row = self
            .client
            .query_opt(&sql, &[&resource])
            .await
            .map_err(db_error("cannot read sync_state"))?;
        let unreadable = |e: &dyn std::fmt::Display| {
            format!("the checkpoint of {resource} in sync_state is unreadable: {e}")
        };
        row.map(|r| {
            let text: &str = r.try_get(0).map_err(|e| unreadable(&e))?;
            serde_json::from_str(text).map_err(|e| unreadable(&e))
        })
        .transpose()
    }

    /// Every Id in `table`.
    pub async fn ids(&self, table: &Table) -> Result<Vec<i32>, String> {
        let sql = format!("SELECT \"Id\" FROM {}", self.qualified(&table.name));
        let rows = self
            .client
            .query(&sql, &[])
            .await
            .map_err(db_error("cannot read the Ids"))?;
        rows.iter()
            .map(|r| {
                i32::try_from(r.get::<_, i64>(0)).map_err(|_| "an Id beyond 32 bits".to_owned())
            })
            .collect()
    }

    /// Rows in `table`.
    pub async fn count(&self, table: &Table) -> Result<u64, String> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.qualified(&table.name));
        let n: i64 = self
            .client
            .query_one(&sql, &[])
            .await
            .map_err(db_error("cannot count the rows"))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// In one transaction: upserts `records`, deletes the rows of
    /// `deleted`, and stores `checkpoint` for `resource`. All of it is
    /// committed, or none.
    pub async fn apply(&mut self, table: &Table, write: Write<'_>) -> Result<Applied, String> {
        let Write {
            records,
            deleted,
            checkpoint,
        } = write;
        let rows: Vec<Row> = records
            .iter()
            .map(|r| row(&table.columns, r))
            .collect::<Result<_, _>>()?;
        let delete = format!(
            "DELETE FROM {} WHERE \"Id\" = ANY($1)",
            self.qualified(&table.name)
        );
        let state = format!(
            "INSERT INTO {}.sync_state (resource, checkpoint, synced_at) VALUES ($1, $2, now())
             ON CONFLICT (resource) DO UPDATE
             SET checkpoint = excluded.checkpoint, synced_at = excluded.synced_at",
            quoted(&self.schema)
        );
        let tx = self
            .client
            .transaction()
            .await
            .map_err(db_error("cannot begin a transaction"))?;
        // Sent at once: the connection pipelines them within the transaction.
        let upserts = rows.iter().map(|row| {
            let params: Vec<&(dyn ToSql + Sync)> = row.values.iter().map(Param::as_sql).collect();
            let tx = &tx;
            async move { tx.query_opt(&table.upsert, &params).await }
        });
        let answers = futures::future::try_join_all(upserts)
            .await
            .map_err(db_error("cannot write the records"))?;
        let outcomes = rows
            .iter()
            .zip(answers)
            .map(|(row, answer)| {
                let outcome = match answer {
                    Some(r) if r.get::<_, bool>(0) => Outcome::Inserted,
                    Some(_) => Outcome::Updated,
                    None => Outcome::Unchanged,
                };
                (row.id, outcome)
            })
            .collect();
        let ids: Vec<i64> = deleted.iter().map(|&id| i64::from(id)).collect();
        // Most batches delete nothing: no round trip for them.
        let removed = if ids.is_empty() {
            0
        } else {
            tx.execute(&delete, &[&ids])
                .await
                .map_err(db_error("cannot delete records"))?
        };
        if let Some((resource, checkpoint)) = checkpoint {
            let text = serde_json::to_string(checkpoint)
                .map_err(|e| format!("cannot write the checkpoint: {e}"))?;
            tx.execute(&state, &[&resource, &text])
                .await
                .map_err(db_error("cannot store the checkpoint"))?;
        }
        tx.commit().await.map_err(db_error("cannot commit"))?;
        Ok(Applied {
            outcomes,
            removed,
            not_as_sent: rows.iter().map(|r| r.not_as_sent).sum(),
        })
    }
}

/// `ALTER TABLE … ADD COLUMN`, then the values an older run kept in
/// `extra` move into it: those that fit its type (converted as a sync
/// converts them); the others stay in `extra`.
async fn add_column(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    c: &Column,
) -> Result<(), String> {
    let column = quoted(&c.name);
    let failed = format!("cannot add the column {column} to {table}");
    tx.batch_execute(&format!(
        "ALTER TABLE {table} ADD COLUMN {column} {}",
        sql_type(c.kind)
    ))
    .await
    .map_err(db_error(&failed))?;
    let kept = tx
        .query(
            &format!("SELECT \"Id\", extra -> $1 FROM {table} WHERE extra ? $1"),
            &[&c.name],
        )
        .await
        .map_err(db_error(&failed))?;
    let update = tx
        .prepare(&format!(
            "UPDATE {table} SET {column} = $2, extra = NULLIF(extra - $3::text, '{{}}'::jsonb) \
             WHERE \"Id\" = $1"
        ))
        .await
        .map_err(db_error(&failed))?;
    let update = &update;
    let moves = kept.iter().filter_map(|row| {
        let (id, value): (i64, Value) = (row.get(0), row.get(1));
        let param = typed(c.kind, &value)?;
        Some(async move { tx.execute(update, &[&id, param.as_sql(), &c.name]).await })
    });
    futures::future::try_join_all(moves)
        .await
        .map_err(db_error(&failed))?;
    Ok(())
}

/// The upsert: a row that differs is updated; one that does not is left
/// alone and returns nothing, so a record delivered again counts as
/// unchanged. `xmax = 0` tells an insert from an update.
fn upsert_sql(table: &str, columns: &[Column]) -> String {
    let names = quoted_names(columns);
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = EXCLUDED.{n}"))
        .collect();
    let old: Vec<String> = names.iter().map(|n| format!("t.{n}")).collect();
    let new: Vec<String> = names.iter().map(|n| format!("EXCLUDED.{n}")).collect();
    format!(
        "INSERT INTO {table} AS t ({}) VALUES ({}) ON CONFLICT (\"Id\") DO UPDATE SET {} \
         WHERE ({}) IS DISTINCT FROM ({}) RETURNING (xmax = 0)",
        names.join(", "),
        params.join(", "),
        sets.join(", "),
        old.join(", "),
        new.join(", "),
    )
}

/// A value bound to a typed column.
enum Param {
    Integer(Option<i64>),
    Real(Option<f64>),
    Boolean(Option<bool>),
    DateTime(Option<DateTime<Utc>>),
    Text(Option<String>),
    Json(Option<Value>),
}

impl Param {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Integer(v) => v,
            Param::Real(v) => v,
            Param::Boolean(v) => v,
            Param::DateTime(v) => v,
            Param::Text(v) => v,
            Param::Json(v) => v,
        }
    }
}

/// One record's values, its Id, and how many of its values did not fit
/// their column's type (kept in `extra` instead).
struct Row {
    id: i32,
    values: Vec<Param>,
    not_as_sent: u64,
}

/// The values of one record's row: each column's field converted to its
/// type, then `extra` with every field that has no column and every value
/// that did not fit its column (kept, never dropped).
fn row(columns: &[Column], record: &Value) -> Result<Row, String> {
    // Copied only when a NUL must be replaced, which is rare.
    let record = if has_nul(record) {
        let mut copy = record.clone();
        replace_nul(&mut copy);
        Cow::Owned(copy)
    } else {
        Cow::Borrowed(record)
    };
    let nul = u64::from(matches!(record, Cow::Owned(_)));
    let fields = record
        .as_object()
        .ok_or("a record that is not a JSON object")?;
    let mut extra: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !columns.iter().any(|c| &c.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut not_as_sent = nul;
    let mut values: Vec<Param> = columns
        .iter()
        .map(|c| {
            let value = fields.get(&c.name).unwrap_or(&Value::Null);
            typed(c.kind, value).unwrap_or_else(|| {
                extra.insert(c.name.clone(), value.clone());
                not_as_sent += 1;
                typed(c.kind, &Value::Null).unwrap_or(Param::Json(None))
            })
        })
        .collect();
    let id = fields
        .get("Id")
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok())
        .ok_or("a record without an integer Id")?;
    let extra = (!extra.is_empty()).then_some(Value::Object(extra));
    values.push(Param::Json(extra));
    Ok(Row {
        id,
        values,
        not_as_sent,
    })
}

/// Whether a string in `value` holds a NUL character, which PostgreSQL's
/// text and jsonb cannot hold.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.values().any(has_nul),
        _ => false,
    }
}

/// Replaces every NUL character of `value`'s strings by U+FFFD.
fn replace_nul(value: &mut Value) {
    match value {
        Value::String(s) => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(replace_nul),
        Value::Object(fields) => fields.values_mut().for_each(replace_nul),
        _ => {}
    }
}

/// `value` as a parameter of a `kind` column; `None` when it does not fit.
fn typed(kind: Kind, value: &Value) -> Option<Param> {
    Some(match (kind, value) {
        (Kind::Integer, Value::Null) => Param::Integer(None),
        (Kind::Integer, Value::Number(n)) => Param::Integer(Some(n.as_i64()?)),
        (Kind::Real, Value::Null) => Param::Real(None),
        (Kind::Real, Value::Number(n)) => Param::Real(Some(n.as_f64()?)),
        (Kind::Boolean, Value::Null) => Param::Boolean(None),
        (Kind::Boolean, Value::Bool(b)) => Param::Boolean(Some(*b)),
        (Kind::DateTime, Value::Null) => Param::DateTime(None),
        (Kind::DateTime, Value::String(s)) => Param::DateTime(Some(instant(s)?)),
        (Kind::Text, Value::Null) => Param::Text(None),
        (Kind::Text, Value::String(s)) => Param::Text(Some(s.clone())),
        (Kind::Json, Value::Null) => Param::Json(None),
        (Kind::Json, other) => Param::Json(Some(other.clone())),
        _ => return None,
    })
}

/// A date-time of the API: RFC 3339, or without an offset (then taken as
/// UTC, as the API's `Z` values are).
fn instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// The schema's advisory lock key: stable across runs and machines.
fn lock_key(schema: &str) -> i64 {
    // FNV-1a: no dependency, and the same on every build.
    let hash = format!("nexudus sync {schema}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Why a connection failed, as a failure with the right exit code.
fn connect_failure(e: tokio_postgres::Error) -> Failure {
    let message = format!("cannot connect to PostgreSQL: {}", described(&e));
    match e.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            Failure::new(code::AUTH, message)
                .hint("check the user in --into, and PGPASSWORD or ~/.pgpass")
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            Failure::new(code::OTHER, message).hint("create the database first (createdb NAME)")
        }
        _ => Failure::new(code::OTHER, message)
            .hint("check the host and port in --into, and that the server runs"),
    }
}

/// The password libpq would use: `PGPASSWORD`, else the first matching
/// line of `PGPASSFILE` or `~/.pgpass` (ignored, as libpq does, when
/// others may read it).
fn password_for(config: &Config) -> Option<Vec<u8>> {
    if let Some(password) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        return Some(password.into_encoded_bytes());
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                target: "nexudus",
                "{} is readable by others; ignored, as libpq ignores it",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    pgpass_lookup(&text, [&host, &port, db, user]).map(String::into_bytes)
}

/// The password of the first line of a password file whose four fields
/// match (`*` matches anything; `\:` and `\\` are escapes).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            let (keys, password) = (fields.get(..4)?, fields.get(4)?);
            keys.iter()
                .zip(wanted)
                .all(|(k, w)| k == "*" || k == w)
                .then(|| password.clone())
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_file_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:db:u:no\n127.0.0.1:*:db:u:p\\:w\\\\d\n";
        let found = pgpass_lookup(text, ["127.0.0.1", "5433", "db", "u"]);
        assert_eq!(found.as_deref(), Some("p:w\\d"));
        assert_eq!(pgpass_lookup(text, ["127.0.0.1", "1", "x", "u"]), None);
    }

    #[test]
    fn nul_characters_are_replaced_and_counted() {
        let columns = vec![
            Column {
                name: "Id".into(),
                kind: Kind::Integer,
            },
            Column {
                name: "Notes".into(),
                kind: Kind::Text,
            },
        ];
        let record = serde_json::json!({"Id": 1, "Notes": "a\0b", "X": ["\0"]});
        let row = row(&columns, &record).unwrap();
        assert_eq!(row.not_as_sent, 1, "one record altered");
        assert!(matches!(&row.values[1], Param::Text(Some(t)) if t == "a\u{FFFD}b"));
    }

    #[test]
    fn date_times_parse_with_or_without_an_offset() {
        let z = instant("2024-01-01T08:00:00Z").unwrap();
        assert_eq!(instant("2024-01-01T09:00:00+01:00"), Some(z));
        assert_eq!(instant("2024-01-01T08:00:00"), Some(z));
        assert_eq!(instant("next tuesday"), None);
    }

    #[test]
    fn values_that_do_not_fit_are_kept_in_extra() {
        let columns = vec![
            Column {
                name: "Id".into(),
                kind: Kind::Integer,
            },
            Column {
                name: "UsedDate".into(),
                kind: Kind::DateTime,
            },
        ];
        let record = serde_json::json!({"Id": 4, "UsedDate": "soon", "New": 1});
        let row = row(&columns, &record).unwrap();
        assert_eq!(row.not_as_sent, 1);
        match row.values.last() {
            Some(Param::Json(Some(extra))) => {
                assert_eq!(extra, &serde_json::json!({"UsedDate": "soon", "New": 1}))
            }
            _ => panic!("no extra"),
        }
        assert!(matches!(row.values[1], Param::DateTime(None)));
    }
}
