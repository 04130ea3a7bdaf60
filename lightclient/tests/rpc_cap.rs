//! A hostile JSON-RPC server: an answer larger than the client's cap is refused with an error
//! naming the cap (the client also stops reading a body without a length at the cap).

use axum::routing::post;
use axum::Router;
use casl2_lightclient::rpc::{RpcClient, RpcError};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

/// A valid JSON-RPC answer whose result is a string of `n` bytes.
fn big_answer(n: usize) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"result":"{}"}}"#, "a".repeat(n))
}

#[tokio::test]
async fn an_answer_over_the_cap_is_refused_naming_the_cap() {
    // With a Content-Length.
    let url = serve(Router::new().route("/", post(|| async { big_answer(10_000) }))).await;
    let e = RpcClient::new(url.clone())
        .with_max_response(1_000)
        .call::<String>("l2_blocknumber", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::TooLarge { cap: 1_000, .. }), "{e:?}");
    assert!(e.to_string().contains("1000"), "{e}");
    // Under the cap the same answer is read.
    let ok = RpcClient::new(url)
        .with_max_response(20_000)
        .call::<String>("l2_blocknumber", &[])
        .await
        .unwrap();
    assert_eq!(ok.len(), 10_000);
}
