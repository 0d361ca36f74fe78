//! The store suite: the same checks on SQLite and on a real PostgreSQL.
//!
//! PostgreSQL comes from `YINZHENG_TEST_POSTGRES_URL` (scripts/test.sh
//! starts a private server with scripts/pg.sh and sets it). Without it the
//! PostgreSQL half fails and says how to get one — it is never skipped.

use std::time::{Duration, Instant};
use yinzheng_store::{
    Backend, Db, Error, Heard, Listener, Location, Migration, Migrations, Options, PgConfig, Value,
    params,
};

const SCHEMA: Migrations = Migrations::new(&[
    Migration {
        name: "accounts",
        sql: "CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL, note BLOB);",
    },
    Migration {
        name: "accounts flag",
        sql: "ALTER TABLE accounts ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0;",
    },
])
.with_postgres(&[
    "CREATE TABLE accounts (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE, balance BIGINT NOT NULL, note BYTEA);",
    "ALTER TABLE accounts ADD COLUMN frozen BIGINT NOT NULL DEFAULT 0;",
]);

fn pg_config() -> PgConfig {
    let url = yinzheng_tests::postgres_url();
    let Ok(Backend::Postgres(c)) = Backend::parse(&url) else {
        panic!("{url:?} is not a postgres:// URL");
    };
    c
}

/// A fresh schema per test run.
fn pg_location(test: &str) -> Location {
    let ns = format!(
        "s{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    Backend::Postgres(pg_config().with_namespace(&ns)).location(std::path::Path::new(""), test)
}

type Open<'a> = &'a (dyn Fn() -> Result<Db, Error> + Sync);

/// Run `f` on SQLite, then on PostgreSQL where the peers run (scripts/test.sh
/// starts one; on a machine with only Rust the SQLite half still runs).
fn both(test: &str, f: impl Fn(Open<'_>)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Location::Sqlite(dir.path().join(format!("{test}.db")));
    f(&|| Db::open(&sqlite, &SCHEMA, Options::default()));
    if !yinzheng_tests::PEERS {
        return;
    }
    let pg = pg_location(test);
    f(&|| Db::open(&pg, &SCHEMA, Options::default()));
}

#[test]
fn values_round_trip_with_the_same_types() {
    both("values", |open| {
        let db = open().expect("open");
        let id: i64 = db
            .query_row(
                "INSERT INTO accounts (name, balance, note) VALUES (?1, ?2, ?3) RETURNING id",
                params!["张三", -5i64, vec![0u8, 255]],
            )
            .and_then(|r| r.get(0))
            .expect("insert");
        db.execute(
            "INSERT INTO accounts (name, balance, note) VALUES (?1, ?2, ?3)",
            params!["b", i64::MAX, None::<Vec<u8>>],
        )
        .expect("insert b");
        let rows = db
            .query(
                "SELECT id, name, balance, note, frozen FROM accounts ORDER BY name",
                params![],
            )
            .expect("select");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<String>(1).ok().as_deref(), Some("b"));
        assert_eq!(rows[0].get::<i64>(2).ok(), Some(i64::MAX));
        assert_eq!(rows[0].get::<Option<Vec<u8>>>(3).ok(), Some(None));
        assert_eq!(rows[1].get::<i64>(0).ok(), Some(id));
        assert_eq!(rows[1].get::<Vec<u8>>(3).ok(), Some(vec![0, 255]));
        assert_eq!(rows[1].get::<bool>(4).ok(), Some(false));
        // a type mismatch is a typed error, not a panic
        assert!(matches!(
            rows[1].get::<String>(2),
            Err(Error::Column { index: 2, .. })
        ));
        assert!(matches!(
            db.query_row("SELECT id FROM accounts WHERE name = ?1", params!["nobody"]),
            Err(Error::NoRows)
        ));
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM accounts WHERE balance > ?1",
                params![0],
            )
            .and_then(|r| r.get(0))
            .expect("count");
        assert_eq!(n, 1);
    });
}

#[test]
fn transactions_commit_or_roll_back_whole() {
    both("tx", |open| {
        let db = open().expect("open");
        db.transaction(|tx| {
            tx.execute(
                "INSERT INTO accounts (name, balance) VALUES ('a', 1)",
                params![],
            )
        })
        .expect("commit");
        let r: Result<(), Error> = db.transaction(|tx| {
            tx.execute(
                "INSERT INTO accounts (name, balance) VALUES ('b', 1)",
                params![],
            )?;
            tx.execute(
                "INSERT INTO accounts (name, balance) VALUES ('a', 2)",
                params![],
            )?;
            Ok(())
        });
        let e = r.expect_err("duplicate name");
        assert!(e.is_unique_violation(), "{e}");
        let names: Vec<String> = db
            .query_map("SELECT name FROM accounts ORDER BY name", params![], |r| {
                r.get(0)
            })
            .expect("names");
        assert_eq!(names, ["a"]);
        // the connection is usable after a failed transaction
        db.execute("UPDATE accounts SET balance = 3", params![])
            .expect("update");
    });
}

