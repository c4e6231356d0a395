//! Tests of settings resolution, precedence, secrets and TLS setup.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::{Environment, Host, RootCert, SslMode, TargetSessionAttrs};
use super::*;

/// A fake environment: variables, OS user, home and existing sockets.
#[derive(Default, Clone)]
struct TestEnv {
    vars: HashMap<String, String>,
    user: Option<String>,
    home: Option<PathBuf>,
    sockets: Vec<(PathBuf, u16)>,
}

impl TestEnv {
    fn new() -> Self {
        TestEnv {
            user: Some("osuser".into()),
            home: Some(PathBuf::from("/home/osuser")),
            ..Default::default()
        }
    }
    fn var(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }
    fn socket(mut self, dir: &str, port: u16) -> Self {
        self.sockets.push((dir.into(), port));
        self
    }
}

impl Environment for TestEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn os_user(&self) -> Option<String> {
        self.user.clone()
    }
    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }
    fn socket_exists(&self, dir: &Path, port: u16) -> bool {
        self.sockets.iter().any(|(d, p)| d == dir && *p == port)
    }
}

fn parse(s: &str, env: &TestEnv) -> ConnConfig {
    ConnConfig::parse_with_env(s, env).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn config_err(r: crate::error::Result<ConnConfig>) -> String {
    match r {
        Err(CoreError::Config(m)) => m,
        other => panic!("expected a Config error, got {other:?}"),
    }
}

fn tcp(h: &str) -> Host {
    Host::Tcp(h.into())
}

fn hosts(c: &ConnConfig) -> Vec<(Host, u16)> {
    c.hosts().iter().map(|h| (h.host.clone(), h.port)).collect()
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_without_anything() {
    let c = parse("", &TestEnv::new());
    assert_eq!(hosts(&c), vec![(tcp("localhost"), 5432)]);
    assert_eq!(c.user(), "osuser");
    assert_eq!(c.dbname(), "osuser");
    assert_eq!(c.password(), None);
    assert_eq!(c.port(), 5432);
    assert_eq!(c.ssl_mode(), SslMode::Prefer);
    assert_eq!(c.passfile(), Some(Path::new("/home/osuser/.pgpass")));
    assert_eq!(
        c.tls().root_cert,
        Some(RootCert::File("/home/osuser/.postgresql/root.crt".into()))
    );
    assert_eq!(
        c.tls().client_cert.as_deref(),
        Some(Path::new("/home/osuser/.postgresql/postgresql.crt"))
    );
    assert_eq!(
        c.tls().client_key.as_deref(),
        Some(Path::new("/home/osuser/.postgresql/postgresql.key"))
    );
    assert_eq!(
        c.connect_timeout(),
        Some(super::config::DEFAULT_CONNECT_TIMEOUT)
    );
    assert_eq!(c.target_session_attrs(), TargetSessionAttrs::Any);
    assert!(c.keepalives().enabled);
    assert_eq!(c.application_name(), None);
    assert_eq!(c.options(), None);
}

#[test]
fn default_host_prefers_existing_sockets() {
    let env = TestEnv::new().socket("/tmp", 5432);
    assert_eq!(
        hosts(&parse("", &env)),
        vec![(Host::Unix("/tmp".into()), 5432)]
    );
    let env = env.socket("/var/run/postgresql", 5432);
    assert_eq!(
        hosts(&parse("", &env)),
        vec![(Host::Unix("/var/run/postgresql".into()), 5432)]
    );
    // the socket must be for the resolved port
    let env = TestEnv::new().socket("/tmp", 5433);
    assert_eq!(hosts(&parse("", &env)), vec![(tcp("localhost"), 5432)]);
    let env = env.var("PGPORT", "5433");
    assert_eq!(
        hosts(&parse("", &env)),
        vec![(Host::Unix("/tmp".into()), 5433)]
    );
}

#[test]
fn bare_database_name() {
    let c = parse("sales", &TestEnv::new());
    assert_eq!(c.dbname(), "sales");
    assert_eq!(c.user(), "osuser");
    // names with spaces or odd characters stay names
    assert_eq!(parse("my db", &TestEnv::new()).dbname(), "my db");
}

#[test]
fn no_user_anywhere_is_an_error() {
    let env = TestEnv {
        user: None,
        ..TestEnv::new()
    };
    let m = config_err(ConnConfig::parse_with_env("db", &env));
    assert!(m.contains("user name"), "{m}");
    // PGUSER is enough
    assert_eq!(parse("db", &env.var("PGUSER", "u")).user(), "u");
}

#[test]
fn no_home_means_no_default_files() {
    let env = TestEnv {
        home: None,
        ..TestEnv::new()
    };
    let c = parse("", &env);
    assert_eq!(c.passfile(), None);
    assert_eq!(c.tls().root_cert, None);
    assert_eq!(c.tls().client_cert, None);
}

// ------------------------------------------------------------- environment

#[test]
fn environment_fills_everything() {
    let env = TestEnv::new()
        .var("PGHOST", "envhost")
        .var("PGPORT", "6000")
        .var("PGUSER", "envuser")
        .var("PGPASSWORD", "envpw")
        .var("PGDATABASE", "envdb")
        .var("PGSSLMODE", "require")
        .var("PGSSLROOTCERT", "/etc/ca.pem")
        .var("PGSSLCERT", "/etc/c.crt")
        .var("PGSSLKEY", "/etc/c.key")
        .var("PGPASSFILE", "/etc/pgpass")
        .var("PGCONNECT_TIMEOUT", "7")
        .var("PGAPPNAME", "envapp")
        .var("PGOPTIONS", "-c work_mem=64MB")
        .var("PGTARGETSESSIONATTRS", "read-write");
    let c = parse("", &env);
    assert_eq!(hosts(&c), vec![(tcp("envhost"), 6000)]);
    assert_eq!(c.user(), "envuser");
    assert_eq!(c.password(), Some("envpw"));
    assert_eq!(c.dbname(), "envdb");
    assert_eq!(c.ssl_mode(), SslMode::Require);
    assert_eq!(
        c.tls().root_cert,
        Some(RootCert::File("/etc/ca.pem".into()))
    );
    assert_eq!(
        c.tls().client_cert.as_deref(),
        Some(Path::new("/etc/c.crt"))
    );
    assert_eq!(c.tls().client_key.as_deref(), Some(Path::new("/etc/c.key")));
    assert_eq!(c.passfile(), Some(Path::new("/etc/pgpass")));
    assert_eq!(c.connect_timeout(), Some(Duration::from_secs(7)));
    assert_eq!(c.application_name(), Some("envapp"));
    assert_eq!(c.options(), Some("-c work_mem=64MB"));
    assert_eq!(c.target_session_attrs(), TargetSessionAttrs::ReadWrite);
}

#[test]
fn pghostaddr() {
    let c = parse("", &TestEnv::new().var("PGHOSTADDR", "127.0.0.1"));
    assert_eq!(c.hosts()[0].host, tcp("127.0.0.1"));
    assert_eq!(
        c.hosts()[0].hostaddr,
        Some("127.0.0.1".parse::<IpAddr>().unwrap())
    );
    let c = parse(
        "",
        &TestEnv::new()
            .var("PGHOSTADDR", "127.0.0.1")
            .var("PGHOST", "db.example.com"),
    );
    assert_eq!(c.hosts()[0].host, tcp("db.example.com"));
    assert!(c.hosts()[0].hostaddr.is_some());
}

#[test]
fn empty_environment_values_are_unset() {
    let env = TestEnv::new()
        .var("PGHOST", "")
        .var("PGPORT", "")
        .var("PGUSER", "");
    let c = parse("", &env);
    assert_eq!(hosts(&c), vec![(tcp("localhost"), 5432)]);
    assert_eq!(c.user(), "osuser");
}

#[test]
fn closures_are_environments() {
    let vars: HashMap<&str, &str> = [("PGHOST", "closurehost"), ("PGUSER", "cu")].into();
    let env = |k: &str| vars.get(k).map(|v| v.to_string());
    let c = ConnBuilder::new().resolve_with_env(&env).unwrap();
    assert_eq!(c.hosts()[0].host, tcp("closurehost"));
    assert_eq!(c.user(), "cu");
}

// -------------------------------------------------------------- precedence

fn full_env() -> TestEnv {
    TestEnv::new()
        .var("PGHOST", "envhost")
        .var("PGPORT", "6000")
        .var("PGUSER", "envuser")
        .var("PGDATABASE", "envdb")
        .var("PGPASSWORD", "envpw")
}

#[test]
fn flags_override_environment() {
    let c = ConnBuilder::new()
        .host("flaghost")
        .port("7000")
        .user("flaguser")
        .dbname("flagdb")
        .resolve_with_env(&full_env())
        .unwrap();
    assert_eq!(hosts(&c), vec![(tcp("flaghost"), 7000)]);
    assert_eq!(c.user(), "flaguser");
    assert_eq!(c.dbname(), "flagdb");
    assert_eq!(c.password(), Some("envpw"));
}

#[test]
fn connection_string_overrides_flags() {
    let b = ConnBuilder::new()
        .host("flaghost")
        .port("7000")
        .user("flaguser");
    let c = b
        .clone()
        .dbname("host=cshost port=8000 user=csuser dbname=csdb")
        .resolve_with_env(&full_env())
        .unwrap();
    assert_eq!(hosts(&c), vec![(tcp("cshost"), 8000)]);
    assert_eq!(c.user(), "csuser");
    assert_eq!(c.dbname(), "csdb");

    let c = b
        .clone()
        .dbname("postgresql://uriuser@urihost:9000/uridb")
        .resolve_with_env(&full_env())
        .unwrap();
    assert_eq!(hosts(&c), vec![(tcp("urihost"), 9000)]);
    assert_eq!(c.user(), "uriuser");
    assert_eq!(c.dbname(), "uridb");
}

#[test]
fn partial_connection_string_keeps_flags_then_environment() {
    // -d gives only the database: -h/-U stay, the port comes from PGPORT.
    let c = ConnBuilder::new()
        .host("flaghost")
        .user("flaguser")
        .dbname("dbname=csdb sslmode=disable")
        .resolve_with_env(&full_env())
        .unwrap();
    assert_eq!(hosts(&c), vec![(tcp("flaghost"), 6000)]);
    assert_eq!(c.user(), "flaguser");
    assert_eq!(c.dbname(), "csdb");
    assert_eq!(c.ssl_mode(), SslMode::Disable);

    // A URI without a database: dbname from PGDATABASE.
    let c = ConnBuilder::new()
        .dbname("postgresql://urihost")
        .resolve_with_env(&full_env())
        .unwrap();
    assert_eq!(c.dbname(), "envdb");
    assert_eq!(c.user(), "envuser");
    assert_eq!(hosts(&c), vec![(tcp("urihost"), 6000)]);
}

#[test]
fn password_precedence() {
    let env = full_env();
    // builder password beats PGPASSWORD
    let c = ConnBuilder::new()
        .password("flagpw")
        .resolve_with_env(&env)
        .unwrap();
    assert_eq!(c.password(), Some("flagpw"));
    // connection string password beats both
    let c = ConnBuilder::new()
        .password("flagpw")
        .dbname("postgresql://u:uripw@h/db")
        .resolve_with_env(&env)
        .unwrap();
    assert_eq!(c.password(), Some("uripw"));
}

#[test]
fn dbname_defaults_to_resolved_user() {
    let c = ConnBuilder::new()
        .user("flaguser")
        .resolve_with_env(&TestEnv::new())
        .unwrap();
    assert_eq!(c.dbname(), "flaguser");
    let c = parse("user=csuser", &TestEnv::new());
    assert_eq!(c.dbname(), "csuser");
}

#[test]
fn application_name_from_string_or_env() {
    let c = parse(
        "application_name=fromstring",
        &TestEnv::new().var("PGAPPNAME", "fromenv"),
    );
    assert_eq!(c.application_name(), Some("fromstring"));
}

#[test]
fn is_connection_string_rule() {
    assert!(is_connection_string("host=x"));
    assert!(is_connection_string("postgresql://x"));
    assert!(is_connection_string("postgres://"));
    assert!(!is_connection_string("mydb"));
    assert!(!is_connection_string("my db"));
}

// ------------------------------------------------------------ hosts, ports

#[test]
fn multiple_hosts_and_ports() {
    let env = TestEnv::new();
    let c = parse("postgresql://h1:5433,h2:5434,[::1]/db", &env);
    assert_eq!(
        hosts(&c),
        vec![(tcp("h1"), 5433), (tcp("h2"), 5434), (tcp("::1"), 5432)]
    );
    assert_eq!(c.target(), "h1:5433,h2:5434,[::1]:5432/db");
    // one port applies to every host
    let c = parse("host=h1,h2 port=6000", &env);
    assert_eq!(hosts(&c), vec![(tcp("h1"), 6000), (tcp("h2"), 6000)]);
    // an empty host entry gets the default host
    let c = parse("host=h1, port=1,2", &env.clone().socket("/tmp", 2));
    assert_eq!(
        hosts(&c),
        vec![(tcp("h1"), 1), (Host::Unix("/tmp".into()), 2)]
    );
    // mismatched counts
    let m = config_err(ConnConfig::parse_with_env("host=a,b,c port=1,2", &env));
    assert!(
        m.contains("could not match 2 port numbers to 3 hosts"),
        "{m}"
    );
    let m = config_err(ConnConfig::parse_with_env(
        "host=a,b hostaddr=127.0.0.1",
        &env,
    ));
    assert!(
        m.contains("could not match 2 host names to 1 hostaddr"),
        "{m}"
    );
}

#[test]
fn socket_directories() {
    let env = TestEnv::new();
    let c = parse("host=/var/run/postgresql port=5433 dbname=d", &env);
    assert_eq!(
        hosts(&c),
        vec![(Host::Unix("/var/run/postgresql".into()), 5433)]
    );
    assert_eq!(c.target(), "/var/run/postgresql:5433/d");
    let c = parse("postgresql://%2Ftmp/d", &env);
    assert_eq!(c.hosts()[0].host, Host::Unix("/tmp".into()));
    let c = parse("postgresql:///d?host=/tmp", &env);
    assert_eq!(c.hosts()[0].host, Host::Unix("/tmp".into()));
    let c = ConnBuilder::new()
        .host("/sock")
        .resolve_with_env(&env)
        .unwrap();
    assert_eq!(c.hosts()[0].host, Host::Unix("/sock".into()));
    config_err(ConnConfig::parse_with_env("host=@abstract", &env));
    config_err(ConnConfig::parse_with_env(
        "host=/tmp hostaddr=127.0.0.1",
        &env,
    ));
}

#[test]
fn invalid_ports() {
    let env = TestEnv::new();
    for bad in ["abc", "0", "70000", "-1", "5432x"] {
        let m = config_err(ConnConfig::parse_with_env(&format!("port={bad}"), &env));
        assert!(m.contains("invalid port number"), "{bad}: {m}");
        let m = config_err(ConnBuilder::new().port(bad).resolve_with_env(&env));
        assert!(m.contains(&format!("\"{bad}\"")), "{bad}: {m}");
    }
    let m = config_err(ConnConfig::parse_with_env("", &env.var("PGPORT", "nope")));
    assert!(m.contains("invalid port number: \"nope\""), "{m}");
}

#[test]
fn invalid_values() {
    let env = TestEnv::new();
    let cases = [
        ("sslmode=bogus", "invalid sslmode value: \"bogus\""),
        (
            "connect_timeout=soon",
            "invalid integer value \"soon\" for connection option \"connect_timeout\"",
        ),
        (
            "target_session_attrs=master",
            "invalid target_session_attrs value",
        ),
        (
            "hostaddr=not-an-ip",
            "could not parse network address \"not-an-ip\"",
        ),
        ("channel_binding=maybe", "invalid channel_binding value"),
        ("load_balance_hosts=yes", "invalid load_balance_hosts value"),
        ("sslnegotiation=magic", "invalid sslnegotiation value"),
        ("keepalives=x", "keepalives"),
        ("frobnicate=1", "invalid connection option \"frobnicate\""),
        (
            "postgresql://h/d?frobnicate=1",
            "invalid URI query parameter: \"frobnicate\"",
        ),
        ("service=mine", "pg_service.conf"),
        ("sslcrl=/x", "revocation"),
        ("gssencmode=require", "GSSAPI"),
        ("host=a dbname", "missing \"=\" after \"dbname\""),
        ("password='oops", "unterminated quoted string"),
        ("postgresql://h/%zz", "invalid percent-encoded token"),
        (
            "sslrootcert=system sslmode=require",
            "weak sslmode \"require\" may not be used with sslrootcert=system",
        ),
        (
            "sslnegotiation=direct",
            "weak sslmode \"prefer\" may not be used with sslnegotiation=direct",
        ),
    ];
    for (s, want) in cases {
        let m = config_err(ConnConfig::parse_with_env(s, &env));
        assert!(m.contains(want), "{s}: got {m:?}, want {want:?}");
    }
    // The Display of the error says what kind of problem it is.
    let e = ConnConfig::parse_with_env("sslmode=bogus", &env).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid connection settings: "),
        "{e}"
    );
}

#[test]
fn sslpassword_value_is_never_echoed() {
    let m = config_err(ConnConfig::parse_with_env(
        "sslpassword=keysecret",
        &TestEnv::new(),
    ));
    assert!(!m.contains("keysecret"), "{m}");
}

#[test]
fn harmless_libpq_options_are_accepted() {
    let c = parse(
        "client_encoding=UTF8 gssencmode=disable sslcompression=0 sslsni=1 dbname=d",
        &TestEnv::new(),
    );
    assert_eq!(c.dbname(), "d");
}

#[test]
fn timeouts_and_keepalives() {
    let env = TestEnv::new();
    assert_eq!(parse("connect_timeout=0", &env).connect_timeout(), None);
    assert_eq!(parse("connect_timeout=-5", &env).connect_timeout(), None);
    assert_eq!(
        parse("connect_timeout=1", &env).connect_timeout(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        parse("connect_timeout=10", &env).connect_timeout(),
        Some(Duration::from_secs(10))
    );
    let k = parse(
        "keepalives=0 keepalives_idle=30 keepalives_interval=5 keepalives_count=3",
        &env,
    )
    .keepalives();
    assert!(!k.enabled);
    assert_eq!(k.idle, Duration::from_secs(30));
    assert_eq!(k.interval, Some(Duration::from_secs(5)));
    assert_eq!(k.retries, Some(3));
}

#[test]
fn ssl_modes() {
    let env = TestEnv::new();
    for (s, m) in [
        ("disable", SslMode::Disable),
        ("allow", SslMode::Allow),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ] {
        let c = parse(&format!("sslmode={s}"), &env);
        assert_eq!(c.ssl_mode(), m);
        assert_eq!(m.to_string(), s);
    }
    // sslrootcert=system defaults to verify-full
    let c = parse("sslrootcert=system", &env);
    assert_eq!(c.ssl_mode(), SslMode::VerifyFull);
    assert_eq!(c.tls().root_cert, Some(RootCert::System));
    // deprecated requiressl
    assert_eq!(parse("requiressl=1", &env).ssl_mode(), SslMode::Require);
    assert_eq!(
        parse("requiressl=1 sslmode=disable", &env).ssl_mode(),
        SslMode::Disable
    );
    // JDBC-style ssl=true in URIs
    assert_eq!(
        parse("postgresql://h/d?ssl=true", &env).ssl_mode(),
        SslMode::Require
    );
    assert!(
        parse("sslmode=require sslnegotiation=direct", &env)
            .tls()
            .direct
    );
}

#[test]
fn target_session_attrs_values() {
    let env = TestEnv::new();
    for (s, t) in [
        ("any", TargetSessionAttrs::Any),
        ("read-write", TargetSessionAttrs::ReadWrite),
        ("read-only", TargetSessionAttrs::ReadOnly),
        ("primary", TargetSessionAttrs::Primary),
        ("standby", TargetSessionAttrs::Standby),
        ("prefer-standby", TargetSessionAttrs::PreferStandby),
    ] {
        let c = parse(&format!("postgresql://h/d?target_session_attrs={s}"), &env);
        assert_eq!(c.target_session_attrs(), t);
        assert_eq!(t.as_str(), s);
    }
}

// ----------------------------------------------------------------- secrets

#[test]
fn debug_and_display_hide_the_password() {
    let c = parse(
        "postgresql://alice:hunter2@db:5433/sales?sslmode=require",
        &TestEnv::new(),
    );
    let dbg = format!("{c:?}");
    let disp = c.to_string();
    for s in [&dbg, &disp] {
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("********"), "{s}");
    }
    assert_eq!(
        disp,
        "host=db port=5433 user=alice dbname=sales password=******** sslmode=require"
    );
    assert_eq!(c.password(), Some("hunter2"));
    assert!(!c.target().contains("hunter2"));

    let c = parse("dbname='my db' user=o\\'b", &TestEnv::new());
    assert_eq!(
        c.to_string(),
        "host=localhost port=5432 user='o\\'b' dbname='my db' sslmode=prefer"
    );
}

#[test]
fn builder_debug_hides_the_password() {
    let b = ConnBuilder::new()
        .password("flagsecret")
        .dbname("postgresql://u:urisecret@h/d");
    let dbg = format!("{b:?}");
    assert!(!dbg.contains("flagsecret"), "{dbg}");
    assert!(!dbg.contains("urisecret"), "{dbg}");
}

#[test]
fn redact_strings() {
    assert_eq!(
        redact("postgresql://u:pw@h/d"),
        "postgresql://u:********@h/d"
    );
    assert_eq!(
        redact("host=h password='p w' dbname=d"),
        "host=h password=******** dbname=d"
    );
    assert_eq!(redact("mydb"), "mydb");
    assert_eq!(redact(""), "");
}

// -------------------------------------------------------------- with_dbname

#[test]
fn with_dbname_keeps_the_server() {
    let c = parse(
        "postgresql://u:pw@h1:5433,h2/sales?sslmode=require&application_name=a",
        &TestEnv::new(),
    );
    let m = c.with_dbname("postgres");
    assert_eq!(m.dbname(), "postgres");
    assert_eq!(c.dbname(), "sales");
    assert_eq!(m.hosts(), c.hosts());
    assert_eq!(m.user(), "u");
    assert_eq!(m.password(), Some("pw"));
    assert_eq!(m.ssl_mode(), SslMode::Require);
    assert_eq!(m.application_name(), Some("a"));
    assert_eq!(m.target(), "h1:5433,h2:5432/postgres");
}

// ------------------------------------------------- tokio-postgres settings

#[test]
fn pg_config_application_name_precedence() {
    let env = TestEnv::new();
    let h = |c: &ConnConfig| c.hosts()[0].clone();
    let c = parse("dbname=d", &env);
    let pg = pg_config(&c, &h(&c), "pgdump", TargetSessionAttrs::Any);
    assert_eq!(pg.get_application_name(), Some("pgdump"));
    let c = parse("dbname=d application_name=mine", &env);
    let pg = pg_config(&c, &h(&c), "pgdump", TargetSessionAttrs::Any);
    assert_eq!(pg.get_application_name(), Some("mine"));
    let c = parse("dbname=d fallback_application_name=fb", &env);
    let pg = pg_config(&c, &h(&c), "", TargetSessionAttrs::Any);
    assert_eq!(pg.get_application_name(), Some("fb"));
    let pg = pg_config(&c, &h(&c), "pgdump", TargetSessionAttrs::Any);
    assert_eq!(pg.get_application_name(), Some("pgdump"));
}

#[test]
fn pg_config_fields() {
    let c = parse(
        "host=db hostaddr=127.0.0.1 port=6000 user=u password=pw dbname=d \
         options='-c a=b' connect_timeout=9 keepalives_idle=20",
        &TestEnv::new(),
    );
    let pg = pg_config(&c, &c.hosts()[0], "x", TargetSessionAttrs::ReadWrite);
    assert_eq!(
        pg.get_hosts(),
        &[tokio_postgres::config::Host::Tcp("db".into())]
    );
    assert_eq!(
        pg.get_hostaddrs(),
        &["127.0.0.1".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(pg.get_ports(), &[6000]);
    assert_eq!(pg.get_user(), Some("u"));
    assert_eq!(pg.get_password(), Some(&b"pw"[..]));
    assert_eq!(pg.get_dbname(), Some("d"));
    assert_eq!(pg.get_options(), Some("-c a=b"));
    assert_eq!(pg.get_connect_timeout(), Some(&Duration::from_secs(9)));
    assert_eq!(pg.get_keepalives_idle(), Duration::from_secs(20));
    assert_eq!(
        pg.get_target_session_attrs(),
        tokio_postgres::config::TargetSessionAttrs::ReadWrite
    );
    let c = parse("host=/tmp", &TestEnv::new());
    let pg = pg_config(&c, &c.hosts()[0], "x", TargetSessionAttrs::Any);
    assert_eq!(
        pg.get_hosts(),
        &[tokio_postgres::config::Host::Unix("/tmp".into())]
    );
}

fn write_pgpass(dir: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("pgpass");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn pgpass_is_used_per_host_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pgpass(
        dir.path(),
        "h1:5432:sales:u:pw-h1-sales\nh2:*:*:u:pw-h2\nlocalhost:5432:*:u:pw-local\n",
    );
    let env = TestEnv::new().var("PGPASSFILE", file.to_str().unwrap());
    let c = parse("host=h1,h2,/tmp user=u dbname=sales", &env);
    let pw = |c: &ConnConfig, i: usize| {
        pg_config(c, &c.hosts()[i], "", TargetSessionAttrs::Any)
            .get_password()
            .map(|p| String::from_utf8(p.to_vec()).unwrap())
    };
    assert_eq!(pw(&c, 0).as_deref(), Some("pw-h1-sales"));
    assert_eq!(pw(&c, 1).as_deref(), Some("pw-h2"));
    assert_eq!(pw(&c, 2).as_deref(), Some("pw-local")); // socket → localhost
    let other = c.with_dbname("postgres");
    assert_eq!(pw(&other, 0), None);
    assert_eq!(pw(&other, 1).as_deref(), Some("pw-h2"));
    // an explicit password wins over the file
    let c = parse("host=h1 user=u dbname=sales password=explicit", &env);
    assert_eq!(pw(&c, 0).as_deref(), Some("explicit"));
    // passfile= in the string beats PGPASSFILE
    let file2 = dir.path().join("other");
    std::fs::copy(&file, &file2).unwrap();
    std::fs::write(&file2, "*:*:*:*:from-param\n").unwrap();
    let c = parse(
        &format!("host=h1 user=u dbname=sales passfile={}", file2.display()),
        &env,
    );
    assert_eq!(pw(&c, 0).as_deref(), Some("from-param"));
}

#[test]
fn default_pgpass_in_home() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pgpass(dir.path(), "*:*:*:*:homepw\n");
    std::fs::rename(&file, dir.path().join(".pgpass")).unwrap();
    let env = TestEnv {
        home: Some(dir.path().to_path_buf()),
        ..TestEnv::new()
    };
    let c = parse("host=h", &env);
    let pg = pg_config(&c, &c.hosts()[0], "", TargetSessionAttrs::Any);
    assert_eq!(pg.get_password(), Some(&b"homepw"[..]));
}

// --------------------------------------------------------------------- TLS

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/conn/testdata")
        .join(name)
}

fn certs(name: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(testdata(name))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap()
}

fn tls_settings(mode: &str, extra: &str) -> config::TlsSettings {
    parse(&format!("sslmode={mode} {extra}"), &TestEnv::new())
        .tls()
        .clone()
}

#[test]
fn tls_configs_build_for_every_mode() {
    let ca = testdata("ca.crt");
    let ca = ca.display();
    for mode in ["allow", "prefer", "require"] {
        tls::client_config(&tls_settings(mode, "")).unwrap();
        tls::client_config(&tls_settings(mode, &format!("sslrootcert={ca}"))).unwrap();
    }
    for mode in ["verify-ca", "verify-full"] {
        let c = tls::client_config(&tls_settings(mode, &format!("sslrootcert={ca}"))).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"postgresql".to_vec()]);
    }
}

