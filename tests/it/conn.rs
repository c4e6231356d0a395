//! The connection layer (`pgdump_core::conn`) against a real PostgreSQL 15: URIs,
//! conninfo strings, flags and environment, password authentication (explicit and
//! via a password file), every sslmode with a test CA, client certificates,
//! multi-host lists and a server that goes away.
//!
//! These tests change server-wide settings (pg_hba.conf, TLS), so they run on a
//! cluster of their own, started once for this module.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pgdump_core::conn::{connect, ConnBuilder, ConnConfig, Environment};
use pgdump_core::error::DbMessage;
use pgdump_core::CoreError;
use pgdump_tests::Cluster;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The password of `pwuser`: characters that need percent-encoding in a URI and
/// escaping in a password file.
const PW: &str = "s3cr:t p@ss/w\\rd";
const PW_URI: &str = "s3cr%3At%20p%40ss%2Fw%5Crd";
const PW_PGPASS: &str = "s3cr\\:t p@ss/w\\\\rd";
const DB: &str = "conn_test";

struct Setup {
    pg: Cluster,
    /// ca.crt, otherca.crt, client.crt, client.key (0600)
    certs: tempfile::TempDir,
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pgdump-core/src/conn/testdata")
        .join(name)
}

const PG_HBA: &str = "\
# pgdump conn tests
local     all  all                     trust
hostssl   all  certuser  127.0.0.1/32  cert
host      all  certuser  127.0.0.1/32  reject
host      all  pwuser    127.0.0.1/32  scram-sha-256
hostnossl all  sslonly   127.0.0.1/32  reject
host      all  sslonly   127.0.0.1/32  trust
host      all  all       127.0.0.1/32  trust
";

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let pg = Cluster::start(15).expect("start a PostgreSQL 15 cluster");
        let data = pg.data_dir();
        let owner = std::fs::metadata(&data).unwrap();
        let install = |from: &str, to: &str, mode: u32| {
            let dest = data.join(to);
            std::fs::copy(testdata(from), &dest).unwrap();
            std::os::unix::fs::chown(&dest, Some(owner.uid()), Some(owner.gid())).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        install("server.crt", "server.crt", 0o644);
        install("server.key", "server.key", 0o600);
        install("ca.crt", "root.crt", 0o644);
        std::fs::write(data.join("pg_hba.conf"), PG_HBA).unwrap();
        // one by one: CREATE DATABASE and ALTER SYSTEM refuse to run in a transaction
        for sql in [
            format!("CREATE ROLE pwuser LOGIN PASSWORD '{PW}'"),
            "CREATE ROLE certuser LOGIN".into(),
            "CREATE ROLE sslonly LOGIN".into(),
            format!("CREATE DATABASE {DB}"),
            "ALTER SYSTEM SET ssl = on".into(),
            "ALTER SYSTEM SET ssl_cert_file = 'server.crt'".into(),
            "ALTER SYSTEM SET ssl_key_file = 'server.key'".into(),
            "ALTER SYSTEM SET ssl_ca_file = 'root.crt'".into(),
        ] {
            pg.execute("postgres", &sql)
                .unwrap_or_else(|e| panic!("{sql}: {e:#}"));
        }
        pg.execute("postgres", "SELECT pg_reload_conf()").unwrap();
        // New backends see the reloaded configuration once the postmaster has read it.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ssl = pg.query_value("postgres", "SHOW ssl").unwrap();
            let hba = pg
                .query_value(
                    "postgres",
                    "SELECT count(*) FROM pg_hba_file_rules WHERE user_name = '{pwuser}'",
                )
                .unwrap();
            if ssl == "on" && hba == "1" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not enable TLS / the new pg_hba.conf:\n{}",
                pg.server_log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }

        let certs = tempfile::tempdir().unwrap();
        for f in ["ca.crt", "otherca.crt", "client.crt", "client.key"] {
            let dest = certs.path().join(f);
            std::fs::copy(testdata(f), &dest).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Setup { pg, certs }
    })
}

