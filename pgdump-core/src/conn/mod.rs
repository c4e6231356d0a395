//! Connecting to PostgreSQL the way libpq (and so pg_dump) users expect.
//!
//! * [`ConnConfig::parse`] reads a `postgresql://` URI, a `key=value`
//!   conninfo string or a bare database name;
//! * [`ConnBuilder`] applies pg_dump's `-h/-p/-U/-d` flags with libpq's
//!   precedence (the `-d` string, then the flags, then `PG*` environment
//!   variables, then the defaults);
//! * the password file (`~/.pgpass`, `PGPASSFILE`) is consulted at connect
//!   time for each server when no password is given;
//! * `sslmode` is implemented with rustls and the ring provider
//!   (see the `tls` module docs for the exact semantics);
//! * [`connect`] tries the servers in order (honouring
//!   `target_session_attrs`), spawns and supervises the connection driver and
//!   reports failures with the target (`host:port/db`) and the server's
//!   message, never the password;
//! * [`redact`] hides the password of a user-given connection string.

mod config;
mod conninfo;
mod pgpass;
mod socket;
pub(crate) mod tap;
mod tls;
mod uri;

use std::future::poll_fn;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::{MakeTlsConnect, NoTls};
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

use tap::{Tap, TapHandle};

use crate::error::{CoreError, DbMessage, Result};

pub use config::{
    is_connection_string, ChannelBinding, ConnBuilder, ConnConfig, Environment, Host, HostSpec,
    Keepalives, ProcessEnv, RootCert, SslMode, TargetSessionAttrs, TlsSettings,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, DEFAULT_SOCKET_DIRS,
};

/// Hides the password in a URI or conninfo string (user info, `password=`,
/// `sslpassword=`), for messages that must echo a user-given connection
/// string. A bare database name is returned unchanged. Never fails.
pub fn redact(s: &str) -> String {
    if uri::is_uri(s) {
        uri::redact(s)
    } else if s.contains('=') {
        conninfo::redact(s)
    } else {
        s.to_string()
    }
}

/// Why one server was not used.
enum Failure {
    /// Could not connect or authenticate.
    Pg(tokio_postgres::Error),
    /// Connected, but the server does not fit `target_session_attrs`.
    Mismatch(&'static str),
    /// Our own socket (of a tapped connection) could not connect.
    Io(std::io::Error),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Pg(e) => DbMessage(e).to_string(),
            Failure::Mismatch(m) => (*m).to_string(),
            Failure::Io(e) => e.to_string(),
        }
    }
}

/// How a connection's bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// tokio-postgres opens the socket and reads it.
    Managed,
    /// We open the socket and put a [`Tap`] under tokio-postgres.
    Tapped,
}

impl ConnConfig {
    /// The rustls configuration, built once and shared by clones.
    fn rustls(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut cache = self.tls_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref() {
            return Ok(c.clone());
        }
        let c = tls::client_config(&self.tls)?;
        *cache = Some(c.clone());
        Ok(c)
    }
}

/// Connects to the first suitable server of `cfg` and returns the client.
///
/// `application_name` is the fallback name reported to the server (like
/// libpq's `fallback_application_name`): an `application_name` in the
/// settings or `PGAPPNAME` wins over it. Servers are tried in order (or
/// shuffled with `load_balance_hosts=random`); each attempt is bounded by
/// `connect_timeout`. Unix-socket connections never use TLS.
///
/// The connection driver runs on a task of the current tokio runtime; its
/// end (server gone, network error) is logged at debug level and the client
/// then fails on its next use with a "connection closed" error. Server
/// notices are logged (`WARNING` at warn level, others at info/debug).
///
/// Errors: [`CoreError::Config`] for unusable TLS files, or when a server
/// was reached but is not the `primary`/`standby` that `target_session_attrs`
/// asks for (the message lists every server tried); otherwise
/// [`CoreError::Connect`] naming the failing `host:port/db` (and the other
/// servers tried) with the server's or the network's error as its source.
pub async fn connect(cfg: &ConnConfig, application_name: &str) -> Result<Client> {
    connect_via(cfg, application_name, Transport::Managed)
        .await
        .map(|(c, _, _)| c)
}

