//! Figure 1b's baseline: the least an HTTP endpoint taking the same sync requests does. A
//! warp server on loopback that checks the bearer header is there, parses each body into
//! the gateway's typed samples (`ClientSample`) and answers 200 with the count;
//! no validation, no database, no Kafka. What the gateway does beyond that is the cost of
//! its guarantees (sessions, validation, stable ids, sealing, the durable append).

use std::net::SocketAddr;

use anyhow::Result;
use bytes::Bytes;
use healthpipe_gateway::ClientSample;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::Filter;

#[derive(Debug, Deserialize)]
struct Body {
    /// The gateway's own typed form of a sample, parsed the same way.
    samples: Vec<ClientSample>,
}

/// Serves the minimal endpoint on a free loopback port until `stop`; its base URL.
pub async fn serve(stop: CancellationToken) -> Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let sync = warp::post()
        .and(warp::path!("api" / "v1" / "devices" / String / "sync"))
        .and(warp::header::<String>("authorization"))
        .and(warp::body::content_length_limit(5 * 1024 * 1024))
        .and(warp::body::bytes())
        .map(|_device: String, _auth: String, body: Bytes| {
            match serde_json::from_slice::<Body>(&body) {
                Ok(parsed) => warp::reply::with_status(
                    format!(
                        "{{\"synced\":{},\"errors\":0,\"error_details\":[]}}",
                        parsed.samples.len()
                    ),
                    StatusCode::OK,
                ),
                Err(e) => warp::reply::with_status(e.to_string(), StatusCode::BAD_REQUEST),
            }
        });
    tokio::spawn(
        warp::serve(sync)
            .incoming(listener)
            .graceful(stop.cancelled_owned())
            .run(),
    );
    Ok(url)
}
