//! What the CLI's integration tests that start a stand-in share: the
//! binary under test, starting the stand-in, a library client for it, and
//! the server's records to compare a command's output with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nexudus_timepasses::stand_in::{StandIn, StandInBuilder};
use nexudus_timepasses::{Client, Credentials, Pacing, Record};
use serde_json::Value;

/// The `nexudus` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_nexudus");

/// The console script `name` of a virtual environment the xtask installs
/// into the target directory (`<target dir>/<venv>/bin/name`, beside the
/// binary's profile directory); a clear failure naming `install`, the
/// command that installs it, when it is missing.
#[allow(dead_code)]
pub fn venv_tool(venv: &str, name: &str, install: &str) -> PathBuf {
    let target_dir = Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("the binary sits in <target dir>/<profile>/");
    let (bin, exe) = if cfg!(windows) {
        ("Scripts", format!("{name}.exe"))
    } else {
        ("bin", name.to_owned())
    };
    let tool = target_dir.join(venv).join(bin).join(exe);
    assert!(
        tool.is_file(),
        "{name} is not installed at {}: run `{install}` (with the same CARGO_TARGET_DIR), or \
         `cargo xtask check`, which installs it before the tests",
        tool.display()
    );
    tool
}

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

/// Every full record on the server, as JSON by Id, per resource: the Ids
/// of a listing, then batch gets of 100.
#[allow(dead_code)]
pub async fn server_data(client: &Client) -> BTreeMap<&'static str, BTreeMap<i32, Value>> {
    let mut out = BTreeMap::new();
    macro_rules! load {
        ($table:literal, $handle:expr) => {{
            let handle = $handle;
            let listed = handle.all(|q| q).await.expect("a listing");
            let ids: Vec<i32> = listed.iter().map(|r| r.id).collect();
            let mut records = BTreeMap::new();
            for chunk in ids.chunks(100) {
                for r in handle.get_many(chunk).await.expect("a batch get") {
                    records.insert(r.id(), serde_json::to_value(&r).expect("json"));
                }
            }
            assert_eq!(records.len(), ids.len(), "every listed Id is found");
            out.insert($table, records);
        }};
    }
    load!("timepasses", client.time_passes());
    load!("coworkertimepasses", client.coworker_time_passes());
    load!("producttimepasses", client.product_time_passes());
    out
}
