//! The mutation envelope in the shapes the docs show: success, validation
//! failure (400 with `Errors[]`) and failed delete (500).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::resources::Stamp;
use crate::types::{FieldError, MutationResult, MutationValue, MutationValueInner};

/// Keys the docs show as null; the generated type skips `None`, so they go
/// into its map of unlisted fields to be written.
fn nulls(keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .map(|k| ((*k).to_owned(), Value::Null))
        .collect()
}

/// 200: the change was applied. `id` is `Value.Id`; `None` gives `Value: null`.
pub(crate) fn done(message: String, id: Option<i32>, stamp: &Stamp) -> Response {
    let value = MutationValue(id.map(|id| MutationValueInner {
        id: Some(id),
        extra: Map::new(),
    }));
    let body = MutationResult {
        status: Some(200),
        message: Some(message),
        value: Some(value),
        open_in_dialog: Some(false),
        open_in_window: Some(false),
        redirect_url: None,
        java_script: None,
        updated_on: Some(stamp.now),
        updated_by: Some(stamp.by.clone()),
        errors: None,
        was_successful: true,
        extra: nulls(&["RedirectURL", "JavaScript", "Errors"]),
    };
    Json(body).into_response()
}

/// 400: the body was refused; `Message` is `Property: message` of the first
/// error, as in the docs' example.
pub(crate) fn invalid(errors: Vec<FieldError>) -> Response {
    let message = errors
        .first()
        .map(|e| {
            if e.property_name.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.property_name, e.message)
            }
        })
        .unwrap_or_default();
    let body = MutationResult {
        status: None,
        message: Some(message),
        value: Some(MutationValue(None)),
        open_in_dialog: None,
        open_in_window: None,
        redirect_url: None,
        java_script: None,
        updated_on: None,
        updated_by: None,
        errors: Some(errors),
        was_successful: false,
        extra: Map::new(),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// 500: the delete was refused, in the envelope the docs show for it.
pub(crate) fn delete_failed() -> Response {
    let body = MutationResult {
        status: Some(500),
        message: Some("An error occurred while deleting the record.".into()),
        value: Some(MutationValue(None)),
        open_in_dialog: None,
        open_in_window: None,
        redirect_url: None,
        java_script: None,
        updated_on: None,
        updated_by: None,
        errors: None,
        was_successful: false,
        extra: nulls(&["RedirectURL", "UpdatedOn", "UpdatedBy", "Errors"]),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
