//! HTTP endpoints: /metrics (OpenMetrics), /healthz, /events (NDJSON; ADR 0014,
//! instance id and `follow=false` ADR 0075).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};

use crate::state::State;

/// Kernel send buffer per HTTP connection (SO_SNDBUF; the kernel doubles it).
pub const SEND_BUFFER_BYTES: i32 = 256 * 1024;

pub fn limit_send_buffer(tcp: &tokio::net::TcpStream, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on a socket fd we own, with a pointer to a c_int
    // and its size.
    let rc = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            &bytes as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "SO_SNDBUF");
    }
}

pub struct App {
    pub registry: Registry,
    pub state: Arc<State>,
    pub shutdown: watch::Receiver<bool>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/events", get(events))
        .with_state(app)
}

async fn metrics(AxState(app): AxState<Arc<App>>) -> Response {
    // Scrapes read files and BPF maps: keep them off the async workers.
    let res = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &app.registry).map(|_| out)
    })
    .await;
    match res {
        Ok(Ok(body)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response(),
    }
}

async fn healthz(AxState(app): AxState<Arc<App>>) -> Response {
    let signals: serde_json::Map<String, serde_json::Value> = app
        .state
        .status
        .iter()
        .map(|s| {
            (
                s.signal.to_string(),
                s.source
                    .clone()
                    .map_or(serde_json::Value::Null, serde_json::Value::String),
            )
        })
        .collect();
    let body =
        serde_json::json!({"status": "ok", "node": app.state.settings.node, "signals": signals});
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct EventsQuery {
    /// Replay buffered events with a sequence number above this (0 = all).
    since: Option<u64>,
    /// false: end the response after the replay instead of streaming live
    /// events (what the observer holds, for one-off lookups).
    follow: Option<bool>,
}

/// Response header naming this observer run; `seq` restarts with a new one.
pub const INSTANCE_HEADER: &str = "kernel-gossip-instance";
/// Response header: the last `seq` published before this response began, so a
/// live-only client knows where to resume from.
pub const LAST_SEQ_HEADER: &str = "kernel-gossip-last-seq";

/// Per-client queue between the hub and the HTTP body. A client whose queue
/// is full is slow: it is cut off (counted) instead of buffering without
/// bound. The check happens in a forwarder task, because a client that stops
/// reading also stops the HTTP layer from polling its body stream.
const CLIENT_QUEUE: usize = crate::events::CLIENT_BUFFER;

async fn events(AxState(app): AxState<Arc<App>>, Query(q): Query<EventsQuery>) -> Response {
    let (backlog, mut hub_rx, last_seq) = app.state.hub.subscribe(q.since);
    let headers = [
        (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
        (
            header::HeaderName::from_static(INSTANCE_HEADER),
            app.state.hub.instance().to_string(),
        ),
        (
            header::HeaderName::from_static(LAST_SEQ_HEADER),
            last_seq.to_string(),
        ),
    ];
    let backlog = futures_util::stream::iter(backlog.into_iter().map(|(_, line)| line));
    if q.follow == Some(false) {
        let body = backlog
            .map(|line| Ok::<Bytes, std::io::Error>(Bytes::copy_from_slice(line.as_bytes())));
        return (headers, Body::from_stream(body)).into_response();
    }
    let (tx, rx) = mpsc::channel::<Arc<str>>(CLIENT_QUEUE);
    let state = app.state.clone();
    let mut shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = hub_rx.recv() => match r {
                    Ok((_, line)) => match tx.try_send(line) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            state.hub.clients_dropped.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        // The client went away.
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        state.hub.clients_dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tx.closed() => break,
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        // Dropping tx ends the body once the client has read what is queued.
    });
    let live = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (line, rx))
    });
    let body = backlog
        .chain(live)
        .map(|line| Ok::<Bytes, std::io::Error>(Bytes::copy_from_slice(line.as_bytes())));
    (headers, Body::from_stream(body)).into_response()
}
