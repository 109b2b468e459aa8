//! The databases the sync tests sync into and read back: a SQLite file, or
//! a schema of a throwaway PostgreSQL cluster. Rows come back as each
//! backend stores them, and [`differences`] compares them with the
//! server's records field by field (PostgreSQL timestamps as instants).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::Value as Sql;
use serde_json::Value;

#[path = "postgres.rs"]
pub mod cluster;

/// Where a sync writes.
#[derive(Clone)]
pub enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A schema of a PostgreSQL database, with a connection to read it.
    Postgres {
        url: String,
        schema: String,
        reader: Arc<tokio_postgres::Client>,
    },
}

/// A stored value, as its backend gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Sqlite(Sql),
    Postgres(Value),
}

/// One table's rows: Id → (column → value), and the columns' declared types.
pub type Rows = (
    BTreeMap<i32, BTreeMap<String, Cell>>,
    HashMap<String, String>,
);

impl Db {
    /// A fresh SQLite file in its own directory.
    pub fn sqlite(name: &str) -> Db {
        let dir = std::env::temp_dir().join(format!("nexudus-sync-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Db::Sqlite(dir.join("passes.db"))
    }

    /// Schema `schema` of the cluster's `postgres` database.
    pub async fn postgres(cluster: &cluster::Cluster, schema: &str) -> Db {
        let url = cluster.url("postgres");
        let config: tokio_postgres::Config = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres password={}",
            cluster.port(),
            cluster::PASSWORD
        )
        .parse()
        .expect("a connection string");
        let (reader, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("the test connects to PostgreSQL");
        tokio::spawn(connection);
        Db::Postgres {
            url,
            schema: schema.to_owned(),
            reader: Arc::new(reader),
        }
    }

    /// `--into …` (and `--schema …`) for this database.
    pub fn args(&self) -> Vec<String> {
        match self {
            Db::Sqlite(path) => vec!["--into".into(), format!("sqlite:{}", path.display())],
            Db::Postgres { url, schema, .. } => {
                vec![
                    "--into".into(),
                    url.clone(),
                    "--schema".into(),
                    schema.clone(),
                ]
            }
        }
    }

    /// Which backend, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    /// The checkpoint a run committed for `resource`, if any.
    pub async fn checkpoint(&self, resource: &str) -> Option<String> {
        match self {
            Db::Sqlite(path) => {
                // Opening a missing file would create it: wait for the run to.
                if !path.exists() {
                    return None;
                }
                let conn = rusqlite::Connection::open(path).ok()?;
                conn.query_row(
                    "SELECT checkpoint FROM sync_state WHERE resource = ?1",
                    [resource],
                    |r| r.get(0),
                )
                .ok()
            }
            Db::Postgres { schema, reader, .. } => {
                let sql =
                    format!("SELECT checkpoint FROM \"{schema}\".sync_state WHERE resource = $1");
                let row = reader.query_opt(&sql, &[&resource]).await.ok()??;
                Some(row.get(0))
            }
        }
    }

    /// Every row of `table`.
    pub async fn rows(&self, table: &str) -> Rows {
        match self {
            Db::Sqlite(path) => sqlite_rows(path, table),
            Db::Postgres { schema, reader, .. } => postgres_rows(reader, schema, table).await,
        }
    }
}

fn sqlite_rows(db: &std::path::Path, table: &str) -> Rows {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let mut info = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    let cols: Vec<(String, String)> = info
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let types = cols.iter().cloned().collect();
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let mut rows = BTreeMap::new();
    let mut q = stmt.query([]).unwrap();
    while let Some(row) = q.next().unwrap() {
        let mut fields = BTreeMap::new();
        for (i, (name, _)) in cols.iter().enumerate() {
            fields.insert(name.clone(), Cell::Sqlite(row.get::<_, Sql>(i).unwrap()));
        }
        let id = match fields.get("Id") {
            Some(Cell::Sqlite(Sql::Integer(id))) => *id as i32,
            other => panic!("a row without an integer Id: {other:?}"),
        };
        rows.insert(id, fields);
    }
    (rows, types)
}

async fn postgres_rows(reader: &tokio_postgres::Client, schema: &str, table: &str) -> Rows {
    let types: HashMap<String, String> = reader
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
            &[&format!("\"{schema}\".\"{table}\"")],
        )
        .await
        .expect("the columns")
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let sql = format!("SELECT to_jsonb(t)::text FROM \"{schema}\".\"{table}\" t");
    let mut rows = BTreeMap::new();
    for row in reader.query(&sql, &[]).await.expect("the rows") {
        let Value::Object(fields) = serde_json::from_str(row.get::<_, &str>(0)).unwrap() else {
            panic!("a row that is not an object");
        };
        let id = fields["Id"].as_i64().expect("an integer Id") as i32;
        let cells = fields
            .into_iter()
            .map(|(k, v)| (k, Cell::Postgres(v)))
            .collect();
        rows.insert(id, cells);
    }
    (rows, types)
}

/// An instant of the API's text or PostgreSQL's JSON rendering of one.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// Whether a stored value is the JSON value the server sent, read by the
/// column's declared type.
pub fn same(stored: &Cell, sent: Option<&Value>, declared: &str) -> bool {
    match stored {
        Cell::Sqlite(sql) => same_sqlite(sql, sent, declared),
        Cell::Postgres(value) => same_postgres(value, sent, declared),
    }
}

/// SQLite: booleans as INTEGER 1/0, arrays and objects as JSON text,
/// absent or null as NULL.
fn same_sqlite(stored: &Sql, sent: Option<&Value>, declared: &str) -> bool {
    match (stored, sent) {
        (Sql::Null, None | Some(Value::Null)) => true,
        (Sql::Integer(i), Some(Value::Bool(b))) => declared == "INTEGER" && *i == i64::from(*b),
        (Sql::Integer(i), Some(Value::Number(n))) => {
            declared == "INTEGER" && n.as_i64() == Some(*i)
        }
        (Sql::Real(f), Some(Value::Number(n))) => declared == "REAL" && n.as_f64() == Some(*f),
        (Sql::Text(t), Some(Value::String(s))) => t == s,
        (Sql::Text(t), Some(v @ (Value::Array(_) | Value::Object(_)))) => {
            serde_json::from_str::<Value>(t).ok().as_ref() == Some(v)
        }
        _ => false,
    }
}

/// PostgreSQL (read as `to_jsonb`): date-times compared as instants,
/// numbers by value, jsonb as JSON.
fn same_postgres(stored: &Value, sent: Option<&Value>, declared: &str) -> bool {
    match (stored, sent, declared) {
        (Value::Null, None | Some(Value::Null), _) => true,
        (Value::String(s), Some(Value::String(t)), "timestamp with time zone") => {
            instant(s).is_some() && instant(s) == instant(t)
        }
        (Value::Number(a), Some(Value::Number(b)), "bigint") => {
            a.as_i64().is_some() && a.as_i64() == b.as_i64()
        }
        (Value::Number(a), Some(Value::Number(b)), "double precision") => a.as_f64() == b.as_f64(),
        (Value::Bool(a), Some(Value::Bool(b)), "boolean") => a == b,
        (Value::String(a), Some(Value::String(b)), "text") => a == b,
        (stored, Some(sent), "jsonb") => stored == sent,
        _ => false,
    }
}

/// The `extra` column as a JSON object (empty when NULL).
fn extra_of(cell: &Cell) -> serde_json::Map<String, Value> {
    match cell {
        Cell::Sqlite(Sql::Null) | Cell::Postgres(Value::Null) => serde_json::Map::new(),
        Cell::Sqlite(Sql::Text(t)) => serde_json::from_str(t).expect("extra is a JSON object"),
        Cell::Postgres(Value::Object(o)) => o.clone(),
        other => panic!("extra is {other:?}"),
    }
}

/// Every difference between the database and `expected`; empty when each
/// table holds exactly the server's records, every field equal.
pub async fn differences(db: &Db, expected: &BTreeMap<&str, BTreeMap<i32, Value>>) -> Vec<String> {
    let mut out = Vec::new();
    for (table, records) in expected {
        let (rows, types) = db.rows(table).await;
        for id in rows.keys().filter(|id| !records.contains_key(id)) {
            out.push(format!("{table}: row {id} is not on the server"));
        }
        for (id, record) in records {
            let Some(row) = rows.get(id) else {
                out.push(format!("{table}: record {id} is missing"));
                continue;
            };
            out.extend(row_differences(table, *id, row, record, &types));
        }
    }
    out.truncate(20);
    out.iter().map(|d| format!("{}: {d}", db.label())).collect()
}

/// The differences of one row from the record the server sent.
pub fn row_differences(
    table: &str,
    id: i32,
    row: &BTreeMap<String, Cell>,
    record: &Value,
    types: &HashMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let fields = record.as_object().expect("a record is an object");
    for (column, stored) in row.iter().filter(|(c, _)| *c != "extra") {
        if !same(stored, fields.get(column), &types[column]) {
            out.push(format!(
                "{table} {id} {column}: stored {stored:?}, server {:?}",
                fields.get(column)
            ));
        }
    }
    let extra: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !row.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let stored_extra = extra_of(&row["extra"]);
    if stored_extra != extra {
        out.push(format!(
            "{table} {id} extra: stored {stored_extra:?}, server {extra:?}"
        ));
    }
    out
}
