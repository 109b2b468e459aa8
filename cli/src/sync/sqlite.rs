//! The SQLite side of `nexudus sync`: one table per resource (a typed column
//! per field of the full record, `Id` the primary key, undocumented fields
//! in `extra` as a JSON object), the `sync_state` table of checkpoints, and
//! the one write path: a batch's upserts, deletes and checkpoint in a single
//! transaction, so the database never holds a checkpoint without the rows
//! it covers.

use std::path::Path;

use nexudus_timepasses::Checkpoint;
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::outcome::{Applied, Outcome, Write};
use super::schema::{definitions, quoted, quoted_names, Column, Kind, EXTRA};

/// An open database.
pub struct Store {
    conn: Connection,
}

/// A resource's table and the statements that write it.
pub struct Table {
    name: String,
    columns: Vec<Column>,
    /// Position of `Id` in `columns`.
    id_index: usize,
    insert: String,
    update: String,
}

/// A column's declared SQLite type.
fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer | Kind::Boolean => "INTEGER",
        Kind::Real => "REAL",
        Kind::Text | Kind::DateTime | Kind::Json => "TEXT",
    }
}

/// `name` as a JSON path of one member.
fn json_path(name: &str) -> String {
    format!("$.\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

fn db_error(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Store {
    /// Opens (or creates) the database at `path`. WAL mode lets readers see
    /// the last committed batch while a sync runs.
    pub fn open(path: &Path) -> Result<Store, String> {
        let conn = Connection::open(path)
            .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_error("cannot set the busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error("cannot switch to WAL mode"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sync_state (
                 resource   TEXT PRIMARY KEY,
                 checkpoint TEXT NOT NULL,
                 synced_at  TEXT NOT NULL
             );",
        )
        .map_err(db_error("cannot create sync_state"))?;
        Ok(Store { conn })
    }

    /// Creates `name` with `columns` when missing. A table from an older
    /// spec gains the columns the spec added since, with their values moved
    /// out of `extra`, where the older run kept them as undocumented. The
    /// columns the spec no longer names, which are kept.
    pub fn table(
        &mut self,
        name: &str,
        columns: Vec<Column>,
    ) -> Result<(Table, Vec<String>), String> {
        let id_index = columns
            .iter()
            .position(|c| c.name == "Id")
            .ok_or("the record schema has no Id")?;
        let tx = self
            .conn
            .transaction()
            .map_err(db_error("cannot begin a transaction"))?;
        let defs = definitions(&columns, sql_type, "TEXT");
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} ({});",
            quoted(name),
            defs.join(", ")
        ))
        .map_err(db_error("cannot create the table"))?;
        let existing: Vec<String> = {
            let mut stmt = tx
                .prepare(&format!("PRAGMA table_info({})", quoted(name)))
                .map_err(db_error("cannot read the table's columns"))?;
            let names = stmt
                .query_map([], |row| row.get::<_, String>(1))
                .map_err(db_error("cannot read the table's columns"))?;
            names
                .collect::<Result<_, _>>()
                .map_err(db_error("cannot read the table's columns"))?
        };
        for c in &columns {
            if existing.iter().any(|e| e.eq_ignore_ascii_case(&c.name)) {
                continue;
            }
            let (table, column, path) = (quoted(name), quoted(&c.name), json_path(&c.name));
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {ty};
                 UPDATE {table} SET {column} = json_extract(extra, '{path}'),
                                    extra = json_remove(extra, '{path}')
                  WHERE json_type(extra, '{path}') IS NOT NULL;
                 UPDATE {table} SET extra = NULL WHERE extra = '{{}}';",
                ty = sql_type(c.kind),
                path = path.replace('\'', "''"),
            ))
            .map_err(|e| format!("cannot add the column {}: {e}", c.name))?;
        }
        tx.commit().map_err(db_error("cannot commit"))?;
        let dropped: Vec<String> = existing
            .into_iter()
            .filter(|e| e != EXTRA && !columns.iter().any(|c| c.name.eq_ignore_ascii_case(e)))
            .collect();

        let names = quoted_names(&columns);
        let params: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT({}) DO NOTHING",
            quoted(name),
            names.join(", "),
            params.join(", "),
            quoted("Id"),
        );
        let sets: Vec<String> = names
            .iter()
            .zip(&params)
            .map(|(n, p)| format!("{n} = {p}"))
            .collect();
        let differs: Vec<String> = names
            .iter()
            .zip(&params)
            .map(|(n, p)| format!("{n} IS NOT {p}"))
            .collect();
        // Only a row that differs is written, so a record delivered again
        // (the walk is at-least-once) counts as unchanged, not updated.
        let update = format!(
            "UPDATE {} SET {} WHERE {} = ?{} AND ({})",
            quoted(name),
            sets.join(", "),
            quoted("Id"),
            id_index + 1,
            differs.join(" OR "),
        );
        let table = Table {
            name: name.to_owned(),
            columns,
            id_index,
            insert,
            update,
        };
        Ok((table, dropped))
    }

    /// The checkpoint stored for `resource`, if a run committed one.
    pub fn checkpoint(&self, resource: &str) -> Result<Option<Checkpoint>, String> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT checkpoint FROM sync_state WHERE resource = ?1",
                [resource],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error("cannot read sync_state"))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                format!("the checkpoint of {resource} in sync_state is unreadable: {e}")
            })
        })
        .transpose()
    }

    /// Every Id in `table`.
    pub fn ids(&self, table: &Table) -> Result<Vec<i32>, String> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT \"Id\" FROM {}", quoted(&table.name)))
            .map_err(db_error("cannot read the Ids"))?;
        let ids = stmt
            .query_map([], |row| row.get(0))
            .map_err(db_error("cannot read the Ids"))?;
        ids.collect::<Result<_, _>>()
            .map_err(db_error("cannot read the Ids"))
    }

    /// Rows in `table`.
    pub fn count(&self, table: &Table) -> Result<u64, String> {
        let n: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {}", quoted(&table.name)),
                [],
                |row| row.get(0),
            )
            .map_err(db_error("cannot count the rows"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// In one transaction: upserts `records` (full records as JSON), deletes
    /// the rows of `deleted`, and stores `checkpoint` for `resource`. All of
    /// it is committed, or none.
    pub fn apply(&mut self, table: &Table, write: Write<'_>) -> Result<Applied, String> {
        let Write {
            records,
            deleted,
            checkpoint,
        } = write;
        let tx = self
            .conn
            .transaction()
            .map_err(db_error("cannot begin a transaction"))?;
        let mut outcomes = Vec::with_capacity(records.len());
        {
            let mut insert = tx
                .prepare_cached(&table.insert)
                .map_err(db_error("cannot prepare the insert"))?;
            let mut update = tx
                .prepare_cached(&table.update)
                .map_err(db_error("cannot prepare the update"))?;
            for record in records {
                let values = row(table, record)?;
                let id = match values.get(table.id_index) {
                    Some(Sql::Integer(id)) => i32::try_from(*id).ok(),
                    _ => None,
                }
                .ok_or("a record without an integer Id")?;
                let params = rusqlite::params_from_iter(values.iter());
                let outcome = if insert
                    .execute(params)
                    .map_err(|e| format!("cannot insert record {id}: {e}"))?
                    == 1
                {
                    Outcome::Inserted
                } else if update
                    .execute(rusqlite::params_from_iter(values.iter()))
                    .map_err(|e| format!("cannot update record {id}: {e}"))?
                    == 1
                {
                    Outcome::Updated
                } else {
                    Outcome::Unchanged
                };
                outcomes.push((id, outcome));
            }
        }
        let mut removed = 0;
        {
            let mut delete = tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE \"Id\" = ?1",
                    quoted(&table.name)
                ))
                .map_err(db_error("cannot prepare the delete"))?;
            for id in deleted {
                removed += delete
                    .execute([id])
                    .map_err(|e| format!("cannot delete record {id}: {e}"))?
                    as u64;
            }
        }
        if let Some((resource, checkpoint)) = checkpoint {
            let text = serde_json::to_string(checkpoint)
                .map_err(|e| format!("cannot write the checkpoint: {e}"))?;
            tx.execute(
                "INSERT INTO sync_state (resource, checkpoint, synced_at)
                 VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                 ON CONFLICT(resource) DO UPDATE
                 SET checkpoint = excluded.checkpoint, synced_at = excluded.synced_at",
                params![resource, text],
            )
            .map_err(db_error("cannot store the checkpoint"))?;
        }
        tx.commit().map_err(db_error("cannot commit"))?;
        Ok(Applied {
            outcomes,
            removed,
            not_as_sent: 0,
        })
    }
}

