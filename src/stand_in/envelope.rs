//! The mutation envelope in the shapes the docs show: success, validation
//! failure (400 with `Errors[]`) and failed delete (500), written as JSON
//! objects with exactly the keys each shape has.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::write::Stamp;

/// One entry of `Errors[]`: a field error in the API's words.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Refusal {
    pub(crate) attempted_value: Value,
    pub(crate) message: String,
    pub(crate) property_name: String,
}

/// A field error; `attempted` is the value sent (null when none was).
pub(crate) fn refusal(property: &str, message: &str, attempted: Option<Value>) -> Refusal {
    Refusal {
        attempted_value: attempted.unwrap_or(Value::Null),
        message: message.to_owned(),
        property_name: property.to_owned(),
    }
}

/// 200: the change was applied. `id` is `Value.Id`; `None` gives `Value: null`.
pub(crate) fn done(message: String, id: Option<i32>, stamp: &Stamp) -> Response {
    let body = json!({
        "Status": 200,
        "Message": message,
        "Value": id.map(|id| json!({ "Id": id })),
        "OpenInDialog": false,
        "OpenInWindow": false,
        "RedirectURL": null,
        "JavaScript": null,
        "UpdatedOn": stamp.now,
        "UpdatedBy": stamp.by,
        "Errors": null,
        "WasSuccessful": true,
    });
    Json(body).into_response()
}

/// 400: the body was refused; `Message` is `Property: message` of the first
/// error, as in the docs' example.
pub(crate) fn invalid(errors: Vec<Refusal>) -> Response {
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
    let body = json!({
        "Message": message,
        "Value": null,
        "Errors": errors,
        "WasSuccessful": false,
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// 500: the delete was refused, in the envelope the docs show for it.
pub(crate) fn delete_failed() -> Response {
    let body = json!({
        "Status": 500,
        "Message": "An error occurred while deleting the record.",
        "Value": null,
        "RedirectURL": null,
        "UpdatedOn": null,
        "UpdatedBy": null,
        "Errors": null,
        "WasSuccessful": false,
    });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
