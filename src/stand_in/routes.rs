//! The stand-in's HTTP surface: the token endpoint and the eight operations
//! of every resource the spec lists, one set of handlers driven by each
//! resource's layout, behind the limits and the auth check.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{self, Account, Tokens};
use super::body;
use super::envelope::{self, refusal};
use super::limits::{bump, Counters, Limits};
use super::row::{layout, Cell, Layout};
use super::rules;
use super::store::{self, Db, ListQuery, Page};
use super::write::{self, Stamp, Write};
use crate::spec::Resource;
use crate::types::RunCommandRequest;

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) account: Account,
    pub(crate) db: RwLock<Db>,
    pub(crate) tokens: Mutex<Tokens>,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
}

type Shared = Arc<AppState>;

impl AppState {
    fn read(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Db> {
        self.db.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn stamp(&self) -> Stamp {
        Stamp::now(&self.account.email)
    }
}

/// The whole application.
pub(crate) fn router(state: Shared) -> Router {
    let resources = Resource::ALL
        .into_iter()
        .fold(Router::new(), |router, r| router.merge(resource(layout(r))))
        .route_layer(middleware::map_response(too_large))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/api/token", post(token))
        .merge(resources)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

fn resource(l: &'static Layout) -> Router<Shared> {
    let base = l.spec.path;
    Router::new()
        .route(
            base,
            get(move |s: State<Shared>, q: RawQuery| list(s, l, q))
                .post(move |s: State<Shared>, b: Bytes| create(s, l, b))
                .put(move |s: State<Shared>, b: Bytes| update(s, l, b)),
        )
        .route(
            &format!("{base}/"),
            get(move |s: State<Shared>, q: RawQuery| batch(s, l, q)),
        )
        .route(
            &format!("{base}/commands"),
            get(move |s: State<Shared>, q: RawQuery| commands(s, l, q)),
        )
        .route(
            &format!("{base}/runcommand"),
            post(move |s: State<Shared>, b: Bytes| run(s, l, b)),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |s: State<Shared>, id: Path<String>| get_one(s, l, id))
                .delete(move |s: State<Shared>, id: Path<String>| delete(s, l, id)),
        )
}

/// Counts every request by method, applies the configured latency, and says
/// in `Server-Timing` how long the stand-in itself took (latency excluded),
/// so a benchmark can tell the client's time from the server's.
async fn count(State(s): State<Shared>, request: Request, next: Next) -> Response {
    s.counters.count_method(request.method());
    if !s.limits.latency.is_zero() {
        tokio::time::sleep(s.limits.latency).await;
    }
    let start = Instant::now();
    let mut response = next.run(request).await;
    let millis = start.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={millis:.3}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

/// A body over the size limit (axum's 2 MB) is refused in the API's
/// envelope, with status 413, instead of axum's plain-text answer.
async fn too_large(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let refused = envelope::invalid(vec![refusal(
        body::BODY,
        "is too large (2 MB at most)",
        None,
    )]);
    (StatusCode::PAYLOAD_TOO_LARGE, refused).into_response()
}

/// Resource calls: injected failures and throttling first (they come from in
/// front of the application), then bearer or basic auth.
async fn guard(State(s): State<Shared>, request: Request, next: Next) -> Response {
    if let Some(answer) = s.limits.intercept(&s.counters, request.method()) {
        return answer;
    }
    let allowed = {
        let tokens = s.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        s.account.allows(&tokens, request.headers())
    };
    if !allowed {
        bump(&s.counters.unauthorized);
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    next.run(request).await
}

async fn token(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = {
        let mut tokens = s.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        auth::token(&s.account, &mut tokens, &headers, &body)
    };
    if answer.status().is_success() {
        bump(&s.counters.token_exchanges);
    }
    answer
}

/// A path Id; anything that is not one names no record (404).
fn record_id(raw: &str) -> Option<i32> {
    raw.trim().parse().ok()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

async fn list(State(s): State<Shared>, l: &'static Layout, RawQuery(q): RawQuery) -> Response {
    let query = q.unwrap_or_default();
    let q = ListQuery::parse(l, url::form_urlencoded::parse(query.as_bytes()));
    let db = s.read();
    let table = db.table(l);
    let found = store::list(table, &q);
    let records = found
        .rows
        .iter()
        .map(|at| l.listed(table.at(*at)))
        .collect();
    Json(Page::new(&q, found.total, records)).into_response()
}

async fn get_one(State(s): State<Shared>, l: &'static Layout, Path(id): Path<String>) -> Response {
    let db = s.read();
    match record_id(&id).and_then(|id| db.table(l).get(id)) {
        Some(row) => Json(l.full(row)).into_response(),
        None => not_found(),
    }
}

/// Reads `id=[1,2,3]` (also `id=1,2` and repeated `id`), leniently: parts
/// that are not Ids are skipped. Each Id once, in the order asked.
fn batch_ids(query: &str) -> Vec<i32> {
    let mut seen = BTreeSet::new();
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k.eq_ignore_ascii_case("id"))
        .flat_map(|(_, v)| {
            v.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .filter_map(record_id)
                .collect::<Vec<_>>()
        })
        .filter(|id| seen.insert(*id))
        .collect()
}

async fn batch(State(s): State<Shared>, l: &'static Layout, RawQuery(q): RawQuery) -> Response {
    let ids = batch_ids(&q.unwrap_or_default());
    let db = s.read();
    let table = db.table(l);
    let records: Vec<_> = ids
        .iter()
        .filter_map(|id| table.get(*id))
        .map(|r| l.full(r))
        .collect();
    Json(records).into_response()
}

async fn create(State(s): State<Shared>, l: &'static Layout, bytes: Bytes) -> Response {
    let body = match (l.parse_create)(&bytes, l.spec.create_fields) {
        Ok(body) => body,
        Err(errors) => return envelope::invalid(errors),
    };
    let fields = l.spec.create_fields;
    let stamp = s.stamp();
    let mut db = s.write();
    let errors = write::check(&db, &body, fields);
    if !errors.is_empty() {
        return envelope::invalid(errors);
    }
    let mut first = None;
    for _ in 0..rules::copies(&body) {
        let id = db.table_mut(l).allocate_id();
        let row = write::build(&db, l, body.clone(), fields, Write::Create(id), &stamp);
        db.table_mut(l).put(row);
        first.get_or_insert(id);
    }
    drop(db);
    let message = format!("{} was successfully created.", l.spec.entity);
    envelope::done(message, first, &stamp)
}

async fn update(State(s): State<Shared>, l: &'static Layout, bytes: Bytes) -> Response {
    let body = match (l.parse_update)(&bytes, l.spec.update_fields) {
        Ok(body) => body,
        Err(errors) => return envelope::invalid(errors),
    };
    let fields = l.spec.update_fields;
    let id = body.get("Id").and_then(Value::as_i64).unwrap_or_default();
    let stamp = s.stamp();
    let mut db = s.write();
    let entity = l.spec.entity;
    let Some(prior) = i32::try_from(id).ok().and_then(|id| db.table(l).row(id)) else {
        let message = format!("no {entity} has this Id");
        return envelope::invalid(vec![refusal("Id", &message, Some(id.into()))]);
    };
    let errors = write::check(&db, &body, fields);
    if !errors.is_empty() {
        return envelope::invalid(errors);
    }
    let row = write::build(&db, l, body, fields, Write::Update(&prior), &stamp);
    let id = row.id;
    db.table_mut(l).put(row);
    write::propagate(&mut db, l, id);
    drop(db);
    envelope::done(
        format!("{entity} was successfully updated."),
        Some(id),
        &stamp,
    )
}

async fn delete(State(s): State<Shared>, l: &'static Layout, Path(id): Path<String>) -> Response {
    let Some(id) = record_id(&id) else {
        return not_found();
    };
    let stamp = s.stamp();
    let mut db = s.write();
    let Some(record) = db.table(l).get(id) else {
        return not_found();
    };
    if rules::undeletable(l, &record) || write::in_use(&db, l, id) {
        return envelope::delete_failed();
    }
    db.table_mut(l).remove(id);
    drop(db);
    let message = format!("{} was successfully deleted.", l.spec.entity);
    envelope::done(message, Some(id), &stamp)
}

fn descriptor(command: &rules::Command, order: i32) -> Value {
    json!({
        "Key": command.key,
        "Name": command.name,
        "AppliesOnlyToMultipleEntities": false,
        "AppliesOnlyToOneEntity": false,
        "AppliesOnlyToTwoEntities": false,
        "NeedsEntitiesToRun": true,
        "DisplayInDropdown": true,
        "DisplayInDropdownV2": true,
        "DisplayInGrid": true,
        "Icon": "/images/icons/command.svg",
        "Order": order,
        "RequiresParameters": [],
    })
}

async fn commands(State(s): State<Shared>, l: &'static Layout, RawQuery(q): RawQuery) -> Response {
    let query = q.unwrap_or_default();
    let only = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .map(|(_, v)| record_id(&v));
    let applies = match only {
        None => true,
        Some(id) => id.is_some_and(|id| s.read().table(l).get(id).is_some()),
    };
    let list: Vec<Value> = if applies {
        rules::commands(l.spec.entity)
            .iter()
            .zip(1..)
            .map(|(c, order)| descriptor(c, order))
            .collect()
    } else {
        Vec::new()
    };
    Json(list).into_response()
}

fn required_of_run() -> &'static [String] {
    static REQUIRED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    REQUIRED.get_or_init(|| {
        let root = schemars::schema_for!(RunCommandRequest);
        let names = root.schema.object.map(|o| o.required).unwrap_or_default();
        names.into_iter().collect()
    })
}

async fn run(State(s): State<Shared>, l: &'static Layout, bytes: Bytes) -> Response {
    let request = match body::decode::<RunCommandRequest>(&bytes, required_of_run(), &[]) {
        Ok(request) => request,
        Err(errors) => return envelope::invalid(errors),
    };
    let error = |property: &str, message: String, value: Value| {
        envelope::invalid(vec![refusal(property, &message, Some(value))])
    };
    let entity = l.spec.entity;
    let key = request.key.to_string();
    if key.trim().is_empty() {
        return error("Key", "is a required field".into(), key.into());
    }
    let Some(command) = rules::commands(entity).iter().find(|c| c.key == key) else {
        return error("Key", format!("is not a command of {entity}"), key.into());
    };
    if request.ids.is_empty() {
        return error("Ids", "is a required field".into(), json!([]));
    }
    let stamp = s.stamp();
    let mut db = s.write();
    if let Some(missing) = request
        .ids
        .iter()
        .find(|id| db.table(l).get(**id).is_none())
    {
        let message = format!("no {entity} has the Id {missing}");
        return error("Ids", message, json!(request.ids));
    }
    for id in &request.ids {
        if let Some(mut row) = db.table(l).row(*id) {
            row.set(l, command.field, Cell::Bool(command.value));
            write::touch(l, &mut row, &stamp);
            write::finish(&db, l, &mut row);
            db.table_mut(l).put(row);
        }
    }
    drop(db);
    envelope::done("The command was run correctly.".into(), None, &stamp)
}

#[cfg(test)]
mod tests {
    use super::batch_ids;

    #[test]
    fn reads_batch_ids_leniently() {
        assert_eq!(batch_ids("id=%5B1%2C2%2C3%5D"), [1, 2, 3]);
        assert_eq!(batch_ids("id=[3,1,3]"), [3, 1]);
        assert_eq!(batch_ids("id=1&id=2,x"), [1, 2]);
        assert!(batch_ids("").is_empty());
        assert!(batch_ids("id=[]").is_empty());
    }
}