/// The values of one record's row: each column's field converted to its
/// kind, then `extra` with every field that has no column.
fn row(table: &Table, record: &Value) -> Result<Vec<Sql>, String> {
    let fields = record
        .as_object()
        .ok_or("a record that is not a JSON object")?;
    let mut values: Vec<Sql> = table
        .columns
        .iter()
        .map(|c| sql(c.kind, fields.get(&c.name)))
        .collect();
    let extra: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !table.columns.iter().any(|c| &c.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    values.push(if extra.is_empty() {
        Sql::Null
    } else {
        Sql::Text(Value::Object(extra).to_string())
    });
    Ok(values)
}

/// A field's value as its column stores it. A value that does not fit the
/// column's kind (the typed decode makes that unlikely) is kept as JSON
/// text rather than dropped.
fn sql(kind: Kind, value: Option<&Value>) -> Sql {
    let Some(value) = value else {
        return Sql::Null;
    };
    match (kind, value) {
        (_, Value::Null) => Sql::Null,
        (Kind::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Text(n.to_string()),
        },
        (Kind::Real, Value::Number(n)) => match n.as_f64() {
            Some(f) => Sql::Real(f),
            None => Sql::Text(n.to_string()),
        },
        (Kind::Boolean, Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        (Kind::Text | Kind::DateTime, Value::String(s)) => Sql::Text(s.clone()),
        (_, other) => Sql::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::schema::columns;

    /// A write of `records` alone.
    fn upserts(records: &[Value]) -> Write<'_> {
        Write {
            records,
            ..Write::default()
        }
    }

    /// A write of `records` stored with the checkpoint `cp` of resource `t`.
    fn marked<'a>(records: &'a [Value], cp: &'a Checkpoint) -> Write<'a> {
        Write {
            checkpoint: Some(("t", cp)),
            ..upserts(records)
        }
    }

    fn store() -> (Store, Table) {
        let mut store = Store {
            conn: Connection::open_in_memory().unwrap(),
        };
        store
            .conn
            .execute_batch(
                "CREATE TABLE sync_state (resource TEXT PRIMARY KEY, checkpoint TEXT NOT NULL,
                 synced_at TEXT NOT NULL);",
            )
            .unwrap();
        let (table, _) = store
            .table(
                "t",
                columns(nexudus_timepasses::spec::Resource::CoworkerTimePasses.spec()).unwrap(),
            )
            .unwrap();
        (store, table)
    }

    #[test]
    fn upserts_tell_inserted_updated_and_unchanged() {
        let (mut store, table) = store();
        let a = json!({"Id": 1, "Used": true, "Price": 1.5, "Colour": "teal"});
        let b = json!({"Id": 1, "Used": false, "Price": 1.5, "Colour": "teal"});
        let cp = Checkpoint::default();
        let o = store.apply(&table, marked(&[a], &cp)).unwrap();
        assert_eq!(o.outcomes, [(1, Outcome::Inserted)]);
        let o = store
            .apply(&table, upserts(std::slice::from_ref(&b)))
            .unwrap();
        assert_eq!(o.outcomes, [(1, Outcome::Updated)]);
        let o = store.apply(&table, upserts(&[b])).unwrap();
        assert_eq!(o.outcomes, [(1, Outcome::Unchanged)]);
        let (used, extra): (i64, String) = store
            .conn
            .query_row("SELECT \"Used\", extra FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((used, extra.as_str()), (0, r#"{"Colour":"teal"}"#));
        assert_eq!(store.checkpoint("t").unwrap(), Some(cp));
        let removed = store
            .apply(&table, Write::deletes(&[1, 2]))
            .unwrap()
            .removed;
        assert_eq!(removed, 1);
        assert_eq!(store.count(&table).unwrap(), 0);
    }

    #[test]
    fn a_failed_batch_leaves_no_rows_and_no_checkpoint() {
        let (mut store, table) = store();
        let cp = Checkpoint {
            updated_since: Some("2025-01-01T10:00".into()),
        };
        let bad = json!(["not an object"]);
        let good = json!({"Id": 5});
        assert!(store.apply(&table, marked(&[good, bad], &cp)).is_err());
        assert_eq!(store.count(&table).unwrap(), 0);
        assert_eq!(store.checkpoint("t").unwrap(), None);
    }

    #[test]
    fn a_field_the_spec_adds_moves_out_of_extra() {
        let (mut store, _) = store();
        let old = vec![Column {
            name: "Id".into(),
            kind: Kind::Integer,
        }];
        let (t, _) = store.table("u", old).unwrap();
        let rec = json!({"Id": 3, "Used": true, "Other": [1]});
        store.apply(&t, upserts(&[rec])).unwrap();
        let new = vec![
            Column {
                name: "Id".into(),
                kind: Kind::Integer,
            },
            Column {
                name: "Used".into(),
                kind: Kind::Boolean,
            },
        ];
        let (_, dropped) = store.table("u", new[..1].to_vec()).unwrap();
        assert!(dropped.is_empty());
        store.table("u", new).unwrap();
        let (_, dropped) = store
            .table(
                "u",
                vec![Column {
                    name: "Id".into(),
                    kind: Kind::Integer,
                }],
            )
            .unwrap();
        assert_eq!(dropped, ["Used"]);
        let (used, extra): (i64, String) = store
            .conn
            .query_row("SELECT \"Used\", extra FROM u", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((used, extra.as_str()), (1, r#"{"Other":[1]}"#));
    }
}
