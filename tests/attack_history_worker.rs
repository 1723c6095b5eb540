//! Hostile inputs to the run history, the store URL and the warm worker runner: each test
//! pins a bug that was found by attacking the real binary.

mod scheduler_support;

use scheduler_support::Ws;

const OK: &str = "export function run() { console.log('ok ran'); }\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Passwords typed raw (`/`, `?`) are still passwords to tokio-postgres; a libpq key/value
/// string carries one too. None may reach an error, `config get`, `config list` or `config set`.
#[test]
fn a_store_password_is_never_printed_by_config_or_errors() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    for url in [
        "postgres://u:S3C/RETX@127.0.0.1:1/db",
        "postgres://u:S3C?RETX@127.0.0.1:1/db",
        "postgres://u:S3CRETX@127.0.0.1:1/db",
    ] {
        let set = ws
            .webstir(&["config", "set", "store", url])
            .assert()
            .success();
        let get = ws.webstir(&["config", "get", "store"]).assert().success();
        let list = ws.webstir(&["config", "list"]).assert().success();
        let json = ws.webstir(&["config", "list", "--json"]).assert().success();
        let run = ws.scheduler(&["--job", "ok"]).assert().failure();
        let flag = ws
            .scheduler(&["--job", "ok", "--store", url])
            .assert()
            .failure();
        for out in [&set, &get, &list, &json, &run, &flag] {
            let out = out.get_output();
            let all = text(&out.stdout) + &text(&out.stderr);
            assert!(!all.contains("RETX"), "{url} leaked: {all}");
        }
        assert!(
            text(&get.get_output().stdout).contains("u:***@127.0.0.1:1/db"),
            "the rest of the URL is still shown"
        );
    }
    let out = ws
        .scheduler(&[
            "--job",
            "ok",
            "--store",
            "host=db password=S3CRETX dbname=jobs",
        ])
        .assert()
        .code(2);
    let stderr = text(&out.get_output().stderr);
    assert!(!stderr.contains("S3CRETX"), "{stderr}");
    assert!(stderr.contains("host=db password=***"), "{stderr}");
}

/// An error's first line may hold a carriage return, escape sequences, a Unicode line
/// separator or a bidi override: the table shows them escaped, so each run stays one row and
/// nothing reaches the terminal raw. The JSON keeps the error as recorded.
#[test]
fn control_characters_in_an_error_stay_escaped_in_its_history_row() {
    let ws = Ws::new(r#"[{ "name": "weird" }]"#);
    ws.job(
        "weird",
        "export function run() { throw new Error('a\\rB \\u202e\\u0007\\x1b[31mred\\u2028sep\\u0085nel\\u000bvt\\nsecond'); }\n",
    );
    ws.scheduler(&["--job", "weird"]).assert().code(1);
    let out = ws.scheduler(&["--history"]).assert().success();
    let table = text(&out.get_output().stdout);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "a header and one row: {table:?}");
    assert!(
        rows[1].ends_with(r"a\rB \u{202e}\u{7}\u{1b}[31mred\u{2028}sep\u{85}nel\u{b}vt"),
        "{table:?}"
    );
    assert!(
        !table.contains([
            '\r', '\u{1b}', '\u{7}', '\u{2028}', '\u{85}', '\u{b}', '\u{202e}'
        ]),
        "{table:?}"
    );
    let json = ws.scheduler(&["--history", "--json"]).assert().success();
    let runs: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(
        runs[0]["error"],
        "a\rB \u{202e}\u{7}\u{1b}[31mred\u{2028}sep\u{85}nel\u{b}vt\nsecond"
    );
}

/// A FIFO at `.webstir/state.db` made `--history` block forever opening it; a folder there
/// gave an obscure "disk I/O error". Both are now refused by name, and a run still runs.
#[test]
fn a_state_db_that_is_a_fifo_or_a_folder_is_refused_not_waited_on() {
    let ws = Ws::new(r#"[{ "name": "ok" }]"#);
    ws.job("ok", OK);
    std::fs::create_dir(ws.path(".webstir")).unwrap();
    let db = ws.path(".webstir/state.db");
    let fifo = std::ffi::CString::new(db.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    for kind in ["fifo", "folder"] {
        if kind == "folder" {
            std::fs::remove_file(&db).unwrap();
            std::fs::create_dir(&db).unwrap();
        }
        // A generous deadline: a hang fails the test instead of blocking the suite.
        let out = ws
            .scheduler(&["--history"])
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .failure();
        let stderr = text(&out.get_output().stderr);
        assert!(stderr.contains("is not a regular file"), "{kind}: {stderr}");
        assert!(stderr.contains(".webstir/state.db"), "{kind}: {stderr}");
        let run = ws
            .scheduler(&["--job", "ok"])
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .success();
        let stderr = text(&run.get_output().stderr);
        assert!(
            stderr.contains("run history is off") && stderr.contains("is not a regular file"),
            "{kind}: {stderr}"
        );
    }
}
