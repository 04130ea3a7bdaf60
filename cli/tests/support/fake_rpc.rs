//! A fake JSON-RPC server on 127.0.0.1 for the tests: each request's method goes to `answer`
//! (`None`: "method not found", HTTP 404). Serves up to 200 requests, one per connection, in
//! a thread that ends with them (or with the test process).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};

/// Start the server; returns its port.
pub fn serve(answer: fn(&str) -> Option<Value>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let req: Value = serde_json::from_slice(&body).unwrap_or_default();
            let (status, reply) = match answer(req["method"].as_str().unwrap_or("")) {
                Some(v) => (200, json!({ "result": v, "error": null, "id": req["id"] })),
                None => (
                    404,
                    json!({ "result": null, "error": { "code": -32601, "message": "Method not found" }, "id": req["id"] }),
                ),
            };
            let body = reply.to_string();
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}