/// [`connect`], given up as soon as `cancel` fires ([`CoreError::Cancelled`]): a
/// server that accepts the connection and never answers does not hold a cancelled
/// command up.
pub async fn connect_cancellable(
    cfg: &ConnConfig,
    application_name: &str,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Client> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(CoreError::Cancelled),
        r = connect(cfg, application_name) => r,
    }
}

/// Ask the server to cancel what `token`'s connection is running (a cancel request on
/// a new connection, with TLS when the settings ask for it). Errors are only logged:
/// a cancel is best effort, and the caller goes on stopping.
pub async fn cancel_query(cfg: &ConnConfig, token: &tokio_postgres::CancelToken) {
    let res = if cfg.tls.mode == SslMode::Disable
        || cfg.hosts.iter().all(|h| matches!(h.host, Host::Unix(_)))
    {
        token.cancel_query(NoTls).await
    } else {
        match cfg.rustls() {
            Ok(c) => {
                token
                    .cancel_query(MakeRustlsConnect::new((*c).clone()))
                    .await
            }
            Err(e) => {
                tracing::debug!("cannot send a cancel request: {e}");
                return;
            }
        }
    };
    if let Err(e) = res {
        tracing::debug!("cancel request failed: {}", DbMessage(&e));
    }
}

/// [`connect`] with a [`Tap`] under the connection (for bulk COPY OUT; off on
/// TLS, see [`TapHandle::usable`]), also saying which server of `cfg.hosts` (by
/// index) it reached, for [`connect_tapped`] to open more connections to it.
pub(crate) async fn connect_routed(
    cfg: &ConnConfig,
    application_name: &str,
) -> Result<(Client, usize, TapHandle)> {
    match connect_via(cfg, application_name, Transport::Tapped).await? {
        (client, i, Some(tap)) => Ok((client, i, tap)),
        _ => Err(CoreError::Internal(
            "a tapped connection without its tap".into(),
        )),
    }
}

async fn connect_via(
    cfg: &ConnConfig,
    application_name: &str,
    transport: Transport,
) -> Result<(Client, usize, Option<TapHandle>)> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(CoreError::Internal(
            "conn::connect must run inside a tokio runtime".into(),
        ));
    }
    let needs_tls = cfg.tls.mode != SslMode::Disable
        && cfg.hosts.iter().any(|h| matches!(h.host, Host::Tcp(_)));
    let rustls = if needs_tls { Some(cfg.rustls()?) } else { None };

    let mut order: Vec<usize> = (0..cfg.hosts.len()).collect();
    if cfg.load_balance_hosts {
        shuffle(&mut order);
    }
    let passes: &[TargetSessionAttrs] = match cfg.target_session_attrs {
        TargetSessionAttrs::PreferStandby => {
            &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
        }
        TargetSessionAttrs::Any => &[TargetSessionAttrs::Any],
        TargetSessionAttrs::ReadWrite => &[TargetSessionAttrs::ReadWrite],
        TargetSessionAttrs::ReadOnly => &[TargetSessionAttrs::ReadOnly],
        TargetSessionAttrs::Primary => &[TargetSessionAttrs::Primary],
        TargetSessionAttrs::Standby => &[TargetSessionAttrs::Standby],
    };

    let mut failures: Vec<(String, Failure)> = Vec::new();
    for &want in passes {
        for &i in &order {
            let h = &cfg.hosts[i];
            let target = cfg.target_of(h);
            let attempt = connect_host(
                cfg,
                h,
                application_name,
                want,
                rustls.as_ref(),
                &target,
                transport,
            );
            match with_timeout(cfg, attempt).await {
                Ok((client, tap)) => {
                    tracing::debug!(server = %target, "connected");
                    return Ok((client, i, tap));
                }
                Err(f) => {
                    tracing::debug!(server = %target, "connection attempt failed: {}", f.message());
                    failures.push((target, f));
                }
            }
        }
    }
    Err(connect_error(cfg, failures))
}

