//! Connection settings: the parameter set, precedence (flags, `-d`
//! connection string, environment, defaults) and the resolved [`ConnConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{CoreError, Result};

use super::{conninfo, uri};

/// Default server port.
pub const DEFAULT_PORT: u16 = 5432;

/// Directories probed, in order, for a server socket when no host is given.
pub const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// Keywords we understand.
const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "passfile",
    "sslmode",
    "requiressl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslnegotiation",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "options",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "channel_binding",
    "load_balance_hosts",
];

/// libpq keywords accepted and ignored: they do not change what we connect to
/// nor weaken security.
const IGNORED_KEYWORDS: &[&str] = &[
    "client_encoding",
    "sslcompression",
    "sslsni",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// libpq keywords refused when given a non-empty value (we cannot honour them,
/// and silently ignoring them could weaken security or change the target).
const UNSUPPORTED_KEYWORDS: &[(&str, &str)] = &[
    (
        "service",
        "connection service files (pg_service.conf) are not supported",
    ),
    (
        "sslpassword",
        "encrypted client keys (sslpassword) are not supported",
    ),
    (
        "sslcrl",
        "certificate revocation lists (sslcrl) are not supported",
    ),
    (
        "sslcrldir",
        "certificate revocation lists (sslcrldir) are not supported",
    ),
    ("requirepeer", "requirepeer is not supported"),
    ("require_auth", "require_auth is not supported"),
    ("replication", "replication connections are not supported"),
    ("sslcertmode", "sslcertmode is not supported"),
    ("gssencmode", "GSSAPI encryption is not supported"),
];

/// Environment variables, as libpq reads them, and the keyword each fills.
const ENV_VARS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "dbname"),
    ("PGPASSFILE", "passfile"),
    ("PGSSLMODE", "sslmode"),
    ("PGREQUIRESSL", "requiressl"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGSSLCRL", "sslcrl"),
    ("PGSSLCRLDIR", "sslcrldir"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGAPPNAME", "application_name"),
    ("PGOPTIONS", "options"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGLOADBALANCEHOSTS", "load_balance_hosts"),
    ("PGSERVICE", "service"),
    ("PGREQUIREAUTH", "require_auth"),
    ("PGGSSENCMODE", "gssencmode"),
];

/// Where settings not given explicitly come from: environment variables, the
/// OS user, the home directory and the presence of server sockets.
///
/// [`ProcessEnv`] reads the real process environment. Tests pass their own
/// implementation; any `Fn(&str) -> Option<String>` closure is an
/// `Environment` that answers variables and uses the real system for the rest.
pub trait Environment {
    /// The value of environment variable `name`.
    fn var(&self, name: &str) -> Option<String>;

    /// The name of the OS user running this process (the default user name).
    fn os_user(&self) -> Option<String> {
        sys::os_user()
            .or_else(|| self.var("USER"))
            .or_else(|| self.var("LOGNAME"))
    }

    /// The home directory (for `~/.pgpass` and `~/.postgresql/`).
    fn home_dir(&self) -> Option<PathBuf> {
        self.var("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(sys::home_from_passwd)
    }

    /// Whether a server socket `.s.PGSQL.<port>` exists in `dir`.
    fn socket_exists(&self, dir: &Path, port: u16) -> bool {
        sys::socket_exists(dir, port)
    }
}

impl<F: Fn(&str) -> Option<String>> Environment for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Look-ups of the running system, without `unsafe`.
mod sys {
    use std::path::{Path, PathBuf};

    /// (name, home) of the passwd entry of the effective user.
    fn passwd_entry() -> Option<(String, PathBuf)> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // /proc/self belongs to the effective user of this process.
            let uid = std::fs::metadata("/proc/self").ok()?.uid();
            let text = std::fs::read_to_string("/etc/passwd").ok()?;
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid))
                    .then(|| (f[0].to_string(), PathBuf::from(f[5])))
            })
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    pub(super) fn os_user() -> Option<String> {
        passwd_entry().map(|(n, _)| n).filter(|n| !n.is_empty())
    }

    pub(super) fn home_from_passwd() -> Option<PathBuf> {
        passwd_entry()
            .map(|(_, h)| h)
            .filter(|h| !h.as_os_str().is_empty())
    }

    pub(super) fn socket_exists(dir: &Path, port: u16) -> bool {
        let p = dir.join(format!(".s.PGSQL.{port}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
        }
        #[cfg(not(unix))]
        {
            p.exists()
        }
    }
}

