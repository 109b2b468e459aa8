//! Stored credentials against the stand-in: a sign-in saved to a
//! `FileTokenStore`, clients that start from it, one refresh shared by
//! clients that each hold their own store handle (as separate processes
//! do), every rotation saved, and the errors of an empty store and a
//! refused refresh token.

use std::path::PathBuf;
use std::time::Duration;

use nexudus_timepasses::stand_in::{StandIn, StandInBuilder};
use nexudus_timepasses::{
    Client, Credentials, Error, FileTokenStore, Pacing, StoredToken, TokenStore,
};
use secrecy::ExposeSecret;

async fn start(builder: StandInBuilder) -> StandIn {
    builder.start().await.expect("the stand-in starts")
}

fn client(server: &StandIn, credentials: Credentials) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .credentials(credentials)
        .pacing(Pacing::unlimited())
        .build()
        .expect("a client")
}

fn token_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nexudus-stored-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("token.json")
}

/// Signs in with the password and saves the token in a new store.
async fn signed_in(server: &StandIn, path: &PathBuf) -> StoredToken {
    let password = Credentials::password(server.email(), server.password());
    let token = client(server, password).sign_in().await.expect("signed in");
    let store = FileTokenStore::new(path);
    let _guard = store.lock().unwrap();
    store.save(&token).unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_one_store_share_one_refresh_and_save_the_rotation() {
    let server = start(StandIn::builder().token_ttl(Duration::from_secs(1))).await;
    let path = token_path("shared");
    let first = signed_in(&server, &path).await;
    assert_eq!(server.stats().token_exchanges, 1);

    // While fresh, the stored token is used as is: no exchange.
    let fresh = client(&server, Credentials::stored(FileTokenStore::new(&path)));
    fresh.time_passes().list(|q| q).await.expect("listed");
    assert_eq!(server.stats().token_exchanges, 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Eight clients, each with its own handle on the file, as eight
    // processes would have: one refresh among them.
    let clients: Vec<Client> = (0..8)
        .map(|_| client(&server, Credentials::stored(FileTokenStore::new(&path))))
        .collect();
    let calls = clients
        .iter()
        .map(|c| async move { c.time_passes().list(|q| q).await });
    for outcome in futures::future::join_all(calls).await {
        outcome.expect("listed after the token expired");
    }
    assert_eq!(server.stats().token_exchanges, 2, "one refresh, not more");
    assert_eq!(server.stats().unauthorized, 0);

    let saved = FileTokenStore::new(&path).load().unwrap().unwrap();
    assert_ne!(
        saved.refresh_token().unwrap().expose_secret(),
        first.refresh_token().unwrap().expose_secret(),
        "the rotated refresh token was not saved"
    );
    assert_eq!(saved.client_id(), server.email());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_and_a_refused_refresh_token_are_errors() {
    let server = start(StandIn::builder().token_ttl(Duration::from_secs(1))).await;
    let path = token_path("refused");
    let empty = client(&server, Credentials::stored(FileTokenStore::new(&path)));
    let e = empty.time_passes().list(|q| q).await.unwrap_err();
    assert!(matches!(e, Error::TokenStore(_)), "{e:?}");
    assert_eq!(server.stats().requests(), 0, "a request without a token");

    signed_in(&server, &path).await;
    // A new sign-in for the same client_id replaces the stored refresh
    // token on the server: the stored one stops working.
    let password = Credentials::password(server.email(), server.password());
    client(&server, password).sign_in().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = client(&server, Credentials::stored(FileTokenStore::new(&path)));
    let e = stale.time_passes().list(|q| q).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Unauthorized {
                operation: "request_token",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        FileTokenStore::new(&path).load().unwrap().is_some(),
        "the store was emptied"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn sign_in_needs_a_password_grant() {
    let server = start(StandIn::builder()).await;
    let bearer = client(&server, Credentials::bearer("t"));
    assert!(matches!(bearer.sign_in().await, Err(Error::Config(_))));
}