impl Setup {
    fn port(&self) -> u16 {
        self.pg.port()
    }
    fn cert(&self, name: &str) -> String {
        self.certs.path().join(name).display().to_string()
    }
}

/// A fake environment: only the given variables, the OS user `postgres`, and an
/// empty home directory of its own (no ~/.pgpass, no ~/.postgresql/root.crt).
struct TestEnv {
    vars: HashMap<String, String>,
    home: tempfile::TempDir,
}

impl TestEnv {
    fn new() -> Self {
        TestEnv {
            vars: HashMap::new(),
            home: tempfile::tempdir().unwrap(),
        }
    }
    fn var(mut self, k: &str, v: impl Into<String>) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }
    /// The cluster's address as PGHOST/PGPORT.
    fn at(self, s: &Setup) -> Self {
        self.var("PGHOST", "127.0.0.1")
            .var("PGPORT", s.port().to_string())
    }
}

impl Environment for TestEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn os_user(&self) -> Option<String> {
        Some("postgres".into())
    }
    fn home_dir(&self) -> Option<PathBuf> {
        Some(self.home.path().to_path_buf())
    }
}

fn cfg(s: &str, env: &TestEnv) -> ConnConfig {
    ConnConfig::parse_with_env(s, env)
        .unwrap_or_else(|e| panic!("{}: {e}", pgdump_core::conn::redact(s)))
}

async fn value(client: &Client, sql: &str) -> String {
    let msgs = client.simple_query(sql).await.expect(sql);
    msgs.into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .expect("one row")
}

async fn ssl_in_use(client: &Client) -> bool {
    value(
        client,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
        == "t"
}

/// Connects and returns (ssl in use, current_user).
async fn try_connect(c: &ConnConfig) -> Result<(bool, String), CoreError> {
    let client = connect(c, "pgdump-it").await?;
    let user = value(&client, "SELECT current_user").await;
    Ok((ssl_in_use(&client).await, user))
}

/// Everything a user could see of an error: Display, Debug and the server message.
fn error_text(e: &CoreError) -> String {
    let mut t = format!("{e} | {e:?}");
    if let CoreError::Connect { source, .. } = e {
        t.push_str(&format!(" | {}", DbMessage(source)));
    }
    t
}

// ------------------------------------------------------------------- forms

#[tokio::test]
async fn connect_by_uri() {
    let s = setup();
    let env = TestEnv::new();
    let c = cfg(
        &format!(
            "postgresql://postgres@127.0.0.1:{}/{DB}?sslmode=disable&application_name=uri%20app",
            s.port()
        ),
        &env,
    );
    let client = connect(&c, "pgdump-it").await.unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);
    assert_eq!(value(&client, "SELECT current_user").await, "postgres");
    assert_eq!(
        value(
            &client,
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        .await,
        "uri app"
    );
    assert!(!ssl_in_use(&client).await);
}

#[tokio::test]
async fn connect_by_conninfo() {
    let s = setup();
    let env = TestEnv::new();
    let c = cfg(
        &format!(
            "host = 127.0.0.1 port={} user='postgres' dbname={DB} options='-c search_path=pg_catalog\\,public' connect_timeout=10",
            s.port()
        ),
        &env,
    );
    let client = connect(&c, "pgdump-it").await.unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);
    // the argument is the fallback application name
    assert_eq!(
        value(
            &client,
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        .await,
        "pgdump-it"
    );
    assert_eq!(
        value(&client, "SHOW search_path").await,
        "pg_catalog,public"
    );
}

#[tokio::test]
async fn connect_by_bare_name_and_environment() {
    let s = setup();
    let env = TestEnv::new()
        .at(s)
        .var("PGUSER", "postgres")
        .var("PGAPPNAME", "from env")
        .var("PGOPTIONS", "-c work_mem=7MB");
    let c = cfg(DB, &env);
    let client = connect(&c, "pgdump-it").await.unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);
    assert_eq!(value(&client, "SHOW work_mem").await, "7MB");
    assert_eq!(
        value(
            &client,
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        .await,
        "from env"
    );
    // PGDATABASE, and the database defaulting to the user name
    let env = TestEnv::new().at(s).var("PGDATABASE", DB);
    let client = connect(&cfg("", &env), "x").await.unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);
    let env = TestEnv::new().at(s);
    let client = connect(&cfg("", &env), "x").await.unwrap();
    assert_eq!(
        value(&client, "SELECT current_database()").await,
        "postgres"
    );
}