/// A raw parameter set (keyword → value), like libpq's option array. Empty
/// values count as unset.
#[derive(Clone, Default)]
pub(crate) struct Params {
    map: BTreeMap<&'static str, String>,
}

impl Params {
    /// Canonical (static) keyword, or a Config error for unknown ones.
    fn keyword(k: &str) -> Result<&'static str> {
        KEYWORDS
            .iter()
            .chain(IGNORED_KEYWORDS)
            .chain(UNSUPPORTED_KEYWORDS.iter().map(|(k, _)| k))
            .find(|kw| **kw == k)
            .copied()
            .ok_or_else(|| CoreError::Config(format!("invalid connection option \"{k}\"")))
    }

    /// Sets `k` (validated) to `v`; an empty value unsets it.
    pub(crate) fn set(&mut self, k: &str, v: impl Into<String>) -> Result<()> {
        let k = Self::keyword(k)?;
        let v = v.into();
        if v.is_empty() {
            self.map.remove(k);
        } else {
            self.map.insert(k, v);
        }
        Ok(())
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }

    /// Parses a connection string (URI or conninfo) into a parameter set.
    pub(crate) fn from_connstr(s: &str) -> Result<Params> {
        let pairs = if uri::is_uri(s) {
            uri::parse(s)?
        } else {
            conninfo::parse(s)?
        };
        let mut p = Params::default();
        for (k, v) in pairs {
            p.set(&k, v).map_err(|e| match uri::is_uri(s) {
                true => CoreError::Config(format!("invalid URI query parameter: \"{k}\"")),
                false => e,
            })?;
        }
        Ok(p)
    }

    /// Values of `other` override ours.
    fn overlay(&mut self, other: &Params) {
        for (k, v) in &other.map {
            self.map.insert(k, v.clone());
        }
    }
}

/// How long one connection attempt may take when `connect_timeout`
/// (`PGCONNECT_TIMEOUT`) is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a `-d` value is a connection string rather than a database name
/// (libpq's `expand_dbname` rule: a URI prefix, or an `=` anywhere).
pub fn is_connection_string(s: &str) -> bool {
    uri::is_uri(s) || s.contains('=')
}

