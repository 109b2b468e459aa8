//! A tiny blocking HTTP/1.1 server on 127.0.0.1 for the misbehaviour
//! wiremock cannot produce (a connection closed or reset once the request
//! was read, a body that stalls or never ends), and clients set up for it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use nexudus_timepasses::{Client, ClientBuilder, Credentials, Pacing, RetryPolicy};
use serde_json::Value;

use super::BEARER;

/// What the raw server read of one request.
pub struct RawRequest {
    pub head: String,
}

/// Reads a request's head (up to the blank line) and, unless `head_only`,
/// its `Content-Length` body. Bounded by a read timeout and a size limit.
pub fn read_request(stream: &mut TcpStream, head_only: bool) -> RawRequest {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing past the head is consumed.
    while !data.ends_with(b"\r\n\r\n") && data.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => data.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    if !head_only {
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length.min(1 << 20)];
        let _ = stream.read_exact(&mut body);
    }
    RawRequest { head }
}

/// Serves at most `connections` connections on 127.0.0.1, each with
/// `answer`, and counts them. Its thread ends after the last one.
pub fn raw_server(
    connections: usize,
    answer: impl Fn(TcpStream) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { break };
            count.fetch_add(1, Ordering::SeqCst);
            answer(stream);
        }
    });
    (format!("http://{address}"), served)
}

/// Writes a complete 200 answer with `body` as JSON, and closes.
pub fn write_json(stream: &mut TcpStream, body: &Value) {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// Answers one request with `head` (a status line, headers and the start
/// of a body), then sends nothing more while holding the connection open
/// for `hold`.
pub fn stall_after_head(head: &'static str, hold: Duration) -> impl Fn(TcpStream) + Send + 'static {
    move |mut stream| {
        read_request(&mut stream, false);
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.flush();
        std::thread::sleep(hold);
    }
}

/// A client for a raw server: bearer token, no retries, no pacing.
pub fn raw_client(base: &str) -> Client {
    raw_builder(base).build().unwrap()
}

/// [`raw_client`]'s settings, to change some before building.
pub fn raw_builder(base: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_secs(5))
}

/// A base URL on 127.0.0.1 that nobody listens on.
pub fn refused_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
