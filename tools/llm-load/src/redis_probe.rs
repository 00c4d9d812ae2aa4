//! Is Redis reachable? A `PING` over a plain TCP connection, so the benchmark can skip the Redis
//! configurations with a note instead of failing.

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of a `redis://[user:pass@]host[:port][/db]` URL.
fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("redis://")
        .context("only redis:// URLs are probed")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    Ok(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    })
}

/// `Ok` when Redis at `url` answers `PING` within a second.
pub async fn ping(url: &str) -> anyhow::Result<()> {
    let address = host_port(url)?;
    let exchange = async {
        let mut stream = TcpStream::connect(&address).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0_u8; 64];
        let read = stream.read(&mut reply).await?;
        Ok::<_, std::io::Error>(reply[..read].to_vec())
    };
    let reply = tokio::time::timeout(Duration::from_secs(1), exchange)
        .await
        .with_context(|| format!("no answer from {address} within 1 s"))?
        .with_context(|| format!("connecting to {address}"))?;
    anyhow::ensure!(
        reply.starts_with(b"+PONG"),
        "{address} answered {:?} to PING (a password? use a URL without one)",
        String::from_utf8_lossy(&reply)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_port("redis://127.0.0.1:6379").ok().as_deref(),
            Some("127.0.0.1:6379")
        );
        assert_eq!(
            host_port("redis://user:pw@cache/2").ok().as_deref(),
            Some("cache:6379")
        );
        assert!(host_port("rediss://cache").is_err());
    }
}
