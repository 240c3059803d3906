//! The machine's own limits, measured in the same run: SHA-256 speed and single-stream loopback
//! TCP bandwidth. Registry figures are also reported as a share of these.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// MiB/s of SHA-256 over `mib` MiB in one thread.
pub fn sha256_mib_s(mib: usize) -> f64 {
    let data = vec![0x5au8; 1024 * 1024];
    let started = Instant::now();
    let mut h = wharf_core::Hasher::new(wharf_core::Algorithm::Sha256);
    for _ in 0..mib {
        h.update(&data);
    }
    let _ = h.finish();
    mib as f64 / started.elapsed().as_secs_f64()
}

/// MiB/s of one TCP stream over 127.0.0.1 carrying `mib` MiB.
pub async fn loopback_mib_s(mib: usize) -> anyhow::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let reader = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0usize;
        loop {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                return Ok::<usize, std::io::Error>(total);
            }
            total += n;
        }
    });
    let mut out = tokio::net::TcpStream::connect(addr).await?;
    let chunk = vec![0u8; 1 << 20];
    let started = Instant::now();
    for _ in 0..mib {
        out.write_all(&chunk).await?;
    }
    out.shutdown().await?;
    let received = reader.await??;
    anyhow::ensure!(received == mib << 20, "loopback lost bytes");
    Ok(mib as f64 / started.elapsed().as_secs_f64())
}