/// Another connection to server `host` of `cfg` (an index of `cfg.hosts`, as
/// [`connect_routed`] returned it), with a [`Tap`] under it for bulk COPY OUT.
/// On a TLS connection the tap is off ([`TapHandle::usable`] is false).
pub(crate) async fn connect_tapped(
    cfg: &ConnConfig,
    host: usize,
    application_name: &str,
) -> Result<(Client, TapHandle)> {
    let h = cfg
        .hosts
        .get(host)
        .ok_or_else(|| CoreError::Internal(format!("no server #{host} to connect to")))?;
    let rustls = match (&h.host, cfg.tls.mode) {
        (Host::Tcp(_), m) if m != SslMode::Disable => Some(cfg.rustls()?),
        _ => None,
    };
    let target = cfg.target_of(h);
    let attempt = connect_host(
        cfg,
        h,
        application_name,
        TargetSessionAttrs::Any,
        rustls.as_ref(),
        &target,
        Transport::Tapped,
    );
    match with_timeout(cfg, attempt).await {
        Ok((client, Some(tap))) => Ok((client, tap)),
        Ok((_, None)) => Err(CoreError::Internal(
            "a tapped connection without its tap".into(),
        )),
        Err(f) => Err(connect_error(cfg, vec![(target, f)])),
    }
}

/// One connection attempt, bounded by `connect_timeout`.
async fn with_timeout<T>(
    cfg: &ConnConfig,
    attempt: impl std::future::Future<Output = std::result::Result<T, Failure>>,
) -> std::result::Result<T, Failure> {
    match cfg.connect_timeout {
        Some(t) => tokio::time::timeout(t, attempt)
            .await
            .unwrap_or_else(|_| Err(Failure::Pg(tokio_postgres::Error::__private_api_timeout()))),
        None => attempt.await,
    }
}