#[test]
fn verify_modes_need_the_root_file() {
    for mode in ["verify-ca", "verify-full"] {
        let e = tls::client_config(&tls_settings(mode, "sslrootcert=/nonexistent/root.crt"))
            .unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, CoreError::Config(_)));
        assert!(
            m.contains("root certificate file \"/nonexistent/root.crt\" does not exist"),
            "{m}"
        );
        // default ~/.postgresql/root.crt missing
        let m = tls::client_config(&tls_settings(mode, ""))
            .unwrap_err()
            .to_string();
        assert!(m.contains("/home/osuser/.postgresql/root.crt"), "{m}");
    }
    // a file that is not PEM certificates
    let m = tls::client_config(&tls_settings(
        "verify-ca",
        &format!("sslrootcert={}", testdata("README.md").display()),
    ))
    .unwrap_err()
    .to_string();
    assert!(m.contains("could not read root certificate file"), "{m}");
}

#[test]
fn chain_only_verifier_ignores_the_name_but_not_the_issuer() {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    let server = certs("server.crt");
    let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
    let verifier = |ca: &str| {
        let mut roots = rustls::RootCertStore::empty();
        for c in certs(ca) {
            roots.add(c).unwrap();
        }
        tls::ChainOnly {
            roots: std::sync::Arc::new(roots),
            algs,
        }
    };
    let wrong_name = ServerName::try_from("wrong.example").unwrap();
    let ip = ServerName::try_from("127.0.0.1").unwrap();
    let good = verifier("ca.crt");
    for name in [&wrong_name, &ip] {
        good.verify_server_cert(&server[0], &[], name, &[], UnixTime::now())
            .unwrap();
    }
    let bad = verifier("otherca.crt");
    let e = bad
        .verify_server_cert(&server[0], &[], &wrong_name, &[], UnixTime::now())
        .unwrap_err();
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{e:?}"
    );
}

