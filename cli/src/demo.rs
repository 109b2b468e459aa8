//! `--demo`: the embedded stand-in server, started inside the command on a
//! free port of 127.0.0.1 with seeded data and its own account, so every
//! command can be tried without a Nexudus account.

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;
use nexudus_timepasses::Credentials;

use crate::failure::{code, Failure};

/// Starts the demo server with `coworker_time_passes` CoworkerTimePasses
/// (and the stand-in's default TimePasses and ProductTimePasses). It stops
/// when the returned value is dropped.
pub async fn start(coworker_time_passes: usize) -> Result<(StandIn, Credentials), Failure> {
    let server = StandIn::builder()
        .records(Resource::CoworkerTimePasses, coworker_time_passes)
        .start()
        .await
        .map_err(|e| Failure::new(code::OTHER, format!("cannot start the demo server: {e}")))?;
    let credentials = Credentials::password(server.email(), server.password());
    Ok((server, credentials))
}