#[tokio::test]
async fn flags_connection_string_and_environment_precedence() {
    let s = setup();
    let port = s.port().to_string();
    // environment points nowhere: the flags win over it
    let env = TestEnv::new()
        .var("PGHOST", "nonexistent.invalid")
        .var("PGPORT", "1")
        .var("PGUSER", "nobody");
    let c = ConnBuilder::new()
        .host("127.0.0.1")
        .port(&port)
        .user("postgres")
        .dbname(DB)
        .resolve_with_env(&env)
        .unwrap();
    let client = connect(&c, "x").await.unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);

    // flags point nowhere: the -d connection string wins over them
    let c = ConnBuilder::new()
        .host("nonexistent.invalid")
        .port("1")
        .user("nobody")
        .dbname(format!(
            "host=127.0.0.1 port={port} user=postgres dbname={DB}"
        ))
        .resolve_with_env(&env)
        .unwrap();
    let client = connect(&c, "x").await.unwrap();
    assert_eq!(value(&client, "SELECT current_user").await, "postgres");

    // a -d string with only the database: host and port from the flags, user from env
    let env = TestEnv::new().var("PGUSER", "sslonly");
    let c = ConnBuilder::new()
        .host("127.0.0.1")
        .port(&port)
        .dbname(format!("postgresql:///{DB}?sslmode=require"))
        .resolve_with_env(&env)
        .unwrap();
    let (ssl, user) = try_connect(&c).await.unwrap();
    assert!(ssl);
    assert_eq!(user, "sslonly");
}

#[tokio::test]
async fn unix_socket_connections() {
    let s = setup();
    let dir = s.pg.dir();
    assert!(
        dir.join(format!(".s.PGSQL.{}", s.port())).exists(),
        "the harness cluster has no socket in {}",
        dir.display()
    );
    let env = TestEnv::new();
    // verify-full would fail over TCP without a CA: sockets never use TLS (libpq)
    for mode in ["disable", "prefer", "require", "verify-full"] {
        let c = cfg(
            &format!(
                "host={} port={} user=postgres dbname={DB} sslmode={mode}",
                dir.display(),
                s.port()
            ),
            &env,
        );
        let client = connect(&c, "x")
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(
            value(&client, "SELECT inet_client_addr() IS NULL").await,
            "t"
        );
        assert!(!ssl_in_use(&client).await);
    }
    // percent-encoded socket directory in a URI
    let encoded = dir.display().to_string().replace('/', "%2F");
    let c = cfg(
        &format!("postgresql://postgres@{encoded}:{}/{DB}", s.port()),
        &env,
    );
    connect(&c, "x").await.unwrap();
}

#[tokio::test]
async fn with_dbname_reaches_another_database() {
    let s = setup();
    let c = cfg(
        &format!("host=127.0.0.1 port={} user=postgres dbname={DB}", s.port()),
        &TestEnv::new(),
    );
    let m = c.with_dbname("postgres");
    let client = connect(&m, "x").await.unwrap();
    assert_eq!(
        value(&client, "SELECT current_database()").await,
        "postgres"
    );
    assert_eq!(m.target(), format!("127.0.0.1:{}/postgres", s.port()));
}

// --------------------------------------------------------------- passwords