/// The error for a connect where every server failed: the last connection
/// error, with the other servers' failures in the target; or, when a server
/// was reachable but did not fit `target_session_attrs`, a settings error
/// listing every attempt.
fn connect_error(cfg: &ConnConfig, mut failures: Vec<(String, Failure)>) -> CoreError {
    let summary = |fs: &[(String, Failure)]| {
        fs.iter()
            .map(|(t, f)| format!("{t}: {}", f.message()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mismatch = failures
        .iter()
        .any(|(_, f)| matches!(f, Failure::Mismatch(_)));
    if let Some(i) = failures
        .iter()
        .rposition(|(_, f)| matches!(f, Failure::Io(_)))
    {
        if !failures.iter().any(|(_, f)| matches!(f, Failure::Pg(_))) && !mismatch {
            let (target, f) = failures.remove(i);
            if let Failure::Io(source) = f {
                return CoreError::io(format!("could not connect to {target}"), source);
            }
        }
    }
    let last_pg = failures
        .iter()
        .rposition(|(_, f)| matches!(f, Failure::Pg(_)));
    match last_pg {
        Some(i) if !mismatch => {
            let (target, f) = failures.remove(i);
            let Failure::Pg(source) = f else {
                unreachable!("position of a Pg failure")
            };
            let target = if failures.is_empty() {
                target
            } else {
                format!("{target} (also tried {})", summary(&failures))
            };
            CoreError::Connect { target, source }
        }
        _ => CoreError::Config(format!(
            "no server of {} matches target_session_attrs={} ({})",
            cfg.target(),
            cfg.target_session_attrs.as_str(),
            summary(&failures)
        )),
    }
}

/// The tokio-postgres settings for one server.
fn pg_config(
    cfg: &ConnConfig,
    h: &HostSpec,
    application_name: &str,
    want: TargetSessionAttrs,
) -> tokio_postgres::Config {
    let mut pg = tokio_postgres::Config::new();
    let (pgpass_host, unix) = match &h.host {
        Host::Tcp(name) => {
            pg.host(name);
            (name.clone(), false)
        }
        Host::Unix(dir) => {
            pg.host_path(dir);
            (dir.display().to_string(), true)
        }
    };
    if let Some(a) = h.hostaddr {
        pg.hostaddr(a);
    }
    pg.port(h.port).user(&cfg.user).dbname(&cfg.dbname);

    let password = cfg.password.clone().or_else(|| {
        let file = cfg.passfile.as_deref()?;
        pgpass::lookup(
            file,
            &pgpass::Key {
                host: &pgpass_host,
                unix_socket: unix,
                port: h.port,
                database: &cfg.dbname,
                user: &cfg.user,
            },
        )
    });
    if let Some(pw) = password {
        pg.password(pw);
    }

    let app = cfg
        .application_name
        .as_deref()
        .or(Some(application_name).filter(|a| !a.is_empty()))
        .or(cfg.fallback_application_name.as_deref());
    if let Some(app) = app {
        pg.application_name(app);
    }
    if let Some(o) = &cfg.options {
        pg.options(o);
    }
    if let Some(t) = cfg.connect_timeout {
        pg.connect_timeout(t);
    }
    if let Some(t) = cfg.tcp_user_timeout {
        pg.tcp_user_timeout(t);
    }
    let k = cfg.keepalives;
    pg.keepalives(k.enabled).keepalives_idle(k.idle);
    if let Some(i) = k.interval {
        pg.keepalives_interval(i);
    }
    if let Some(r) = k.retries {
        pg.keepalives_retries(r);
    }
    pg.channel_binding(match cfg.channel_binding {
        ChannelBinding::Disable => tokio_postgres::config::ChannelBinding::Disable,
        ChannelBinding::Prefer => tokio_postgres::config::ChannelBinding::Prefer,
        ChannelBinding::Require => tokio_postgres::config::ChannelBinding::Require,
    });
    pg.target_session_attrs(match want {
        TargetSessionAttrs::ReadWrite => tokio_postgres::config::TargetSessionAttrs::ReadWrite,
        TargetSessionAttrs::ReadOnly => tokio_postgres::config::TargetSessionAttrs::ReadOnly,
        _ => tokio_postgres::config::TargetSessionAttrs::Any,
    });
    if cfg.tls.direct {
        pg.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
    }
    pg
}

/// One server: connect (with the sslmode dance), spawn the driver, check the role.
#[allow(clippy::too_many_arguments)]
async fn connect_host(
    cfg: &ConnConfig,
    h: &HostSpec,
    application_name: &str,
    want: TargetSessionAttrs,
    rustls: Option<&Arc<rustls::ClientConfig>>,
    target: &str,
    transport: Transport,
) -> std::result::Result<(Client, Option<TapHandle>), Failure> {
    let mut pg = pg_config(cfg, h, application_name, want);
    let mode = match (&h.host, rustls) {
        (Host::Unix(_), _) | (_, None) => SslMode::Disable,
        _ => cfg.tls.mode,
    };
    // The name TLS verifies (tokio-postgres's own choice for managed connections).
    let tls_name = match &h.host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(_) => String::new(),
    };
    let plain = |pg: &mut tokio_postgres::Config| {
        pg.ssl_mode(tokio_postgres::config::SslMode::Disable)
            .ssl_negotiation(tokio_postgres::config::SslNegotiation::Postgres);
        let pg = pg.clone();
        let target = target.to_string();
        async move {
            match transport {
                Transport::Managed => {
                    let (client, conn) = pg.connect(NoTls).await.map_err(Failure::Pg)?;
                    spawn_driver(conn, target);
                    Ok((client, None))
                }
                Transport::Tapped => open_tapped(&pg, cfg, h, target, NoTls).await,
            }
        }
    };
    let encrypted = |pg: &mut tokio_postgres::Config, mode: tokio_postgres::config::SslMode| {
        pg.ssl_mode(mode);
        let pg = pg.clone();
        let target = target.to_string();
        let tls = rustls.map(|c| MakeRustlsConnect::new((**c).clone()));
        let tls_name = tls_name.clone();
        async move {
            let mut tls = tls.expect("TLS modes have a rustls configuration");
            match transport {
                Transport::Managed => {
                    let (client, conn) = pg.connect(tls).await.map_err(Failure::Pg)?;
                    spawn_driver(conn, target);
                    Ok((client, None))
                }
                Transport::Tapped => {
                    let connector = <MakeRustlsConnect as MakeTlsConnect<Tap<socket::Socket>>>::make_tls_connect(
                        &mut tls, &tls_name,
                    )
                    .map_err(|e| Failure::Io(std::io::Error::other(e)))?;
                    open_tapped(&pg, cfg, h, target, connector).await
                }
            }
        }
    };
    use tokio_postgres::config::SslMode as Pg;
    let res = match mode {
        SslMode::Disable => plain(&mut pg).await,
        SslMode::Allow => match plain(&mut pg).await {
            Err(Failure::Pg(e)) if e.as_db_error().is_some() => {
                tracing::debug!(server = %target, "plain connection refused ({}); trying TLS", DbMessage(&e));
                encrypted(&mut pg, Pg::Require).await
            }
            r => r,
        },
        SslMode::Prefer => match encrypted(&mut pg, Pg::Prefer).await {
            Err(Failure::Pg(e)) if tls::is_tls_failure(&e) => {
                tracing::debug!(server = %target, "TLS handshake failed ({}); trying without TLS", DbMessage(&e));
                plain(&mut pg).await
            }
            r => r,
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            encrypted(&mut pg, Pg::Require).await
        }
    };
    let (client, tap) = res?;
    check_role(&client, want, transport).await?;
    Ok((client, tap))
}

/// Opens our own socket to `h`, puts a [`Tap`] on it and has tokio-postgres start
/// the session over it (with `tls` when the settings ask for TLS).
async fn open_tapped<T>(
    pg: &tokio_postgres::Config,
    cfg: &ConnConfig,
    h: &HostSpec,
    target: String,
    tls: T,
) -> std::result::Result<(Client, Option<TapHandle>), Failure>
where
    T: tokio_postgres::tls::TlsConnect<Tap<socket::Socket>>,
    T::Stream: Send + 'static,
{
    let sock = socket::connect(cfg, h).await.map_err(Failure::Io)?;
    let (tap, handle) = Tap::new(sock);
    let (client, conn) = pg.connect_raw(tap, tls).await.map_err(Failure::Pg)?;
    spawn_driver(conn, target);
    Ok((client, Some(handle)))
}

/// Checks `primary` / `standby`, and `read-write` / `read-only` where tokio-postgres
/// does not (connections it did not open the socket of).
async fn check_role(
    client: &Client,
    want: TargetSessionAttrs,
    transport: Transport,
) -> std::result::Result<(), Failure> {
    let (sql, refuse) = match (want, transport) {
        (TargetSessionAttrs::Primary, _) => (
            "SELECT pg_catalog.pg_is_in_recovery()::text",
            ("true", "server is in hot standby mode"),
        ),
        (TargetSessionAttrs::Standby, _) => (
            "SELECT pg_catalog.pg_is_in_recovery()::text",
            ("false", "server is not in hot standby mode"),
        ),
        (TargetSessionAttrs::ReadWrite, Transport::Tapped) => (
            "SHOW transaction_read_only",
            ("on", "database does not allow writes"),
        ),
        (TargetSessionAttrs::ReadOnly, Transport::Tapped) => (
            "SHOW transaction_read_only",
            ("off", "database is not read only"),
        ),
        _ => return Ok(()),
    };
    let msgs = client.simple_query(sql).await.map_err(Failure::Pg)?;
    let refused = msgs.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0) == Some(refuse.0),
        _ => false,
    });
    if refused {
        return Err(Failure::Mismatch(refuse.1));
    }
    Ok(())
}

/// Runs the connection driver on its own task, logging notices and its end.
fn spawn_driver<S, T>(mut conn: tokio_postgres::Connection<S, T>, target: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notice(n))) => match n.severity() {
                    "WARNING" => {
                        tracing::warn!(target: "pgdump::server", "{}: {}", n.severity(), n.message())
                    }
                    "NOTICE" | "INFO" => {
                        tracing::info!(target: "pgdump::server", "{}: {}", n.severity(), n.message())
                    }
                    _ => {
                        tracing::debug!(target: "pgdump::server", "{}: {}", n.severity(), n.message())
                    }
                },
                Some(Ok(AsyncMessage::Notification(n))) => {
                    tracing::debug!(server = %target, "notification on channel {}", n.channel());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(server = %target, "connection ended: {}", DbMessage(&e));
                    break;
                }
                None => {
                    tracing::trace!(server = %target, "connection closed");
                    break;
                }
            }
        }
    });
}

/// Fisher-Yates with std's randomly seeded hasher (no rand dependency).
fn shuffle(v: &mut [usize]) {
    let state = std::collections::hash_map::RandomState::new();
    for i in (1..v.len()).rev() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        let j = (h.finish() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests;
