//! The PostgreSQL server of the shared-store tests: `WEBSTIR_TEST_POSTGRES` (a superuser URL,
//! set by scripts/test, which starts a throw-away server). Each test gets a database of its
//! own, so that the tests run in parallel.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::{NoTls, Row};

/// The server's URL; `None`, with the reason printed, only where PostgreSQL is not installed.
/// A machine that has it but was not given a server fails the test: scripts/test starts one.
pub fn server() -> Option<String> {
    if let Ok(url) = std::env::var("WEBSTIR_TEST_POSTGRES")
        && !url.is_empty()
    {
        return Some(url);
    }
    assert!(
        !postgres_installed(),
        "PostgreSQL is installed but WEBSTIR_TEST_POSTGRES is not set: run the tests with \
         scripts/test, which starts a throw-away server (or set it to a superuser URL)"
    );
    eprintln!(
        "skipped: WEBSTIR_TEST_POSTGRES is not set and PostgreSQL (initdb) is not installed; \
         scripts/test installs and starts it"
    );
    None
}

fn postgres_installed() -> bool {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("initdb").is_file()));
    let packaged = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| v.path().join("bin/initdb").is_file())
    });
    on_path || packaged
}

/// A new, empty database on `server`; returns its URL.
pub fn fresh_database(server: &str, test: &str) -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "webstir_{}_{}_{}",
        test.replace('-', "_"),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    sql(server, &format!("CREATE DATABASE {name}"));
    with_database(server, &name)
}

/// `server` with its database replaced by `name`.
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// The database name of a URL made by [`fresh_database`].
pub fn database_of(url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Runs `query` (one statement, no parameters) on `url` and returns its rows. On a thread of
/// its own, so that async tests can call it too.
pub fn sql(url: &str, query: &str) -> Vec<Row> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    let (client, connection) = tokio_postgres::connect(url, NoTls)
                        .await
                        .unwrap_or_else(|e| panic!("connect to the test server: {e}"));
                    tokio::spawn(connection);
                    client
                        .query(query, &[])
                        .await
                        .unwrap_or_else(|e| panic!("{query}: {e}"))
                })
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Makes the database of `url` refuse connections and ends the open ones: the store is
/// gone for its watchers, while other tests' databases go on.
pub fn cut_off(server: &str, url: &str) {
    let name = database_of(url);
    sql(
        server,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    );
    sql(
        server,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
}

/// Lets the database of `url` take connections again.
pub fn restore(server: &str, url: &str) {
    let name = database_of(url);
    sql(
        server,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
}