#[test]
fn a_transaction_whose_statement_failed_is_never_committed() {
    // PostgreSQL aborts a transaction at its first failed statement and
    // answers COMMIT with a silent ROLLBACK; SQLite would carry on. Both
    // backends refuse to report such a transaction as committed.
    both("aborted", |open| {
        let db = open().expect("open");
        db.execute(
            "INSERT INTO accounts (name, balance) VALUES ('a', 1)",
            params![],
        )
        .expect("a");
        let r: Result<bool, Error> = db.transaction(|tx| {
            tx.execute(
                "INSERT INTO accounts (name, balance) VALUES ('b', 1)",
                params![],
            )?;
            // The duplicate fails; the closure keeps the error as a value.
            let dup = tx
                .execute(
                    "INSERT INTO accounts (name, balance) VALUES ('a', 2)",
                    params![],
                )
                .is_err();
            Ok(dup)
        });
        assert!(matches!(r, Err(Error::Aborted)), "{r:?}");
        let n: i64 = db
            .query_row("SELECT COUNT(*) FROM accounts", params![])
            .and_then(|r| r.get(0))
            .expect("count");
        assert_eq!(n, 1, "nothing of the aborted transaction is stored");
    });
}

#[test]
fn migrations_are_recorded_and_a_newer_schema_is_refused() {
    both("migrate", |open| {
        let db = open().expect("open");
        let v: Vec<(i64, String)> = db
            .query_map(
                "SELECT version, name FROM schema_migrations ORDER BY version",
                params![],
                |r| Ok::<_, Error>((r.get(0)?, r.get(1)?)),
            )
            .expect("history");
        assert_eq!(
            v,
            [
                (1, "accounts".to_string()),
                (2, "accounts flag".to_string())
            ]
        );
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (3, 'future', 0)",
            params![],
        )
        .expect("future step");
        drop(db);
        let err = open().expect_err("a newer schema opened");
        assert!(
            matches!(
                err,
                Error::TooNew {
                    found: 3,
                    known: 2,
                    ..
                }
            ),
            "{err}"
        );
    });
}

#[test]
fn concurrent_increments_are_serialized_and_none_is_lost() {
    both("race", |open| {
        let db = open().expect("open");
        db.execute(
            "INSERT INTO accounts (name, balance) VALUES ('c', 0)",
            params![],
        )
        .expect("seed");
        drop(db);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let db = open().expect("open");
                    for _ in 0..25 {
                        db.transaction(|tx| {
                            let b: i64 = tx
                                .query_row(
                                    "SELECT balance FROM accounts WHERE name = 'c'",
                                    params![],
                                )?
                                .get(0)?;
                            tx.execute(
                                "UPDATE accounts SET balance = ?1 WHERE name = 'c'",
                                params![b + 1],
                            )?;
                            Ok::<_, Error>(())
                        })
                        .expect("increment");
                    }
                });
            }
        });
        let db = open().expect("open");
        let b: i64 = db
            .query_row("SELECT balance FROM accounts WHERE name = 'c'", params![])
            .and_then(|r| r.get(0))
            .expect("balance");
        assert_eq!(b, 100);
    });
}

