//! TLS to PostgreSQL with real handshakes: a server that takes TLS connections only
//! (`WEBSTIR_TEST_POSTGRES_TLS`, started by scripts/test with `scripts/postgres start DIR --tls`),
//! whose certificate names localhost and 127.0.0.1 and is signed by a throw-away CA
//! (`WEBSTIR_TEST_POSTGRES_TLS_CERTS`/ca.pem). Every `sslmode` is tried against it: the ones that
//! must encrypt connect, the ones that must check the certificate refuse a wrong CA or a wrong
//! name, and `disable` is turned away by the server.

mod postgres_support;

use std::path::PathBuf;

use webstir::store::{PostgresStore, StoreError};

/// The TLS server's URL (127.0.0.1) and the folder of its certificates.
fn tls_server() -> Option<(String, PathBuf)> {
    // Same rule as the plain server: skipped only where PostgreSQL is not installed.
    postgres_support::server()?;
    let url = std::env::var("WEBSTIR_TEST_POSTGRES_TLS").ok();
    let certs = std::env::var_os("WEBSTIR_TEST_POSTGRES_TLS_CERTS");
    match (url, certs) {
        (Some(url), Some(certs)) if !url.is_empty() => Some((url, PathBuf::from(certs))),
        _ => panic!(
            "WEBSTIR_TEST_POSTGRES is set but WEBSTIR_TEST_POSTGRES_TLS(_CERTS) are not: run the \
             tests with scripts/test, which starts a TLS-only server beside the plain one"
        ),
    }
}

/// `url` (postgres://postgres@127.0.0.1:PORT/postgres) with its host replaced by `host`, still
/// reaching 127.0.0.1 (`hostaddr`), and `query` appended.
fn reach(url: &str, host: &str, query: &str) -> String {
    let named = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    format!("{named}?hostaddr=127.0.0.1&{query}")
}

async fn refused(url: &str) -> String {
    match PostgresStore::connect(url, 10).await {
        Ok(_) => panic!("{url}: connected, and must not"),
        Err(error) => {
            assert!(
                matches!(error, StoreError::Unreachable { .. }),
                "{url}: {error}"
            );
            error.to_string()
        }
    }
}

async fn connects(url: &str) {
    if let Err(error) = PostgresStore::connect(url, 10).await {
        panic!("{url}: {error}");
    }
}

#[tokio::test]
async fn require_and_prefer_encrypt_without_checking_the_certificate() {
    let Some((url, _)) = tls_server() else { return };
    // The server refuses plain connections, so each of these connecting proves a handshake.
    connects(&format!("{url}?sslmode=require")).await;
    connects(&format!("{url}?sslmode=prefer")).await;
    connects(&url).await;
    // Not checking the certificate is what `require` means (as in libpq without a root
    // certificate): a name the certificate does not hold still connects.
    connects(&reach(&url, "db.example", "sslmode=require")).await;
}

#[tokio::test]
async fn disable_is_plain_text_and_the_tls_only_server_turns_it_away() {
    let Some((url, _)) = tls_server() else { return };
    let message = refused(&format!("{url}?sslmode=disable")).await;
    assert!(message.contains("no encryption"), "{message}");
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_name() {
    let Some((url, certs)) = tls_server() else {
        return;
    };
    let ca = certs.join("ca.pem");
    let other = certs.join("other-ca.pem");
    let full = |root: &PathBuf| format!("sslmode=verify-full&sslrootcert={}", root.display());
    connects(&reach(&url, "localhost", &full(&ca))).await;
    connects(&format!("{url}?{}", full(&ca))).await;

    let message = refused(&reach(&url, "localhost", &full(&other))).await;
    assert!(message.contains("UnknownIssuer"), "{message}");
    let message = refused(&reach(&url, "db.example", &full(&ca))).await;
    assert!(
        message.contains("NotValidForName") || message.contains("not valid for name"),
        "{message}"
    );
    // Without sslrootcert the public roots are trusted, and they did not sign a test CA.
    let message = refused(&reach(&url, "localhost", "sslmode=verify-full")).await;
    assert!(message.contains("UnknownIssuer"), "{message}");
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_name() {
    let Some((url, certs)) = tls_server() else {
        return;
    };
    let ca = |file: &str| {
        format!(
            "sslmode=verify-ca&sslrootcert={}",
            certs.join(file).display()
        )
    };
    connects(&reach(&url, "db.example", &ca("ca.pem"))).await;
    let message = refused(&reach(&url, "db.example", &ca("other-ca.pem"))).await;
    assert!(message.contains("UnknownIssuer"), "{message}");
}

#[tokio::test]
async fn an_unreadable_root_certificate_is_named() {
    let Some((url, certs)) = tls_server() else {
        return;
    };
    let missing = certs.join("no-such.pem");
    let error = PostgresStore::connect(
        &format!(
            "{url}?sslmode=verify-full&sslrootcert={}",
            missing.display()
        ),
        10,
    )
    .await
    .expect_err("no such file");
    let message = error.to_string();
    assert!(message.contains("no-such.pem"), "{message}");
    // A file that holds no certificate at all (a signing request) is named too.
    let key = certs.join("server.csr");
    let error = PostgresStore::connect(
        &format!("{url}?sslmode=verify-full&sslrootcert={}", key.display()),
        10,
    )
    .await
    .expect_err("not a certificate");
    let message = error.to_string();
    assert!(message.contains("holds no certificate"), "{message}");
}