/// TLS mode (libpq `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Try without TLS first; use TLS if the server refuses the plain connection.
    Allow,
    /// Use TLS when the server supports it, else connect in plain text (default).
    #[default]
    Prefer,
    /// Require TLS; verify the certificate chain only if a root certificate file exists.
    Require,
    /// Require TLS and verify the certificate chain against `sslrootcert`.
    VerifyCa,
    /// Require TLS, verify the chain and that the certificate matches the host name.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return Err(invalid_value("sslmode", s)),
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which server of a multi-host list is acceptable (libpq `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any server (default).
    #[default]
    Any,
    /// A server accepting writes (`transaction_read_only = off`).
    ReadWrite,
    /// A server in read-only mode.
    ReadOnly,
    /// A server not in recovery.
    Primary,
    /// A server in recovery (hot standby).
    Standby,
    /// A standby if one is reachable, else any server.
    PreferStandby,
}

impl TargetSessionAttrs {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        }
    }
}

impl FromStr for TargetSessionAttrs {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "any" => Self::Any,
            "read-write" => Self::ReadWrite,
            "read-only" => Self::ReadOnly,
            "primary" => Self::Primary,
            "standby" => Self::Standby,
            "prefer-standby" => Self::PreferStandby,
            _ => return Err(invalid_value("target_session_attrs", s)),
        })
    }
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file (`sslrootcert=path`, default `~/.postgresql/root.crt`).
    File(PathBuf),
    /// The operating system's trust store (`sslrootcert=system`).
    System,
}

/// TLS settings of a [`ConnConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`, or the default `~/.postgresql/root.crt` (`None` without a home directory).
    pub root_cert: Option<RootCert>,
    /// Client certificate (`sslcert`, default `~/.postgresql/postgresql.crt`); used if the file exists.
    pub client_cert: Option<PathBuf>,
    /// Client key (`sslkey`, default `~/.postgresql/postgresql.key`).
    pub client_key: Option<PathBuf>,
    /// `sslnegotiation=direct` (PostgreSQL 17+ direct TLS handshake).
    pub direct: bool,
}

/// The host part of one server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name or IP address, reached over TCP.
    Tcp(String),
    /// A directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    Unix(PathBuf),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(h) if h.contains(':') => write!(f, "[{h}]"),
            Host::Tcp(h) => f.write_str(h),
            Host::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One server address of a (possibly multi-host) configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostSpec {
    /// Host name (also used for TLS verification), IP address or socket directory.
    pub host: Host,
    /// Numeric address to connect to instead of resolving `host` (`hostaddr`).
    pub hostaddr: Option<IpAddr>,
    /// TCP port, or the number in the socket's file name.
    pub port: u16,
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// TCP keepalive settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalives {
    /// Whether keepalives are enabled (`keepalives`, default on).
    pub enabled: bool,
    /// Idle time before the first probe (`keepalives_idle`; default 60 s).
    pub idle: Duration,
    /// Interval between probes (`keepalives_interval`; default 10 s).
    pub interval: Option<Duration>,
    /// Probes lost before the connection is dead (`keepalives_count`; default 6).
    pub retries: Option<u32>,
}

impl Default for Keepalives {
    /// More eager than the OS defaults (2 h idle) so that a dump notices a
    /// vanished server within minutes instead of hanging.
    fn default() -> Self {
        Keepalives {
            enabled: true,
            idle: Duration::from_secs(60),
            interval: Some(Duration::from_secs(10)),
            retries: Some(6),
        }
    }
}

/// Channel binding (SCRAM-SHA-256-PLUS) policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    /// Never use channel binding.
    Disable,
    /// Use it when available (default).
    #[default]
    Prefer,
    /// Fail unless the server authenticates with channel binding.
    Require,
}

/// Fully resolved connection settings: where to connect, as whom, how.
///
/// Build one with [`ConnConfig::parse`] (a URI, a conninfo string or a bare
/// database name; gaps filled from the environment and the defaults) or with
/// [`ConnBuilder`] (pg_dump's `-h/-p/-U/-d` flags). `Debug` and `Display`
/// never show the password.
#[derive(Clone)]
pub struct ConnConfig {
    pub(crate) hosts: Vec<HostSpec>,
    pub(crate) user: String,
    pub(crate) password: Option<String>,
    pub(crate) dbname: String,
    pub(crate) passfile: Option<PathBuf>,
    pub(crate) tls: TlsSettings,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) application_name: Option<String>,
    pub(crate) fallback_application_name: Option<String>,
    pub(crate) options: Option<String>,
    pub(crate) target_session_attrs: TargetSessionAttrs,
    pub(crate) keepalives: Keepalives,
    pub(crate) tcp_user_timeout: Option<Duration>,
    pub(crate) channel_binding: ChannelBinding,
    pub(crate) load_balance_hosts: bool,
    /// The rustls client configuration, built on first TLS use and shared by
    /// clones (settings cannot change after resolution).
    pub(crate) tls_cache: Arc<Mutex<Option<Arc<rustls::ClientConfig>>>>,
}

impl ConnConfig {
    /// Parses a URI (`postgresql://...`), a conninfo string (`host=... dbname=...`)
    /// or a bare database name, then fills the gaps from the process
    /// environment and the defaults, as `psql "<s>"` would.
    pub fn parse(s: &str) -> Result<ConnConfig> {
        Self::parse_with_env(s, &ProcessEnv)
    }

    /// [`ConnConfig::parse`] with an explicit environment.
    pub fn parse_with_env(s: &str, env: &dyn Environment) -> Result<ConnConfig> {
        ConnBuilder::new().dbname(s).resolve_with_env(env)
    }

    /// The database name.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The explicitly given password (from the connection string, the builder
    /// or `PGPASSWORD`); the password file is consulted at connect time.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The servers to try, in order.
    pub fn hosts(&self) -> &[HostSpec] {
        &self.hosts
    }

    /// The port of the first server.
    pub fn port(&self) -> u16 {
        self.hosts.first().map_or(DEFAULT_PORT, |h| h.port)
    }

    /// The password file consulted when no password is given.
    pub fn passfile(&self) -> Option<&Path> {
        self.passfile.as_deref()
    }

    /// TLS settings.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// `sslmode`.
    pub fn ssl_mode(&self) -> SslMode {
        self.tls.mode
    }

    /// `application_name` from the settings (`PGAPPNAME`), if any.
    pub fn application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// Server options (`options`, `PGOPTIONS`), e.g. `-c search_path=x`.
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// Timeout for each connection attempt.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// `target_session_attrs`.
    pub fn target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// TCP keepalive settings.
    pub fn keepalives(&self) -> Keepalives {
        self.keepalives
    }

    /// The same server and settings with another database (restore uses it
    /// for `--create` and the maintenance database).
    pub fn with_dbname(&self, name: &str) -> ConnConfig {
        let mut c = self.clone();
        c.dbname = name.to_string();
        c
    }

    /// `host:port/dbname` (hosts comma-separated) for messages; never holds the password.
    pub fn target(&self) -> String {
        let hosts: Vec<String> = self.hosts.iter().map(HostSpec::to_string).collect();
        format!("{}/{}", hosts.join(","), self.dbname)
    }

    /// `host:port/dbname` of one server of the list.
    pub(crate) fn target_of(&self, h: &HostSpec) -> String {
        format!("{h}/{}", self.dbname)
    }
}

