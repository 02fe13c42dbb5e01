//! Serving connections: the accept loop, the connection cap with idle eviction, per-connection request limits.

use super::*;

/// Serves `router(state)` on `listener` until `shutdown` completes; requests
/// in flight then finish. Each connection lives under the state's
/// [`ConnectionLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let limits = state.inner.config.connections;
    let metrics = state.clone();
    let app = router(state);
    let connections = Arc::new(Connections::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (id, close) = match connections.admit() {
            Admitted::Yes { id, close, evicted } => {
                if evicted {
                    metrics.inner.metrics.connection_evicted();
                }
                (id, close)
            }
            Admitted::No => {
                metrics.inner.metrics.connection_refused();
                tokio::spawn(refuse_connection(
                    stream,
                    limits.max_connections,
                    metrics.new_request_id(),
                ));
                continue;
            }
        };
        let served = Arc::new(AtomicU64::new(0));
        let max_requests = u64::from(limits.max_requests_per_connection.max(1));
        let app = app.clone();
        let table = connections.clone();
        let service = hyper::service::service_fn(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let app = app.clone();
                let count = served.fetch_add(1, Ordering::Relaxed) + 1;
                // The connection counts as busy once the request is whole
                // (headers and body): a client trickling its body is as
                // idle as one trickling its headers.
                let busy = Arc::new(std::sync::Mutex::new(None));
                let (parts, body) = request.into_parts();
                let body = TrackedBody::new(body, table.clone(), id, busy.clone());
                let request = axum::http::Request::from_parts(parts, axum::body::Body::new(body));
                async move {
                    use tower::ServiceExt;
                    let mut response = app.oneshot(request).await?;
                    drop(busy.lock().unwrap_or_else(|p| p.into_inner()).take());
                    if count >= max_requests {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let table = connections.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection closed");
                    }
                }
                // Evicted to make room: dropping the connection closes it.
                () = close.notified() => tracing::debug!("idle connection evicted"),
            }
            table.remove(id);
        });
    }
    drop(listener);
    // Let the requests in flight finish (bounded by the request timeout).
    let _ = tokio::time::timeout(limits.request_timeout, graceful.shutdown()).await;
    Ok(())
}

/// The open connections, for the cap. At the cap a new connection takes
/// the place of the one idle longest — waiting for its headers (a slow or
/// hostile client) or for its next keep-alive request — so clients that
/// hold connections without sending requests cannot lock others out; only
/// when every connection has a request in flight is a newcomer refused.
pub(crate) struct Connections {
    pub(crate) cap: usize,
    pub(crate) next: AtomicU64,
    pub(crate) open: std::sync::Mutex<std::collections::HashMap<u64, Connection>>,
}

pub(crate) struct Connection {
    /// Requests in flight.
    pub(crate) busy: u32,
    /// Since when it has had none.
    pub(crate) idle_since: std::time::Instant,
    pub(crate) close: Arc<tokio::sync::Notify>,
}

pub(crate) enum Admitted {
    Yes {
        id: u64,
        close: Arc<tokio::sync::Notify>,
        evicted: bool,
    },
    No,
}

/// A request body that marks its connection busy once it has all been
/// received.
pub(crate) struct TrackedBody {
    pub(crate) inner: hyper::body::Incoming,
    pub(crate) table: Arc<Connections>,
    pub(crate) id: u64,
    pub(crate) busy: Arc<std::sync::Mutex<Option<Busy>>>,
}

impl TrackedBody {
    pub(crate) fn new(
        inner: hyper::body::Incoming,
        table: Arc<Connections>,
        id: u64,
        busy: Arc<std::sync::Mutex<Option<Busy>>>,
    ) -> Self {
        let body = TrackedBody {
            inner,
            table,
            id,
            busy,
        };
        if hyper::body::Body::is_end_stream(&body.inner) {
            body.received();
        }
        body
    }

