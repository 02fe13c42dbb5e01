//! Every error is one shape: a JSON body with its request id, the same
//! id once in the header, and the answer measured under its route.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slicegate_server::{AppState, Config, router};
use tower::ServiceExt;

use crate::support::{get, get_over_tcp, read_some, service, service_with, start_server};

/// A request (method, path, body), the status it must be answered with,
/// and the route it is measured under.
type Case = (
    &'static str,
    &'static str,
    Option<(&'static str, Vec<u8>)>,
    StatusCode,
    &'static str,
);

/// Every error answer, from every route and from no route, is one shape
/// rendered in one place: the request id once in the header and the same
/// in the body; and every answer is counted under its route in the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_carries_its_request_id_once_and_every_route_is_measured() {
    let service = service();
    let state = &service.state;
    let cases = error_cases();
    for (i, case) in cases.iter().enumerate() {
        carries_its_request_id_once(state, &format!("err-{i}"), case).await;
    }
    every_route_is_measured(state, &cases).await;
}

/// Errors from no route, the wrong method, the wrong media type and
/// malformed bodies, on every route that takes one.
fn error_cases() -> [Case; 8] {
    [
        ("GET", "/nope", None, StatusCode::NOT_FOUND, "unmatched"),
        (
            "DELETE",
            "/healthz",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "healthz",
        ),
        (
            "GET",
            "/v1/decisions",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "decisions",
        ),
        (
            "POST",
            "/v1/decisions",
            Some(("text/plain", b"{}".to_vec())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "decisions",
        ),
        (
            "POST",
            "/v1/decisions",
            Some(("application/json", b"{".to_vec())),
            StatusCode::BAD_REQUEST,
            "decisions",
        ),
        (
            "POST",
            "/v1/plans:check",
            Some(("application/json", b"[]".to_vec())),
            StatusCode::BAD_REQUEST,
            "plans:check",
        ),
        (
            "POST",
            "/v1/sol003/grants",
            Some(("application/json", b"{}".to_vec())),
            StatusCode::BAD_REQUEST,
            "sol003/grants",
        ),
        (
            "POST",
            "/v1/sol003/grants",
            Some(("application/json", b"null".to_vec())),
            StatusCode::BAD_REQUEST,
            "sol003/grants",
        ),
    ]
}

/// The answer to `case` sent with `id`: the id once in the header and the
/// same in the body of an error of the expected status.
async fn carries_its_request_id_once(state: &AppState, id: &str, case: &Case) {
    let (method, path, body, status, _) = case;
    let request = {
        let mut request = Request::builder()
            .method(*method)
            .uri(*path)
            .header("x-request-id", id);
        if let Some((kind, _)) = body {
            request = request.header("content-type", *kind);
        }
        request
            .body(
                body.as_ref()
                    .map_or_else(Body::empty, |(_, b)| Body::from(b.clone())),
            )
            .unwrap()
    };
    let response = router(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), *status, "{method} {path}");
    let ids: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids, [id], "{method} {path}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["requestId"], json!(id), "{method} {path}: {body}");
    assert_eq!(body["error"]["status"], json!(status.as_u16()), "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
}

async fn every_route_is_measured(state: &AppState, cases: &[Case]) {
    let metrics = get(state, "/metrics").await.text;
    for (_, _, _, status, endpoint) in cases {
        let line = format!(
            "slicegate_http_responses_total{{endpoint=\"{endpoint}\",status=\"{}\"}}",
            status.as_u16()
        );
        assert!(metrics.contains(&line), "no `{line}` in\n{metrics}");
    }
    assert!(
        metrics.contains("slicegate_request_duration_seconds_count{endpoint=\"unmatched\"} 1"),
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
}

/// A request not read in time is answered 408 in the shape of every error,
/// with its request id in the header and the body, and is measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_is_a_json_408_with_its_request_id() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let service = service_with(|_| Config {
        connections: slicegate_server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_millis(300),
            max_connections: 8,
            max_requests_per_connection: 10,
        },
        ..Config::default()
    });
    let server = start_server(&service.state).await;
    let addr = server.addr;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Request-Id: slow-body-1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let answer = read_some(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("x-request-id: slow-body-1"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["requestId"], "slow-body-1", "{answer}");
    assert_eq!(body["error"]["code"], "request-timeout", "{answer}");
    let metrics = get_over_tcp(addr, "/metrics").await;
    assert!(
        metrics.contains("slicegate_http_responses_total{endpoint=\"decisions\",status=\"408\"} 1"),
        "{metrics}"
    );
    let _ = server.stop.send(());
    server.task.await.unwrap().unwrap();
}