impl fmt::Debug for ConnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnConfig")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("dbname", &self.dbname)
            .field("passfile", &self.passfile)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("keepalives", &self.keepalives)
            .field("tcp_user_timeout", &self.tcp_user_timeout)
            .field("channel_binding", &self.channel_binding)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .finish()
    }
}

/// Quotes a conninfo value when needed.
fn conninfo_value(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
    {
        return v.to_string();
    }
    let mut s = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// A conninfo string of the main settings; the password shows as `********`.
impl fmt::Display for ConnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| match &h.host {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        let ports: Vec<String> = self.hosts.iter().map(|h| h.port.to_string()).collect();
        write!(
            f,
            "host={} port={} user={} dbname={}",
            conninfo_value(&hosts.join(",")),
            conninfo_value(&ports.join(",")),
            conninfo_value(&self.user),
            conninfo_value(&self.dbname)
        )?;
        if self.password.is_some() {
            f.write_str(" password=********")?;
        }
        write!(f, " sslmode={}", self.tls.mode)
    }
}

impl FromStr for ConnConfig {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        ConnConfig::parse(s)
    }
}

/// pg_dump-style connection options, resolved into a [`ConnConfig`].
///
/// Precedence, as pg_dump: settings inside a `-d` connection string override
/// the `-h`/`-p`/`-U` flags (and [`password`](Self::password)); whatever is
/// still unset comes from the environment (`PGHOST`, `PGPORT`, `PGUSER`, ...);
/// then the defaults (host: a Unix socket in `/var/run/postgresql` or `/tmp`
/// if one exists for the port, else `localhost`; port 5432; user: the OS
/// user; database: the user name).
#[derive(Clone, Default)]
pub struct ConnBuilder {
    /// `-h HOST` (comma-separated list allowed; a path is a socket directory).
    pub host: Option<String>,
    /// `-p PORT` (comma-separated list allowed).
    pub port: Option<String>,
    /// `-U USER`.
    pub user: Option<String>,
    /// `-d DBNAME|CONNSTR`: a database name, a URI or a conninfo string.
    pub dbname: Option<String>,
    /// A password (e.g. prompted by the CLI); the `-d` string and nothing else overrides it.
    pub password: Option<String>,
}

impl fmt::Debug for ConnBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname.as_deref().map(super::redact))
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

fn invalid_value(key: &str, v: &str) -> CoreError {
    CoreError::Config(format!("invalid {key} value: \"{v}\""))
}

fn parse_int(key: &str, v: &str) -> Result<i64> {
    v.trim().parse::<i64>().map_err(|_| {
        CoreError::Config(format!(
            "invalid integer value \"{v}\" for connection option \"{key}\""
        ))
    })
}

fn parse_secs(key: &str, v: &str) -> Result<Duration> {
    let n = parse_int(key, v)?;
    Ok(Duration::from_secs(n.max(0) as u64))
}

fn parse_port(v: &str) -> Result<u16> {
    match v.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(CoreError::Config(format!("invalid port number: \"{v}\""))),
    }
}

impl ConnBuilder {
    /// An empty builder (everything from the environment and the defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `-h`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Sets `-p`.
    pub fn port(mut self, port: impl Into<String>) -> Self {
        self.port = Some(port.into());
        self
    }

