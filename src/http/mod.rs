//! `scheduler --watch --http ADDR`: Prometheus metrics, a health check, a status page and a
//! JSON API over the running watcher, on the watcher's own tokio runtime.
//!
//! The server hears of runs through the engine's observer (see
//! [`crate::scheduler::observer`]) and keeps what it shows in memory ([`history`]).

pub mod history;
pub mod metrics;
pub mod page;
pub mod server;
pub mod state;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, header};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

pub use state::Status;

use crate::scheduler::Engine;
use crate::scheduler::manual::ManualRun;

/// Where to serve, and the token that allows manual runs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    pub token: Option<Token>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HttpConfigError {
    #[error(
        "`{0}` is not an address to serve on; expected IP:PORT (127.0.0.1:9090, [::1]:9090, 0.0.0.0:9090) or a port (9090, which binds 127.0.0.1)"
    )]
    BadAddress(String),
    #[error(
        "refusing to serve on {0} without a token: that address is reachable from other machines; set --http-token (or WEBSTIR_HTTP_TOKEN), or bind 127.0.0.1"
    )]
    ExposedWithoutToken(SocketAddr),
    #[error("the HTTP token is empty")]
    EmptyToken,
}

impl HttpConfig {
    /// Checks a bind address against the token: anything but a loopback address needs one.
    pub fn new(addr: SocketAddr, token: Option<String>) -> Result<HttpConfig, HttpConfigError> {
        let token = match token {
            Some(token) if token.trim().is_empty() => return Err(HttpConfigError::EmptyToken),
            Some(token) => Some(Token(Arc::from(token.as_str()))),
            None => None,
        };
        if token.is_none() && !addr.ip().is_loopback() {
            return Err(HttpConfigError::ExposedWithoutToken(addr));
        }
        Ok(HttpConfig { addr, token })
    }
}

/// `--http`'s value: `IP:PORT`, `localhost:PORT`, `PORT` or `:PORT` (the last two on
/// 127.0.0.1).
pub fn parse_addr(raw: &str) -> Result<SocketAddr, HttpConfigError> {
    let bad = || HttpConfigError::BadAddress(raw.to_owned());
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let port = raw
        .strip_prefix("localhost:")
        .or_else(|| raw.strip_prefix(':'))
        .unwrap_or(raw);
    let port: u16 = port.parse().map_err(|_| bad())?;
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

/// The bearer token. Its `Debug` hides it: it must never reach a log line.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// Whether `headers` carry `Authorization: Bearer <this token>`, compared in constant time.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let (a, b) = (given.trim().as_bytes(), self.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A running server; [`Server::shutdown`] ends it after the watch loop has returned.
pub struct Server {
    pub addr: SocketAddr,
    status: Arc<Status>,
    task: JoinHandle<()>,
    manual_runs: Arc<Mutex<JoinSet<()>>>,
}

impl Server {
    /// Binds `config.addr` and serves `status`; manual runs of watched jobs are handed to the
    /// watch loop through `loop_runs`, those of other jobs go through `engine`.
    pub async fn start(
        config: &HttpConfig,
        status: Arc<Status>,
        engine: Arc<Engine>,
        loop_runs: mpsc::Sender<ManualRun>,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let manual_runs = Arc::new(Mutex::new(JoinSet::new()));
        let app = server::App {
            status: Arc::clone(&status),
            engine,
            token: config.token.clone(),
            loop_runs,
            manual_runs: Arc::clone(&manual_runs),
        };
        let router = server::router(app);
        let task = tokio::spawn(async move {
            // An accept error is retried by axum; serve returns only if the listener dies.
            let _ = axum::serve(listener, router).await;
        });
        status.set_watching(true);
        Ok(Server {
            addr,
            status,
            task,
            manual_runs,
        })
    }

    /// Stops serving, then waits for manual runs (already told to stop with the others).
    pub async fn shutdown(self) {
        self.status.set_watching(false);
        self.task.abort();
        let _ = self.task.await;
        let mut runs =
            std::mem::take(&mut *self.manual_runs.lock().unwrap_or_else(|p| p.into_inner()));
        while runs.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_binds_loopback() {
        let local = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        assert_eq!(parse_addr("9090"), Ok(local(9090)));
        assert_eq!(parse_addr(":9090"), Ok(local(9090)));
        assert_eq!(parse_addr("localhost:0"), Ok(local(0)));
        assert_eq!(
            parse_addr("[::1]:9090").map(|a| a.ip().is_loopback()),
            Ok(true)
        );
        assert!(matches!(
            parse_addr("example.com:80"),
            Err(HttpConfigError::BadAddress(_))
        ));
        assert!(parse_addr("127.0.0.1").is_err());
    }

    #[test]
    fn only_loopback_is_served_without_a_token() {
        let any: SocketAddr = "0.0.0.0:9090".parse().expect("an address");
        assert_eq!(
            HttpConfig::new(any, None).map(|_| ()),
            Err(HttpConfigError::ExposedWithoutToken(any))
        );
        assert!(HttpConfig::new(any, Some("s3cret".into())).is_ok());
        assert!(HttpConfig::new("127.0.0.1:0".parse().expect("an address"), None).is_ok());
        assert_eq!(
            HttpConfig::new(any, Some("  ".into())).map(|_| ()),
            Err(HttpConfigError::EmptyToken)
        );
    }

    #[test]
    fn the_token_is_checked_exactly_and_never_printed() {
        let token = Token(Arc::from("s3cret"));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                value.parse().expect("a header value"),
            );
            headers
        };
        assert!(token.authorizes(&with("Bearer s3cret")));
        assert!(!token.authorizes(&with("Bearer s3cre")));
        assert!(!token.authorizes(&with("Basic s3cret")));
        assert!(!token.authorizes(&HeaderMap::new()));
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