    pub(crate) fn received(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if busy.is_none() {
            *busy = Some(self.table.busy(self.id));
        }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None))
            || hyper::body::Body::is_end_stream(&self.inner)
        {
            self.received();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request in flight on a connection; dropping it marks the connection
/// idle again.
pub(crate) struct Busy {
    pub(crate) table: Arc<Connections>,
    pub(crate) id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut open = self.table.lock();
        if let Some(c) = open.get_mut(&self.id) {
            c.busy = c.busy.saturating_sub(1);
            if c.busy == 0 {
                c.idle_since = std::time::Instant::now();
            }
        }
    }
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Self {
        Connections {
            cap,
            next: AtomicU64::new(0),
            open: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub(crate) fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Connection>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn admit(&self) -> Admitted {
        let mut open = self.lock();
        let mut evicted = false;
        if open.len() >= self.cap {
            let idlest = open
                .iter()
                .filter(|(_, c)| c.busy == 0)
                .min_by_key(|(_, c)| c.idle_since)
                .map(|(id, _)| *id);
            let Some(victim) = idlest else {
                return Admitted::No;
            };
            if let Some(c) = open.remove(&victim) {
                c.close.notify_one();
            }
            evicted = true;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(tokio::sync::Notify::new());
        open.insert(
            id,
            Connection {
                busy: 0,
                idle_since: std::time::Instant::now(),
                close: close.clone(),
            },
        );
        Admitted::Yes { id, close, evicted }
    }

    pub(crate) fn busy(self: &Arc<Self>, id: u64) -> Busy {
        if let Some(c) = self.lock().get_mut(&id) {
            c.busy += 1;
        }
        Busy {
            table: self.clone(),
            id,
        }
    }

    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Answers a connection over the cap with `503` (the error shape of every
/// answer, under a request id the service makes: the request is never
/// read) and closes it, within a second whatever the client does.
pub(crate) async fn refuse_connection(
    mut stream: tokio::net::TcpStream,
    cap: usize,
    request_id: String,
) {
    use tokio::io::AsyncWriteExt;
    let body = json!({"requestId": request_id, "error": {"status": 503, "code": "too-many-connections",
        "message": format!("the service holds its maximum of {cap} connections, each answering a request; retry shortly")}})
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod connection_tests {
    use super::*;

    pub(crate) fn id(admitted: Admitted) -> u64 {
        match admitted {
            Admitted::Yes { id, .. } => id,
            Admitted::No => panic!("refused"),
        }
    }

    #[test]
    pub(crate) fn at_the_cap_the_idlest_connection_makes_room_and_busy_ones_never_do() {
        let table = Arc::new(Connections::new(2));
        let a = id(table.admit());
        let b = id(table.admit());
        // `a` has a request in flight; `b` is waiting (for headers, a body
        // or its next request).
        let a_busy = table.busy(a);
        let Admitted::Yes { id: c, evicted, .. } = table.admit() else {
            panic!("refused while an idle connection could make room");
        };
        assert!(evicted);
        assert!(!table.lock().contains_key(&b), "the idle one was evicted");
        assert!(table.lock().contains_key(&a), "the busy one stays");
        // Every connection busy: the newcomer is refused.
        let c_busy = table.busy(c);
        assert!(matches!(table.admit(), Admitted::No));
        // A request done: its connection is idle again and can make room.
        drop(c_busy);
        assert!(matches!(table.admit(), Admitted::Yes { evicted: true, .. }));
        drop(a_busy);
    }

    #[test]
    pub(crate) fn the_connection_idle_longest_goes_first() {
        let table = Arc::new(Connections::new(3));
        let first = id(table.admit());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = id(table.admit());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let third = id(table.admit());
        // `first` just finished a request: now the idlest is `second`.
        drop(table.busy(first));
        let _ = table.admit();
        let open = table.lock();
        assert!(open.contains_key(&first) && open.contains_key(&third));
        assert!(!open.contains_key(&second));
    }
}

#[cfg(test)]
mod refuse_tests {
    /// A connection refused at the cap gets the shape of every error: a
    /// request id in the header and the body, and a documented code.
    #[tokio::test]
    async fn a_refused_connection_gets_an_error_with_a_request_id() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        });
        let (stream, _) = listener.accept().await.unwrap();
        super::refuse_connection(stream, 4, "abc-7".to_string()).await;
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("x-request-id: abc-7\r\n"), "{answer}");
        let body: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["requestId"], "abc-7");
        assert_eq!(body["error"]["code"], "too-many-connections");
    }
}
