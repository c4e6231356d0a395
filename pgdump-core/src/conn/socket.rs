//! Opening the socket of a data connection ourselves (TCP or Unix), the way
//! tokio-postgres does for its own connections: `hostaddr` or every address the
//! name resolves to, `TCP_NODELAY`, keepalives and `tcp_user_timeout`; the
//! socket's directory and port for Unix sockets. Used where we put a [`Tap`]
//! under tokio-postgres, which then only speaks the protocol over it.
//!
//! [`Tap`]: super::tap::Tap

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use super::config::{ConnConfig, Host, HostSpec};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Connects to `h` (each resolved address in turn until one answers).
pub(crate) async fn connect(cfg: &ConnConfig, h: &HostSpec) -> io::Result<Socket> {
    match &h.host {
        Host::Unix(dir) => {
            let path = dir.join(format!(".s.PGSQL.{}", h.port));
            Ok(Socket::Unix(UnixStream::connect(path).await?))
        }
        Host::Tcp(name) => {
            let addrs: Vec<std::net::SocketAddr> = match h.hostaddr {
                Some(ip) => vec![(ip, h.port).into()],
                None => tokio::net::lookup_host((name.as_str(), h.port))
                    .await?
                    .collect(),
            };
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(s) => {
                        tune(cfg, &s)?;
                        return Ok(Socket::Tcp(s));
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("could not resolve any address of {name}"),
                )
            }))
        }
    }
}

/// `TCP_NODELAY`, keepalives and the user timeout of a TCP connection.
fn tune(cfg: &ConnConfig, s: &TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let sock = SockRef::from(s);
    if let Some(t) = cfg.tcp_user_timeout {
        sock.set_tcp_user_timeout(Some(t))?;
    }
    let k = cfg.keepalives;
    if k.enabled {
        let mut ka = TcpKeepalive::new().with_time(k.idle);
        if let Some(i) = k.interval {
            ka = ka.with_interval(i);
        }
        if let Some(r) = k.retries {
            ka = ka.with_retries(r);
        }
        sock.set_tcp_keepalive(&ka)?;
    }
    Ok(())
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