#[cfg(unix)]
#[test]
fn client_certificates() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let crt = dir.path().join("c.crt");
    let key = dir.path().join("c.key");
    std::fs::copy(testdata("client.crt"), &crt).unwrap();
    let extra = format!("sslcert={} sslkey={}", crt.display(), key.display());
    // certificate without key
    let m = tls::client_config(&tls_settings("require", &extra))
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("certificate present, but not private key file"),
        "{m}"
    );
    std::fs::copy(testdata("client.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let m = tls::client_config(&tls_settings("require", &extra))
        .unwrap_err()
        .to_string();
    assert!(m.contains("has group or world access"), "{m}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = tls::client_config(&tls_settings("require", &extra)).unwrap();
    assert!(c.client_auth_cert_resolver.has_certs());
    // a key that does not belong to the certificate
    std::fs::copy(testdata("server.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(tls::client_config(&tls_settings("require", &extra)).is_err());
    // no certificate file: no client authentication, no error
    let extra = format!("sslcert={}/none.crt", dir.path().display());
    let c = tls::client_config(&tls_settings("require", &extra)).unwrap();
    assert!(!c.client_auth_cert_resolver.has_certs());
}

#[test]
fn tls_config_is_cached_and_shared_by_clones() {
    let c = parse(
        &format!(
            "sslmode=require sslrootcert={}",
            testdata("ca.crt").display()
        ),
        &TestEnv::new(),
    );
    let a = c.rustls().unwrap();
    let b = c.with_dbname("other").rustls().unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

// ----------------------------------------------------------------- connect

#[test]
fn connect_outside_a_runtime_is_an_error() {
    let c = parse("host=127.0.0.1 port=1 sslmode=disable", &TestEnv::new());
    let r = futures::executor::block_on(connect(&c, "t"));
    assert!(matches!(r, Err(CoreError::Internal(_))), "{r:?}");
}

#[tokio::test]
async fn connect_refused_names_the_target_not_the_password() {
    // A port nobody listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = parse(
        &format!("postgresql://u:sekrit@127.0.0.1:{port}/db?sslmode=disable"),
        &TestEnv::new(),
    );
    let e = connect(&c, "t").await.unwrap_err();
    let CoreError::Connect { target, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(target, &format!("127.0.0.1:{port}/db"));
    let text = format!(
        "{e} {e:?} {}",
        crate::error::DbMessage(match &e {
            CoreError::Connect { source, .. } => source,
            _ => unreachable!(),
        })
    );
    assert!(!text.contains("sekrit"), "{text}");
}

#[tokio::test]
async fn connect_lists_every_host_tried() {
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let c = parse(
        &format!(
            "host=127.0.0.1,localhost port={},{} dbname=db sslmode=prefer",
            ports[0], ports[1]
        ),
        &TestEnv::new(),
    );
    let e = connect(&c, "t").await.unwrap_err();
    let CoreError::Connect { target, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        target.starts_with(&format!(
            "localhost:{}/db (also tried 127.0.0.1:{}/db: ",
            ports[1], ports[0]
        )),
        "{target}"
    );
}

#[tokio::test]
async fn connect_timeout_bounds_a_silent_server() {
    // A server that accepts TCP connections and never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let c = parse(
        &format!("host=127.0.0.1 port={port} connect_timeout=2 sslmode=prefer"),
        &TestEnv::new(),
    );
    let start = std::time::Instant::now();
    let e = connect(&c, "t").await.unwrap_err();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    let CoreError::Connect { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(source.to_string().contains("timeout"), "{source}");
    keep.abort();
}

#[test]
fn connect_errors_summarize_every_attempt() {
    let c = parse(
        "host=a,b dbname=d target_session_attrs=standby",
        &TestEnv::new(),
    );
    let timeout = || Failure::Pg(tokio_postgres::Error::__private_api_timeout());
    let e = connect_error(
        &c,
        vec![
            ("a:5432/d".into(), timeout()),
            ("b:5432/d".into(), timeout()),
        ],
    );
    let CoreError::Connect { target, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        target,
        "b:5432/d (also tried a:5432/d: timeout waiting for server)"
    );
    let e = connect_error(
        &c,
        vec![
            ("a:5432/d".into(), timeout()),
            (
                "b:5432/d".into(),
                Failure::Mismatch("server is not in hot standby mode"),
            ),
        ],
    );
    let CoreError::Config(m) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        m,
        "no server of a:5432,b:5432/d matches target_session_attrs=standby \
         (a:5432/d: timeout waiting for server; b:5432/d: server is not in hot standby mode)"
    );
}

#[test]
fn shuffle_is_a_permutation() {
    let mut v: Vec<usize> = (0..20).collect();
    shuffle(&mut v);
    let mut s = v.clone();
    s.sort_unstable();
    assert_eq!(s, (0..20).collect::<Vec<_>>());
}
