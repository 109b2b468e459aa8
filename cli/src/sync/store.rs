//! The one storage interface of `nexudus sync`, over its two databases:
//! `--into sqlite:PATH` ([`sqlite`](super::sqlite)) and
//! `--into postgres://…` ([`postgres`](super::postgres)). Both keep one
//! table per resource (a typed column per field of the full record, `Id`
//! the primary key, undocumented fields in `extra`), the `sync_state`
//! table of checkpoints, and write a batch's upserts, deletes and
//! checkpoint in a single transaction.

use std::path::PathBuf;

use nexudus_timepasses::Checkpoint;

use super::outcome::{Applied, Write};
use super::schema::Column;
use super::{postgres, sqlite};
use crate::failure::Failure;

/// Where `--into` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, and the schema.
    Postgres(String, String),
}

impl Target {
    /// `--into` and `--schema` as given.
    pub fn parse(into: &str, schema: Option<&str>) -> Result<Target, String> {
        if let Some(rest) = into.strip_prefix("sqlite:") {
            if schema.is_some() {
                return Err("--schema is for PostgreSQL; SQLite has none".into());
            }
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err("--into sqlite:PATH needs a path".into());
            }
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        if into.starts_with("postgres://") || into.starts_with("postgresql://") {
            postgres::config_of(into)?;
            let schema = schema.unwrap_or("nexudus");
            if schema.is_empty() || schema.len() > 63 {
                return Err(format!("--schema {schema:?}: 1 to 63 characters"));
            }
            return Ok(Target::Postgres(into.to_owned(), schema.to_owned()));
        }
        // Not repeated: a mistyped URL may hold a password.
        Err("--into: expected sqlite:PATH or postgres://USER@HOST:PORT/DB".into())
    }
}

/// An open database.
pub enum Store {
    Sqlite(sqlite::Store),
    Postgres(postgres::Store),
}

/// A resource's table in the open database.
pub enum Table {
    Sqlite(sqlite::Table),
    Postgres(postgres::Table),
}

impl Store {
    /// Opens (or creates) the database `target` names.
    pub async fn open(target: &Target) -> Result<Store, Failure> {
        Ok(match target {
            Target::Sqlite(path) => Store::Sqlite(sqlite::Store::open(path)?),
            Target::Postgres(url, schema) => {
                Store::Postgres(postgres::Store::open(url, schema).await?)
            }
        })
    }

    /// Whether opening waited for another sync into the same place.
    pub fn waited(&self) -> bool {
        matches!(self, Store::Postgres(p) if p.waited)
    }

    /// The table of `name` with `columns`, created or brought up to the
    /// spec; and the columns the spec dropped, which are kept.
    pub async fn table(
        &mut self,
        name: &str,
        columns: Vec<Column>,
    ) -> Result<(Table, Vec<String>), String> {
        Ok(match self {
            Store::Sqlite(s) => {
                let (t, dropped) = s.table(name, columns)?;
                (Table::Sqlite(t), dropped)
            }
            Store::Postgres(p) => {
                let (t, dropped) = p.table(name, columns).await?;
                (Table::Postgres(t), dropped)
            }
        })
    }

    /// The checkpoint stored for `resource`, if a run committed one.
    pub async fn checkpoint(&self, resource: &str) -> Result<Option<Checkpoint>, String> {
        match self {
            Store::Sqlite(s) => s.checkpoint(resource),
            Store::Postgres(p) => p.checkpoint(resource).await,
        }
    }

    /// Every Id in `table`.
    pub async fn ids(&self, table: &Table) -> Result<Vec<i32>, String> {
        match (self, table) {
            (Store::Sqlite(s), Table::Sqlite(t)) => s.ids(t),
            (Store::Postgres(p), Table::Postgres(t)) => p.ids(t).await,
            _ => Err(MIXED.into()),
        }
    }

    /// Rows in `table`.
    pub async fn count(&self, table: &Table) -> Result<u64, String> {
        match (self, table) {
            (Store::Sqlite(s), Table::Sqlite(t)) => s.count(t),
            (Store::Postgres(p), Table::Postgres(t)) => p.count(t).await,
            _ => Err(MIXED.into()),
        }
    }

    /// Writes `write` into `table` in one transaction.
    pub async fn apply(&mut self, table: &Table, write: Write<'_>) -> Result<Applied, String> {
        match (self, table) {
            (Store::Sqlite(s), Table::Sqlite(t)) => s.apply(t, write),
            (Store::Postgres(p), Table::Postgres(t)) => p.apply(t, write).await,
            _ => Err(MIXED.into()),
        }
    }
}

/// A table used with another database's store: a bug, said plainly.
const MIXED: &str = "a table of one database used with another";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_takes_sqlite_and_postgres() {
        let sqlite = |p: &str| Ok(Target::Sqlite(PathBuf::from(p)));
        assert_eq!(Target::parse("sqlite:a.db", None), sqlite("a.db"));
        assert_eq!(
            Target::parse("sqlite:///tmp/a.db", None),
            sqlite("/tmp/a.db")
        );
        assert!(Target::parse("sqlite:", None).is_err());
        assert!(Target::parse("sqlite:a.db", Some("s")).is_err());
        assert_eq!(
            Target::parse("postgres://u@h/db", None),
            Ok(Target::Postgres(
                "postgres://u@h/db".into(),
                "nexudus".into()
            ))
        );
        assert_eq!(
            Target::parse("postgresql://u@h/db", Some("passes")),
            Ok(Target::Postgres(
                "postgresql://u@h/db".into(),
                "passes".into()
            ))
        );
        assert!(Target::parse("a.db", None).is_err());
        let secret = Target::parse("postgres://u:hunter22@h/db", None).unwrap_err();
        assert!(!secret.contains("hunter22"), "{secret}");
        let typo = Target::parse("postgress://u:hunter22@h/db", None).unwrap_err();
        assert!(!typo.contains("hunter22"), "{typo}");
    }
}
