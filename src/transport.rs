//! Per-request behaviour of the generated client, through progenitor's
//! `ClientHooks`.

use progenitor_client::ClientHooks;

use crate::generated::Client;

/// State the generated client carries for the hooks.
#[derive(Clone, Debug, Default)]
pub struct Hooks {}

impl ClientHooks<Hooks> for Client {}
