//! The stand-in's HTTP surface: the token endpoint and the eight operations
//! of each resource, as axum handlers generic over [`Resource`], behind the
//! limits and the auth check.

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
use serde_json::Map;

use super::auth::{self, Account, Tokens};
use super::body;
use super::envelope;
use super::limits::{bump, Counters, Limits};
use super::nulls::json_with_documented_nulls;
use super::resources::{
    CoworkerTimePasses, Db, Meta, ProductTimePasses, Resource, Stamp, TimePasses,
};
use super::store::{self, ListQuery, PageMeta};
use crate::types::{Command, RunCommandRequest};

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
    let resources = Router::new()
        .merge(resource::<TimePasses>())
        .merge(resource::<CoworkerTimePasses>())
        .merge(resource::<ProductTimePasses>())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/api/token", post(token))
        .merge(resources)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

fn resource<R: Resource>() -> Router<Shared> {
    let base = format!("/api/billing/{}", R::PATH);
    Router::new()
        .route(&base, get(list::<R>).post(create::<R>).put(update::<R>))
        .route(&format!("{base}/"), get(batch::<R>))
        .route(&format!("{base}/commands"), get(commands::<R>))
        .route(&format!("{base}/runcommand"), post(run::<R>))
        .route(
            &format!("{base}/{{id}}"),
            get(get_one::<R>).delete(delete::<R>),
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

async fn list<R: Resource>(State(s): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let shape = R::shape();
    let q = ListQuery::parse(
        R::ENTITY,
        url::form_urlencoded::parse(query.as_bytes()),
        |name| shape.resolve(name),
    );
    let page = {
        let db = s.read();
        let found = store::list(R::table(&db), &q);
        let meta = PageMeta::new(&q, found.total, found.rows.len());
        R::page(&found.rows, meta)
    };
    json_with_documented_nulls(&page)
}

async fn get_one<R: Resource>(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(id) = record_id(&id) else {
        return not_found();
    };
    let record = R::table(&s.read()).get(id).cloned();
    match record {
        Some(record) => json_with_documented_nulls(&record),
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

async fn batch<R: Resource>(State(s): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let ids = batch_ids(&query.unwrap_or_default());
    let records: Vec<R::Full> = {
        let db = s.read();
        let table = R::table(&db);
        ids.iter()
            .filter_map(|id| table.get(*id).cloned())
            .collect()
    };
    json_with_documented_nulls(&records)
}

async fn create<R: Resource>(State(s): State<Shared>, bytes: Bytes) -> Response {
    let shape = R::shape();
    let parsed = body::parse::<R::Create>(&bytes, &shape.create_required)
        .and_then(|b| body::recast::<R::Create, R::Update>(&b, 0));
    let body = match parsed {
        Ok(body) => body,
        Err(errors) => return envelope::invalid(errors),
    };
    let stamp = s.stamp();
    let mut db = s.write();
    let errors = R::check(&db, &body);
    if !errors.is_empty() {
        return envelope::invalid(errors);
    }
    let mut first = None;
    for _ in 0..R::copies(&body) {
        let id = R::table_mut(&mut db).allocate_id();
        let record = R::build(&db, body.clone(), Meta::created(id, &stamp), None);
        R::table_mut(&mut db).insert(record);
        first.get_or_insert(id);
    }
    drop(db);
    envelope::done(
        format!("{} was successfully created.", R::ENTITY),
        first,
        &stamp,
    )
}

async fn update<R: Resource>(State(s): State<Shared>, bytes: Bytes) -> Response {
    let body = match body::parse::<R::Update>(&bytes, &R::shape().update_required) {
        Ok(body) => body,
        Err(errors) => return envelope::invalid(errors),
    };
    let id = R::update_id(&body);
    let stamp = s.stamp();
    let mut db = s.write();
    let Some(prior) = R::table(&db).get(id).cloned() else {
        let error = super::resources::field_error(
            "Id",
            &format!("no {} has this Id", R::ENTITY),
            Some(id.into()),
        );
        return envelope::invalid(vec![error]);
    };
    let errors = R::check(&db, &body);
    if !errors.is_empty() {
        return envelope::invalid(errors);
    }
    let mut meta = R::meta(&prior);
    meta.updated_on = stamp.after(meta.updated_on);
    meta.updated_by = Some(stamp.by.clone());
    meta.is_new = false;
    let record = R::build(&db, body, meta, Some(&prior));
    if let Some(slot) = R::table_mut(&mut db).get_mut(id) {
        *slot = record;
    }
    R::after_write(&mut db, id);
    drop(db);
    envelope::done(
        format!("{} was successfully updated.", R::ENTITY),
        Some(id),
        &stamp,
    )
}

async fn delete<R: Resource>(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(id) = record_id(&id) else {
        return not_found();
    };
    let stamp = s.stamp();
    let mut db = s.write();
    if R::table(&db).get(id).is_none() {
        return not_found();
    }
    if R::in_use(&db, id) {
        return envelope::delete_failed();
    }
    R::table_mut(&mut db).remove(id);
    drop(db);
    envelope::done(
        format!("{} was successfully deleted.", R::ENTITY),
        Some(id),
        &stamp,
    )
}

fn descriptor(key: &str, name: &str, order: i32) -> Command {
    Command {
        key: key.to_owned(),
        name: Some(name.to_owned()),
        applies_only_to_multiple_entities: Some(false),
        applies_only_to_one_entity: Some(false),
        applies_only_to_two_entities: Some(false),
        needs_entities_to_run: Some(true),
        display_in_dropdown: Some(true),
        display_in_dropdown_v2: Some(true),
        display_in_grid: Some(true),
        icon: Some("/images/icons/command.svg".into()),
        order: Some(order),
        requires_parameters: Some(Vec::new()),
        extra: Map::new(),
    }
}

async fn commands<R: Resource>(State(s): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let only = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .map(|(_, v)| record_id(&v));
    let applies = match only {
        None => true,
        Some(id) => id.is_some_and(|id| R::table(&s.read()).get(id).is_some()),
    };
    let list: Vec<Command> = if applies {
        R::commands()
            .iter()
            .zip(1..)
            .map(|(c, order)| descriptor(c.key, c.name, order))
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
        root.schema
            .object
            .map(|o| o.required.into_iter().collect())
            .unwrap_or_default()
    })
}

async fn run<R: Resource>(State(s): State<Shared>, bytes: Bytes) -> Response {
    let request = match body::parse::<RunCommandRequest>(&bytes, required_of_run()) {
        Ok(request) => request,
        Err(errors) => return envelope::invalid(errors),
    };
    let error = |property: &str, message: String, value: serde_json::Value| {
        envelope::invalid(vec![super::resources::field_error(
            property,
            &message,
            Some(value),
        )])
    };
    if request.key.trim().is_empty() {
        return error(
            "Key",
            "is a required field".into(),
            request.key.to_string().into(),
        );
    }
    let Some(command) = R::commands().iter().find(|c| c.key == *request.key) else {
        let message = format!("is not a command of {}", R::ENTITY);
        return error("Key", message, request.key.to_string().into());
    };
    if request.ids.is_empty() {
        return error("Ids", "is a required field".into(), serde_json::json!([]));
    }
    let stamp = s.stamp();
    let mut db = s.write();
    let table = R::table_mut(&mut db);
    if let Some(missing) = request.ids.iter().find(|id| table.get(**id).is_none()) {
        let message = format!("no {} has the Id {missing}", R::ENTITY);
        return error("Ids", message, serde_json::json!(request.ids));
    }
    for id in &request.ids {
        if let Some(record) = table.get_mut(*id) {
            (command.apply)(record);
            R::touch(record, &stamp);
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
