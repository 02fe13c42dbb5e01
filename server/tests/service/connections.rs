//! Slow and numerous clients against a real server over TCP: the
//! connection cap, eviction, header timeouts and keep-alive budgets.

use std::net::SocketAddr;
use std::time::Duration;

use slicegate_server::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{
    allowed_placement, get_over_tcp, post_over_tcp, read_some, service_with, start_server,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_numerous_clients_do_not_take_the_service_down() {
    let service = service_with(|_| Config {
        connections: slicegate_server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            max_connections: 32,
            max_requests_per_connection: 3,
        },
        ..Config::default()
    });
    let server = start_server(&service.state).await;
    let addr = server.addr;

    let mut hostile = half_headers_do_not_keep_a_good_client_out(addr).await;
    reopening_past_the_cap_does_not_lock_a_good_client_out(addr, &mut hostile).await;
    the_hostile_connections_are_closed_by_eviction_and_timeout(addr, &mut hostile).await;
    idle_and_busy_keep_alive_connections_are_closed(addr).await;

    let _ = server.stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

/// Slowloris: 24 connections, each holding half a request header; a good
/// client is answered meanwhile. Returns the hostile connections.
async fn half_headers_do_not_keep_a_good_client_out(addr: SocketAddr) -> Vec<TcpStream> {
    let mut hostile = Vec::new();
    for _ in 0..24 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await
            .unwrap();
        hostile.push(stream);
    }
    // A good client is answered meanwhile.
    assert!(
        get_over_tcp(addr, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );
    hostile
}

/// Past the cap, hostile clients that keep (re)opening connections — half
/// headers, or whole headers and a trickled body — cannot lock a good
/// client out: each newcomer takes the place of the connection idle
/// longest, and the good client's request, once whole, is never evicted.
async fn reopening_past_the_cap_does_not_lock_a_good_client_out(
    addr: SocketAddr,
    hostile: &mut Vec<TcpStream>,
) {
    for round in 0..3 {
        for i in 0..16 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let start: &[u8] = if i % 2 == 0 {
                b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Slow: "
            } else {
                b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"op"
            };
            stream.write_all(start).await.unwrap();
            hostile.push(stream);
        }
        let answer = get_over_tcp(addr, "/healthz").await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
        let decided = post_over_tcp(addr, "/v1/decisions", &allowed_placement().to_string()).await;
        assert!(
            decided.starts_with("HTTP/1.1 200"),
            "round {round}: {decided}"
        );
    }
}

async fn the_hostile_connections_are_closed_by_eviction_and_timeout(
    addr: SocketAddr,
    hostile: &mut [TcpStream],
) {
    // The evicted connections were closed by the service.
    let mut closed = 0;
    for stream in hostile.iter_mut() {
        if read_some(stream, Duration::from_millis(20)).await.is_some() {
            closed += 1;
        }
    }
    assert!(
        closed >= 16,
        "only {closed} hostile connections were closed"
    );
    // The header timeout closes the rest.
    for stream in hostile.iter_mut() {
        let gone = read_some(stream, Duration::from_secs(6)).await;
        assert!(gone.is_some(), "a slow connection was not closed");
    }
    let metrics = get_over_tcp(addr, "/metrics").await;
    assert!(
        metrics.contains("slicegate_connections_refused_total 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("slicegate_connections_evicted_total 0\n"),
        "{metrics}"
    );
}

async fn idle_and_busy_keep_alive_connections_are_closed(addr: SocketAddr) {
    // An idle keep-alive connection is closed after the header timeout, and
    // a busy one after its request budget.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_some(&mut idle, Duration::from_secs(2))
            .await
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    let after_idle = read_some(&mut idle, Duration::from_secs(4)).await;
    assert_eq!(after_idle.as_deref(), Some(""), "closed, not left open");
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let mut answers = String::new();
    for _ in 0..3 {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        answers.push_str(&read_some(&mut busy, Duration::from_secs(2)).await.unwrap());
    }
    assert!(answers.contains("connection: close"), "{answers}");
}
