//! The raw client that build.rs generates from `openapi.yaml` with progenitor.
//!
//! Never edited by hand: behaviour belongs in the spec or in the handwritten
//! modules beside this one. Its items carry the spec's descriptions; the
//! builder helpers typify adds have none, hence the allow.
#![allow(missing_docs, clippy::all, unused_imports)]

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