#[tokio::test]
async fn password_authentication() {
    let s = setup();
    let base = format!(
        "host=127.0.0.1 port={} user=pwuser dbname={DB} sslmode=disable",
        s.port()
    );

    // PGPASSWORD
    let env = TestEnv::new().var("PGPASSWORD", PW);
    let (_, user) = try_connect(&cfg(&base, &env)).await.unwrap();
    assert_eq!(user, "pwuser");
    // a password given to the builder (e.g. prompted)
    let c = ConnBuilder::new()
        .dbname(base.clone())
        .password(PW)
        .resolve_with_env(&TestEnv::new())
        .unwrap();
    try_connect(&c).await.unwrap();
    // percent-encoded in a URI
    let c = cfg(
        &format!("postgresql://pwuser:{PW_URI}@127.0.0.1:{}/{DB}", s.port()),
        &TestEnv::new(),
    );
    assert_eq!(c.password(), Some(PW));
    try_connect(&c).await.unwrap();
    // quoted in a conninfo string
    let quoted = PW.replace('\\', "\\\\").replace('\'', "\\'");
    try_connect(&cfg(
        &format!("{base} password='{quoted}'"),
        &TestEnv::new(),
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn wrong_or_missing_password() {
    let s = setup();
    let base = format!(
        "host=127.0.0.1 port={} user=pwuser dbname={DB} sslmode=disable",
        s.port()
    );
    let wrong = "WrongHorseBatteryStaple";
    let e = try_connect(&cfg(&format!("{base} password={wrong}"), &TestEnv::new()))
        .await
        .unwrap_err();
    let text = error_text(&e);
    assert!(!text.contains(wrong), "{text}");
    assert_eq!(e.sqlstate(), Some("28P01"), "{text}");
    let CoreError::Connect { target, source } = &e else {
        panic!("{text}")
    };
    assert_eq!(target, &format!("127.0.0.1:{}/{DB}", s.port()));
    assert!(
        DbMessage(source)
            .to_string()
            .contains("password authentication failed for user \"pwuser\""),
        "{text}"
    );
    // no password at all
    let e = try_connect(&cfg(&base, &TestEnv::new())).await.unwrap_err();
    assert!(matches!(e, CoreError::Connect { .. }), "{}", error_text(&e));
    assert!(error_text(&e).contains("password"), "{}", error_text(&e));
}

fn write_pgpass(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let p = dir.join("pgpass");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[tokio::test]
async fn password_file() {
    let s = setup();
    let port = s.port();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "# comment\n127.0.0.1:{port}:otherdb:pwuser:nope\n127.0.0.1:{port}:{DB}:pwuser:{PW_PGPASS}\n*:*:*:*:fallback\n"
    );
    let file = write_pgpass(dir.path(), &text, 0o600);
    let base = format!("host=127.0.0.1 port={port} user=pwuser dbname={DB} sslmode=disable");

    // PGPASSFILE
    let env = TestEnv::new().var("PGPASSFILE", file.display().to_string());
    try_connect(&cfg(&base, &env)).await.unwrap();
    // passfile= in the connection string
    try_connect(&cfg(
        &format!("{base} passfile={}", file.display()),
        &TestEnv::new(),
    ))
    .await
    .unwrap();
    // ~/.pgpass
    let env = TestEnv::new();
    std::fs::copy(&file, env.home.path().join(".pgpass")).unwrap();
    std::fs::set_permissions(
        env.home.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    try_connect(&cfg(&base, &env)).await.unwrap();
    // the first matching line wins: another database gets the wildcard line
    let env = TestEnv::new().var("PGPASSFILE", file.display().to_string());
    let e = try_connect(&cfg(&base.replace(DB, "postgres"), &env))
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("28P01"), "{}", error_text(&e));
    assert!(!error_text(&e).contains("fallback"));
    // an explicit password wins over the file
    let e = try_connect(&cfg(&format!("{base} password=explicit"), &env))
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("28P01"));
    // a file readable by others is ignored
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = try_connect(&cfg(&base, &env)).await.unwrap_err();
    assert!(error_text(&e).contains("password"), "{}", error_text(&e));
    assert!(
        e.sqlstate().is_none(),
        "the server was never sent a password: {}",
        error_text(&e)
    );
}

// --------------------------------------------------------------------- TLS

#[tokio::test]
async fn ssl_modes_without_verification() {
    let s = setup();
    let base = format!("host=127.0.0.1 port={} user=postgres dbname={DB}", s.port());
    let env = TestEnv::new();
    for (mode, encrypted) in [
        ("disable", false),
        ("allow", false),
        ("prefer", true),
        ("require", true),
    ] {
        let (ssl, _) = try_connect(&cfg(&format!("{base} sslmode={mode}"), &env))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(ssl, encrypted, "sslmode={mode}");
    }
    // the default is prefer
    let (ssl, _) = try_connect(&cfg(&base, &env)).await.unwrap();
    assert!(ssl);
    // PGSSLMODE
    let (ssl, _) = try_connect(&cfg(&base, &TestEnv::new().var("PGSSLMODE", "disable")))
        .await
        .unwrap();
    assert!(!ssl);
}

#[tokio::test]
async fn ssl_required_by_the_server() {
    let s = setup();
    let base = format!("host=127.0.0.1 port={} user=sslonly dbname={DB}", s.port());
    let env = TestEnv::new();
    // allow: the plain connection is refused, the TLS retry succeeds
    let (ssl, _) = try_connect(&cfg(&format!("{base} sslmode=allow"), &env))
        .await
        .unwrap();
    assert!(ssl);
    // disable: refused
    let e = try_connect(&cfg(&format!("{base} sslmode=disable"), &env))
        .await
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("28000"), "{}", error_text(&e));
    assert!(
        error_text(&e).contains("no encryption"),
        "{}",
        error_text(&e)
    );
}

#[tokio::test]
async fn verify_ca_and_verify_full() {
    let s = setup();
    let port = s.port();
    let env = TestEnv::new();
    let ca = s.cert("ca.crt");
    let other = s.cert("otherca.crt");
    let at = |host: &str, extra: &str| {
        format!("host={host} port={port} user=postgres dbname={DB} {extra}")
    };

    // verify-full: the certificate names `localhost`
    let (ssl, _) = try_connect(&cfg(
        &at(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        &env,
    ))
    .await
    .unwrap();
    assert!(ssl);
    // wrong names: an IP address, or a host name that is not in the certificate
    for target in [
        at(
            "127.0.0.1",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        at(
            "wrong.example",
            &format!("hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={ca}"),
        ),
    ] {
        let e = try_connect(&cfg(&target, &env)).await.unwrap_err();
        let text = error_text(&e);
        assert!(matches!(e, CoreError::Connect { .. }), "{text}");
        assert!(
            text.contains("certificate") && text.contains("NotValidForName"),
            "{text}"
        );
    }
    // verify-ca: the chain is checked, not the name
    for host in ["localhost", "127.0.0.1"] {
        let (ssl, _) = try_connect(&cfg(
            &at(host, &format!("sslmode=verify-ca sslrootcert={ca}")),
            &env,
        ))
        .await
        .unwrap();
        assert!(ssl);
    }
    let (ssl, _) = try_connect(&cfg(
        &at(
            "wrong.example",
            &format!("hostaddr=127.0.0.1 sslmode=verify-ca sslrootcert={ca}"),
        ),
        &env,
    ))
    .await
    .unwrap();
    assert!(ssl);
    // an unrelated CA fails both
    for mode in ["verify-ca", "verify-full"] {
        let e = try_connect(&cfg(
            &at("localhost", &format!("sslmode={mode} sslrootcert={other}")),
            &env,
        ))
        .await
        .unwrap_err();
        assert!(
            error_text(&e).contains("UnknownIssuer"),
            "{mode}: {}",
            error_text(&e)
        );
    }
    // a missing CA file is a settings error, before any connection
    for mode in ["verify-ca", "verify-full"] {
        let e = try_connect(&cfg(&at("localhost", &format!("sslmode={mode}")), &env))
            .await
            .unwrap_err();
        assert!(
            matches!(e, CoreError::Config(_)),
            "{mode}: {}",
            error_text(&e)
        );
        assert!(error_text(&e).contains("root.crt"), "{}", error_text(&e));
    }
    // PGSSLROOTCERT
    let env2 = TestEnv::new()
        .var("PGSSLROOTCERT", &ca)
        .var("PGSSLMODE", "verify-full");
    let (ssl, _) = try_connect(&cfg(&at("localhost", ""), &env2))
        .await
        .unwrap();
    assert!(ssl);
}

#[tokio::test]
async fn require_checks_the_chain_when_a_root_file_exists() {
    let s = setup();
    let port = s.port();
    let base = format!("host=127.0.0.1 port={port} user=postgres dbname={DB} sslmode=require");
    // explicit sslrootcert with the wrong CA: libpq's require behaves like verify-ca
    let e = try_connect(&cfg(
        &format!("{base} sslrootcert={}", s.cert("otherca.crt")),
        &TestEnv::new(),
    ))
    .await
    .unwrap_err();
    assert!(
        error_text(&e).contains("UnknownIssuer"),
        "{}",
        error_text(&e)
    );
    // the default ~/.postgresql/root.crt
    let env = TestEnv::new();
    std::fs::create_dir(env.home.path().join(".postgresql")).unwrap();
    let root = env.home.path().join(".postgresql/root.crt");
    std::fs::copy(testdata("otherca.crt"), &root).unwrap();
    assert!(try_connect(&cfg(&base, &env)).await.is_err());
    let env = TestEnv::new();
    std::fs::create_dir(env.home.path().join(".postgresql")).unwrap();
    std::fs::copy(
        testdata("ca.crt"),
        env.home.path().join(".postgresql/root.crt"),
    )
    .unwrap();
    let (ssl, _) = try_connect(&cfg(&base, &env)).await.unwrap();
    assert!(ssl);
    // a nonexistent explicit file: no verification (as libpq)
    let (ssl, _) = try_connect(&cfg(
        &format!("{base} sslrootcert=/nonexistent.crt"),
        &TestEnv::new(),
    ))
    .await
    .unwrap();
    assert!(ssl);
}

#[tokio::test]
async fn client_certificate_authentication() {
    let s = setup();
    let base = format!(
        "host=localhost port={} user=certuser dbname={DB} sslmode=verify-full sslrootcert={}",
        s.port(),
        s.cert("ca.crt")
    );
    let (ssl, user) = try_connect(&cfg(
        &format!(
            "{base} sslcert={} sslkey={}",
            s.cert("client.crt"),
            s.cert("client.key")
        ),
        &TestEnv::new(),
    ))
    .await
    .unwrap();
    assert!(ssl);
    assert_eq!(user, "certuser");
    // PGSSLCERT / PGSSLKEY
    let env = TestEnv::new()
        .var("PGSSLCERT", s.cert("client.crt"))
        .var("PGSSLKEY", s.cert("client.key"));
    try_connect(&cfg(&base, &env)).await.unwrap();
    // without a certificate the server refuses
    let e = try_connect(&cfg(&base, &TestEnv::new())).await.unwrap_err();
    assert!(matches!(e, CoreError::Connect { .. }), "{}", error_text(&e));
}

#[tokio::test]
async fn scram_with_channel_binding_over_tls() {
    let s = setup();
    let c = cfg(
        &format!(
            "host=localhost port={} user=pwuser dbname={DB} sslmode=verify-full sslrootcert={} channel_binding=require",
            s.port(),
            s.cert("ca.crt")
        ),
        &TestEnv::new().var("PGPASSWORD", PW),
    );
    let (ssl, user) = try_connect(&c).await.unwrap();
    assert!(ssl);
    assert_eq!(user, "pwuser");
    // channel binding cannot work without TLS
    let c = cfg(
        &format!("host=127.0.0.1 port={} user=pwuser dbname={DB} sslmode=disable channel_binding=require", s.port()),
        &TestEnv::new().var("PGPASSWORD", PW),
    );
    assert!(try_connect(&c).await.is_err());
}

// -------------------------------------------------------------- multi-host

#[tokio::test]
async fn multi_host_failover_and_target_session_attrs() {
    let s = setup();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hosts = format!(
        "postgresql://postgres@127.0.0.1:{dead},127.0.0.1:{}/{DB}",
        s.port()
    );
    let env = TestEnv::new();
    let client = connect(&cfg(&format!("{hosts}?connect_timeout=5"), &env), "x")
        .await
        .unwrap();
    assert_eq!(value(&client, "SELECT current_database()").await, DB);

    for attrs in ["any", "read-write", "primary", "prefer-standby"] {
        connect(
            &cfg(&format!("{hosts}?target_session_attrs={attrs}"), &env),
            "x",
        )
        .await
        .unwrap_or_else(|e| panic!("{attrs}: {e}"));
    }
    let e = connect(
        &cfg(&format!("{hosts}?target_session_attrs=standby"), &env),
        "x",
    )
    .await
    .unwrap_err();
    let text = error_text(&e);
    assert!(matches!(e, CoreError::Config(_)), "{text}");
    assert!(text.contains("no server of"), "{text}");
    assert!(text.contains("not in hot standby mode"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{dead}/{DB}")), "{text}");
    let e = connect(
        &cfg(&format!("{hosts}?target_session_attrs=read-only"), &env),
        "x",
    )
    .await
    .unwrap_err();
    assert!(
        error_text(&e).contains(&format!("127.0.0.1:{}/{DB}", s.port())),
        "{}",
        error_text(&e)
    );
}

// --------------------------------------------------------- server going away

#[tokio::test]
async fn a_terminated_backend_fails_the_client_without_hanging() {
    let s = setup();
    for mode in ["disable", "require"] {
        let c = cfg(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname={DB} sslmode={mode}",
                s.port()
            ),
            &TestEnv::new(),
        );
        let client = connect(&c, "x").await.unwrap();
        let pid = value(&client, "SELECT pg_backend_pid()").await;
        let killer = connect(&c, "x").await.unwrap();
        assert_eq!(
            value(&killer, &format!("SELECT pg_terminate_backend({pid})")).await,
            "t"
        );
        let r = tokio::time::timeout(Duration::from_secs(10), client.simple_query("SELECT 1"))
            .await
            .expect("the query must fail promptly, not hang");
        assert!(
            r.is_err(),
            "{mode}: query on a terminated backend succeeded"
        );
        let r = tokio::time::timeout(Duration::from_secs(10), client.simple_query("SELECT 1"))
            .await
            .expect("a second query must fail promptly too");
        assert!(r.is_err());
        assert!(client.is_closed());
    }
}

// ------------------------------------------------------------------- dumps

/// A dump over each way of connecting: the data connections reach the leader's
/// server the same way (password, TLS with channel binding, a Unix socket, the
/// second server of a list) and give the same rows, whether they carry the COPY
/// through the tap of plaintext connections or tokio-postgres's own path (TLS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumps_over_every_transport() {
    let s = setup();
    let db = s.pg.create_db("tapdump").unwrap();
    s.pg.execute(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, name text, b bytea, n numeric, at timestamptz);
         INSERT INTO t SELECT i, repeat('n' || i, i % 50), decode(md5(i::text), 'hex'),
                i / 7.0, '2024-01-01'::timestamptz + i * interval '1 minute'
           FROM generate_series(1, 40000) i;
         CREATE TABLE words (w text);
         INSERT INTO words SELECT 'w' || i FROM generate_series(1, 3000) i;
         ALTER TABLE t OWNER TO pwuser;
         ALTER TABLE words OWNER TO pwuser;",
    )
    .unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = s.port();
    let ca = s.cert("ca.crt");
    let sock = s.pg.dir().display().to_string();
    let pw = TestEnv::new().var("PGPASSWORD", PW);
    let ways: Vec<(&str, String, TestEnv)> = vec![
        (
            "scram, no TLS",
            format!("host=127.0.0.1 port={port} user=pwuser dbname={db} sslmode=disable"),
            TestEnv::new().var("PGPASSWORD", PW),
        ),
        (
            "scram over TLS with channel binding",
            format!(
                "host=localhost port={port} user=pwuser dbname={db} sslmode=verify-full \
                 sslrootcert={ca} channel_binding=require"
            ),
            TestEnv::new().var("PGPASSWORD", PW),
        ),
        (
            "sslmode=prefer (TLS)",
            format!("host=127.0.0.1 port={port} user=postgres dbname={db}"),
            TestEnv::new(),
        ),
        (
            "sslmode=allow (plain)",
            format!("host=127.0.0.1 port={port} user=postgres dbname={db} sslmode=allow"),
            TestEnv::new(),
        ),
        (
            "unix socket",
            format!("host={sock} port={port} user=postgres dbname={db}"),
            TestEnv::new(),
        ),
        (
            "target_session_attrs=read-write",
            format!("postgresql://postgres@127.0.0.1:{port}/{db}?target_session_attrs=read-write"),
            TestEnv::new(),
        ),
        (
            "second server of a list",
            format!("postgresql://postgres@127.0.0.1:{dead},127.0.0.1:{port}/{db}?sslmode=disable"),
            pw,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut first: Option<Vec<(u64, u64)>> = None;
    for (i, (what, conn, env)) in ways.iter().enumerate() {
        let path = dir.path().join(format!("{i}.pgdump"));
        let opts = pgdump_core::DumpOptions {
            jobs: 2,
            writer: pgdump_format::WriterOptions {
                frame_size: 64 << 10,
                ..Default::default()
            },
            ..Default::default()
        };
        let summary = pgdump_core::dump(
            &cfg(conn, env),
            &opts,
            pgdump_core::Output::File(path.clone()),
            pgdump_core::progress::quiet(),
            pgdump_core::CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(summary.archive.rows, 43_000, "{what}");
        let r = pgdump_format::ArchiveReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        r.verify_all().unwrap_or_else(|e| panic!("{what}: {e}"));
        let streams: Vec<(u64, u64)> = summary
            .archive
            .streams
            .iter()
            .map(|st| (st.rows, st.content_hash))
            .collect();
        match &first {
            None => first = Some(streams),
            Some(f) => assert_eq!(&streams, f, "{what}: other rows than over {}", ways[0].0),
        }
    }
}

/// A dump needs as many connections as jobs (the leader copies too): a role limited
/// to one connection gets its dump with -j 1, and a clear error with -j 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_limited_to_one_connection_still_dumps_with_one_job() {
    let s = setup();
    let db = s.pg.create_db("onelimit").unwrap();
    s.pg.execute(
        "postgres",
        "DO $$BEGIN CREATE ROLE one_conn LOGIN CONNECTION LIMIT 1; \
         EXCEPTION WHEN duplicate_object THEN NULL; END$$",
    )
    .unwrap();
    s.pg.execute(
        &db,
        "CREATE TABLE t AS SELECT i, 'row ' || i AS s FROM generate_series(1, 5000) i;
         ALTER TABLE t OWNER TO one_conn;",
    )
    .unwrap();
    let c = cfg(
        &format!(
            "host=127.0.0.1 port={} user=one_conn dbname={db} sslmode=disable",
            s.port()
        ),
        &TestEnv::new(),
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = |jobs: usize| {
        let c = c.clone();
        let path = dir.path().join(format!("j{jobs}.pgdump"));
        async move {
            let opts = pgdump_core::DumpOptions {
                jobs,
                ..Default::default()
            };
            pgdump_core::dump(
                &c,
                &opts,
                pgdump_core::Output::File(path),
                pgdump_core::progress::quiet(),
                pgdump_core::CancellationToken::new(),
            )
            .await
        }
    };
    let one = dump(1).await.unwrap();
    assert_eq!(one.archive.rows, 5000);
    let e = dump(2).await.unwrap_err();
    assert!(
        error_text(&e).contains("too many connections"),
        "{}",
        error_text(&e)
    );
}
