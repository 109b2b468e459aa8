//! What the CLI's integration tests that start a stand-in share: the
//! binary under test, starting the stand-in, and a library client for it.

use nexudus_timepasses::stand_in::{StandIn, StandInBuilder};
use nexudus_timepasses::{Client, Credentials, Pacing};

/// The `nexudus` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_nexudus");

/// Starts the stand-in `builder` describes.
pub async fn start(builder: StandInBuilder) -> StandIn {
    builder.start().await.expect("the stand-in starts")
}

/// A library client of `server`, unpaced, signed in with its password.
/// (Not every test file that shares this module uses it.)
#[allow(dead_code)]
pub fn client(server: &StandIn) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::password(server.email(), server.password()))
        .pacing(Pacing::unlimited())
        .build()
        .expect("a client")
}