    /// Sets `-U`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets `-d` (a database name or a connection string).
    pub fn dbname(mut self, dbname: impl Into<String>) -> Self {
        self.dbname = Some(dbname.into());
        self
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Resolves against the process environment.
    pub fn resolve(&self) -> Result<ConnConfig> {
        self.resolve_with_env(&ProcessEnv)
    }

    /// Resolves against `env` (tests pass a fake environment).
    pub fn resolve_with_env(&self, env: &dyn Environment) -> Result<ConnConfig> {
        let mut p = Params::default();
        let flag = |p: &mut Params, k: &str, v: &Option<String>| -> Result<()> {
            match v {
                Some(v) => p.set(k, v.clone()),
                None => Ok(()),
            }
        };
        flag(&mut p, "host", &self.host)?;
        flag(&mut p, "port", &self.port)?;
        flag(&mut p, "user", &self.user)?;
        flag(&mut p, "password", &self.password)?;
        if let Some(d) = &self.dbname {
            if is_connection_string(d) {
                p.overlay(&Params::from_connstr(d)?);
            } else {
                p.set("dbname", d.clone())?;
            }
        }
        for (var, key) in ENV_VARS {
            if p.get(key).is_none() {
                if let Some(v) = env.var(var).filter(|v| !v.is_empty()) {
                    p.set(key, v)?;
                }
            }
        }
        resolve_params(&p, env)
    }
}

/// Splits a comma-separated list; an unset value is an empty list.
fn split_list(v: Option<&str>) -> Vec<&str> {
    v.map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

fn default_host(env: &dyn Environment, port: u16) -> Host {
    for dir in DEFAULT_SOCKET_DIRS {
        if env.socket_exists(Path::new(dir), port) {
            return Host::Unix(PathBuf::from(dir));
        }
    }
    Host::Tcp("localhost".into())
}

fn parse_host(s: &str) -> Result<Host> {
    if s.starts_with('/') {
        Ok(Host::Unix(PathBuf::from(s)))
    } else if s.starts_with('@') {
        Err(CoreError::Config(format!(
            "abstract Unix sockets are not supported: host \"{s}\""
        )))
    } else {
        Ok(Host::Tcp(s.to_string()))
    }
}

/// Turns a complete parameter set into a [`ConnConfig`], applying defaults.
pub(crate) fn resolve_params(p: &Params, env: &dyn Environment) -> Result<ConnConfig> {
    for (k, why) in UNSUPPORTED_KEYWORDS {
        let Some(v) = p.get(k) else { continue };
        let harmless = match *k {
            "gssencmode" => v == "disable" || v == "prefer" || v == "allow",
            "sslcertmode" => v == "disable" || v == "allow",
            _ => false,
        };
        if !harmless {
            return Err(CoreError::Config(format!(
                "{why} ({k}={})",
                if *k == "sslpassword" { "********" } else { v }
            )));
        }
    }
    for k in IGNORED_KEYWORDS {
        if p.get(k).is_some() {
            tracing::debug!("ignoring connection option \"{k}\"");
        }
    }

    // --- hosts, hostaddrs, ports
    let host_l = split_list(p.get("host"));
    let addr_l = split_list(p.get("hostaddr"));
    let port_l = split_list(p.get("port"));
    if !host_l.is_empty() && !addr_l.is_empty() && host_l.len() != addr_l.len() {
        return Err(CoreError::Config(format!(
            "could not match {} host names to {} hostaddr values",
            host_l.len(),
            addr_l.len()
        )));
    }
    let n = host_l.len().max(addr_l.len()).max(1);
    if port_l.len() > 1 && port_l.len() != n {
        return Err(CoreError::Config(format!(
            "could not match {} port numbers to {} hosts",
            port_l.len(),
            n
        )));
    }
    let mut hosts = Vec::with_capacity(n);
    for i in 0..n {
        let port_s = if port_l.len() == 1 {
            port_l[0]
        } else {
            port_l.get(i).copied().unwrap_or("")
        };
        let port = if port_s.is_empty() {
            DEFAULT_PORT
        } else {
            parse_port(port_s)?
        };
        let addr_s = addr_l.get(i).copied().unwrap_or("");
        let hostaddr = if addr_s.is_empty() {
            None
        } else {
            Some(addr_s.parse::<IpAddr>().map_err(|_| {
                CoreError::Config(format!("could not parse network address \"{addr_s}\""))
            })?)
        };
        let host_s = host_l.get(i).copied().unwrap_or("");
        let host = if !host_s.is_empty() {
            parse_host(host_s)?
        } else if hostaddr.is_some() {
            Host::Tcp(addr_s.to_string())
        } else {
            default_host(env, port)
        };
        if hostaddr.is_some() && matches!(host, Host::Unix(_)) {
            return Err(CoreError::Config(format!(
                "hostaddr \"{addr_s}\" cannot be combined with the socket directory \"{host_s}\""
            )));
        }
        hosts.push(HostSpec {
            host,
            hostaddr,
            port,
        });
    }

    // --- identity
    let user = match p.get("user") {
        Some(u) => u.to_string(),
        None => env.os_user().ok_or_else(|| {
            CoreError::Config("could not determine the user name; use -U, user= or PGUSER".into())
        })?,
    };
    let dbname = p.get("dbname").unwrap_or(&user).to_string();
    let password = p.get("password").map(str::to_string);
    let home = env.home_dir();
    let passfile = p
        .get("passfile")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".pgpass")));

    // --- TLS
    let root_cert = match p.get("sslrootcert") {
        Some("system") => Some(RootCert::System),
        Some(f) => Some(RootCert::File(PathBuf::from(f))),
        None => home
            .as_ref()
            .map(|h| RootCert::File(h.join(".postgresql/root.crt"))),
    };
    let mode = match (p.get("sslmode"), p.get("requiressl")) {
        (Some(m), _) => m.parse()?,
        (None, Some(r)) => match parse_int("requiressl", r)? {
            0 => SslMode::Prefer,
            _ => SslMode::Require,
        },
        (None, None) if root_cert == Some(RootCert::System) => SslMode::VerifyFull,
        (None, None) => SslMode::Prefer,
    };
    if root_cert == Some(RootCert::System)
        && !matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull)
    {
        return Err(CoreError::Config(format!(
            "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        )));
    }
    let direct = match p.get("sslnegotiation") {
        None | Some("postgres") => false,
        Some("direct") => true,
        Some(v) => return Err(invalid_value("sslnegotiation", v)),
    };
    if direct
        && !matches!(
            mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    {
        return Err(CoreError::Config(format!(
            "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
        )));
    }
    let client_cert = p
        .get("sslcert")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".postgresql/postgresql.crt")));
    let client_key = p
        .get("sslkey")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".postgresql/postgresql.key")));

    // --- the rest
    // libpq waits for ever when none is set; a server that accepts the connection and
    // never answers would then hang a backup job: pgdump gives up after
    // DEFAULT_CONNECT_TIMEOUT unless told otherwise (0 = wait for ever, as libpq).
    let connect_timeout = match p.get("connect_timeout") {
        None => Some(DEFAULT_CONNECT_TIMEOUT),
        Some(v) => match parse_int("connect_timeout", v)? {
            n if n <= 0 => None,
            1 => Some(Duration::from_secs(2)), // libpq's minimum
            n => Some(Duration::from_secs(n as u64)),
        },
    };
    let target_session_attrs = match p.get("target_session_attrs") {
        Some(v) => v.parse()?,
        None => TargetSessionAttrs::Any,
    };
    let mut keepalives = Keepalives::default();
    if let Some(v) = p.get("keepalives") {
        keepalives.enabled = parse_int("keepalives", v)? != 0;
    }
    if let Some(v) = p.get("keepalives_idle") {
        keepalives.idle = parse_secs("keepalives_idle", v)?;
    }
    if let Some(v) = p.get("keepalives_interval") {
        keepalives.interval = Some(parse_secs("keepalives_interval", v)?);
    }
    if let Some(v) = p.get("keepalives_count") {
        keepalives.retries =
            Some(parse_int("keepalives_count", v)?.clamp(0, u32::MAX as i64) as u32);
    }
    let tcp_user_timeout = match p.get("tcp_user_timeout") {
        None => None,
        Some(v) => match parse_int("tcp_user_timeout", v)? {
            n if n <= 0 => None,
            n => Some(Duration::from_millis(n as u64)),
        },
    };
    let channel_binding = match p.get("channel_binding") {
        None | Some("prefer") => ChannelBinding::Prefer,
        Some("disable") => ChannelBinding::Disable,
        Some("require") => ChannelBinding::Require,
        Some(v) => return Err(invalid_value("channel_binding", v)),
    };
    let load_balance_hosts = match p.get("load_balance_hosts") {
        None | Some("disable") => false,
        Some("random") => true,
        Some(v) => return Err(invalid_value("load_balance_hosts", v)),
    };

    Ok(ConnConfig {
        hosts,
        user,
        password,
        dbname,
        passfile,
        tls: TlsSettings {
            mode,
            root_cert,
            client_cert,
            client_key,
            direct,
        },
        connect_timeout,
        application_name: p.get("application_name").map(str::to_string),
        fallback_application_name: p.get("fallback_application_name").map(str::to_string),
        options: p.get("options").map(str::to_string),
        target_session_attrs,
        keepalives,
        tcp_user_timeout,
        channel_binding,
        load_balance_hosts,
        tls_cache: Arc::default(),
    })
}
