//! `nexudus drift -o overlay`: the spec change a drift check proposes, as
//! an OpenAPI Overlay 1.0 document in YAML, with what no action covers
//! (fields create or update bodies may take, findings left to a person) in
//! comments above it.

use nexudus_timepasses::drift::Proposal;

use super::apply::to_yaml;

/// The overlay's `info.title`.
pub const TITLE: &str = "What `nexudus drift` saw that openapi.yaml does not describe";

/// The overlay document of `proposal`, with its comments. A proposal with
/// no change is comments only (an Overlay must hold an action).
pub fn render(proposal: &Proposal) -> Result<String, String> {
    let mut text = format!(
        "# An OpenAPI Overlay 1.0 written by `nexudus drift -o overlay` on {}.\n\
         # Types are inferred from the shapes of the values seen; no value is copied.\n\
         # Review it, then: nexudus drift --apply openapi.yaml --overlay THIS_FILE\n",
        proposal.date
    );
    section(
        &mut text,
        "Not in any action: fields a create or update body may take too. Only a\n\
         # person can tell whether the API accepts them on write:",
        &proposal.write_candidates,
    );
    section(&mut text, "Left to a person:", &proposal.left);
    if proposal.is_empty() {
        text.push_str("# Nothing to change.\n");
        return Ok(text);
    }
    let document = to_yaml(&proposal.overlay(TITLE));
    text.push_str(&serde_yaml::to_string(&document).map_err(|e| e.to_string())?);
    Ok(text)
}

/// A comment section of one line per item; none when there are no items.
fn section(text: &mut String, heading: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    text.push_str(&format!("#\n# {heading}\n"));
    for item in items {
        // Names come from the server: a line break in one must not end
        // the comment.
        text.push_str(&format!("#   {}\n", item.escape_debug()));
    }
}