#[yinzheng_tests::peer_test(postgresql)]
fn postgres_notifications_reach_other_sessions() {
    let loc = pg_location("notify");
    let Location::Postgres { config, schema } = &loc else {
        unreachable!()
    };
    let mut listener = Listener::new(config, "yinzheng_test_changes").expect("listener");
    assert_eq!(
        listener.wait(Duration::from_secs(5)).expect("connect"),
        Heard::Reconnected
    );
    let db = Db::open(&loc, &SCHEMA, Options::default()).expect("open");
    // delivered at commit, not before
    db.transaction(|tx| {
        tx.notify("yinzheng_test_changes")?;
        match listener.wait(Duration::from_millis(200))? {
            Heard::Changed(v) => assert!(v.is_empty(), "heard before commit: {v:?}"),
            other => panic!("{other:?}"),
        }
        Ok::<_, Error>(())
    })
    .expect("notify");
    let started = Instant::now();
    match listener.wait(Duration::from_secs(5)).expect("wait") {
        Heard::Changed(v) => assert_eq!(v.as_slice(), std::slice::from_ref(schema)),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn postgres_down_is_unavailable_not_a_wrong_answer() {
    // A port nobody listens on.
    let config =
        PgConfig::parse("postgres://yinzheng:yinzheng@127.0.0.1:9/yinzheng?connect_timeout_ms=500")
            .expect("config");
    let loc = Backend::Postgres(config).location(std::path::Path::new(""), "down");
    let err = Db::open(&loc, &SCHEMA, Options::default()).expect_err("no server");
    assert!(err.is_unavailable(), "{err}");
    assert!(!err.to_string().contains(":yinzheng@"), "password in {err}");
}

#[yinzheng_tests::peer_test(postgresql)]
fn postgres_statement_timeout_is_unavailable() {
    let Location::Postgres { config, schema } = pg_location("timeout") else {
        unreachable!()
    };
    let url = format!("{}?statement_timeout_ms=200", config.url());
    let Ok(Backend::Postgres(c)) = Backend::parse(&url) else {
        panic!("parse")
    };
    let c = c.with_namespace(config.namespace());
    let loc = Location::Postgres { config: c, schema };
    let db = Db::open(&loc, &SCHEMA, Options::default()).expect("open");
    let err = db
        .query("SELECT pg_sleep(2)::text", params![])
        .expect_err("timed out");
    assert!(err.is_unavailable(), "{err}");
    let v: Value = db
        .query_row("SELECT 1::bigint", params![])
        .and_then(|r| r.get(0))
        .expect("still usable");
    assert_eq!(v, Value::Integer(1));
}

#[yinzheng_tests::peer_test(postgresql)]
fn postgres_lease_has_one_holder_and_passes_on_when_dropped() {
    let Location::Postgres { config, .. } = pg_location("lease") else {
        unreachable!()
    };
    let name = format!("test-lease-{}", std::process::id());
    let mut a = yinzheng_store::Lease::try_acquire(&config, &name)
        .expect("connect")
        .expect("free lease");
    assert!(a.check());
    assert!(
        yinzheng_store::Lease::try_acquire(&config, &name)
            .expect("connect")
            .is_none(),
        "two holders"
    );
    drop(a);
    // The session closes on drop; the server frees the lock as it notices.
    let started = Instant::now();
    loop {
        if let Some(mut b) = yinzheng_store::Lease::try_acquire(&config, &name).expect("connect") {
            assert!(b.check());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "lease never freed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[yinzheng_tests::peer_test(postgresql)]
fn postgres_is_used_from_async_runtimes_without_panicking() {
    // The server calls the store from request handlers (tasks of a
    // multi-threaded runtime); the postgres client must step off the
    // runtime rather than start its own inside it. A single-threaded
    // runtime works too (a scoped thread).
    let location = pg_location("async");
    for multi in [true, false] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread().build()
        }
        .expect("runtime");
        let location = location.clone();
        let n: i64 = rt.block_on(async move {
            let task = tokio::spawn(async move {
                let db = Db::open(&location, &SCHEMA, Options::default()).expect("open");
                db.transaction(|tx| {
                    tx.execute(
                        "INSERT INTO accounts (name, balance) VALUES (?1, 1)",
                        params![format!("multi={multi}")],
                    )
                })
                .expect("insert");
                let n: i64 = db
                    .query_row("SELECT COUNT(*) FROM accounts", params![])
                    .and_then(|r| r.get(0))
                    .expect("count");
                drop(db); // closing the session inside the runtime as well
                n
            });
            task.await.expect("task")
        });
        assert!(n >= 1);
    }
}

#[yinzheng_tests::peer_test(openssl, postgresql)]
fn postgres_over_tls_verifies_the_database_certificate() {
    // scripts/pg.sh starts the test server with TLS on and its own CA.
    let ca = std::env::var("YINZHENG_TEST_POSTGRES_CA").unwrap_or_else(|_| {
        panic!(
            "YINZHENG_TEST_POSTGRES_CA is not set: scripts/test.sh sets it to the CA of the test \
             PostgreSQL (scripts/pg.sh writes DIR/tls/ca.pem)"
        )
    });
    let base = yinzheng_tests::postgres_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let with = |extra: &str| -> Result<Db, Error> {
        let url = format!("{base}{sep}namespace=tls{}{extra}", std::process::id());
        let Backend::Postgres(c) = Backend::parse(&url)? else {
            panic!("not PostgreSQL");
        };
        Db::open(
            &Backend::Postgres(c).location(std::path::Path::new(""), "tls"),
            &SCHEMA,
            Options::default(),
        )
    };
    let db = with(&format!("&sslmode=verify-full&sslrootcert={ca}")).expect("TLS session");
    let ssl: bool = db
        .query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            params![],
        )
        .and_then(|r| r.get(0))
        .expect("pg_stat_ssl");
    assert!(ssl, "the session is encrypted");
    // Without TLS settings the same server is reached in the clear (the
    // default for a database on the same host).
    let plain = with("").expect("plain session");
    let ssl: bool = plain
        .query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            params![],
        )
        .and_then(|r| r.get(0))
        .expect("pg_stat_ssl");
    assert!(!ssl);
    // A CA that did not sign the server's certificate: refused, never a
    // fallback to plaintext.
    let dir = tempfile::tempdir().expect("tempdir");
    yinzheng_tests::openssl_ok(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=Another CA",
            "-keyout",
            "k.pem",
            "-out",
            "other.pem",
        ],
    );
    let other = dir.path().join("other.pem");
    let e = with(&format!(
        "&sslmode=verify-full&sslrootcert={}",
        other.display()
    ))
    .expect_err("an unknown server certificate");
    assert!(e.is_unavailable(), "{e}");
    // Verification without a CA to verify against is a configuration error.
    let e = Backend::parse(&format!("{base}{sep}sslmode=verify-full")).expect_err("no sslrootcert");
    assert!(e.to_string().contains("sslrootcert"), "{e}");
}
