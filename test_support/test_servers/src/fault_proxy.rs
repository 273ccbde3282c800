//! A TCP proxy that injects faults between our programs and an S3 server on loopback.
//!
//! It forwards bytes both ways and reads the framing of each HTTP/1.1 request (head and
//! `Content-Length` body) on its way to the server, so that a test can, at any time:
//!
//! - delay every request ([`FaultProxy::set_latency`]), and cap each connection's rate each
//!   way ([`FaultProxy::set_bandwidth`]), as a real store's network does;
//! - close or reset a connection after N bytes of a request or of a response
//!   ([`FaultProxy::break_requests`], [`FaultProxy::break_responses`]);
//! - answer the next N requests itself with `503 SlowDown`, `500 InternalError`, or a `400`
//!   whose body is not S3's XML ([`FaultProxy::fail_requests`]);
//! - let one chosen request reach the server but lose its response
//!   ([`FaultProxy::lose_response_to`]);
//! - swallow all traffic without answering ([`FaultProxy::set_black_hole`]);
//! - refuse connections, its port closed ([`FaultProxy::set_refusing`]).
//!
//! It counts the requests it sees ([`FaultProxy::requests`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How a connection is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Break {
    /// A clean close (FIN): the peer sees the stream end early.
    Close,
    /// A reset (RST): the peer sees "connection reset by peer".
    Reset,
}

/// An error the proxy answers in the server's place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReply {
    /// `503 SlowDown`, S3's throttling answer.
    SlowDown,
    /// `500 InternalError`.
    InternalError,
    /// `400 Bad Request` with an HTML body, as a proxy in front of a store may answer: no S3
    /// error code or message can be read from it.
    Unreadable,
}

impl ErrorReply {
    fn response(self, head_only: bool) -> Vec<u8> {
        if self == ErrorReply::Unreadable {
            let body = "<html><body>400 Bad Request: the gateway refused this</body></html>";
            let mut response = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            if !head_only {
                response.extend_from_slice(body.as_bytes());
            }
            return response;
        }
        let (status, code, message) = match self {
            ErrorReply::SlowDown => (
                "503 Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
            ),
            ErrorReply::InternalError | ErrorReply::Unreadable => (
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
        );
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: fault-proxy\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if !head_only {
            response.extend_from_slice(body.as_bytes());
        }
        response
    }
}

/// Breaks the next `times` connections whose bytes in one direction pass `after`.
#[derive(Clone, Copy, Debug)]
struct Breaking {
    after: u64,
    times: u32,
    how: Break,
}

#[derive(Debug, Default)]
struct Faults {
    latency: Duration,
    bandwidth: Option<u64>,
    requests_broken: Option<Breaking>,
    responses_broken: Option<Breaking>,
    failing: Option<(u32, ErrorReply)>,
    /// The next request with this method whose target holds this text reaches the server, but
    /// its response is lost.
    losing: Option<(String, String)>,
    black_hole: bool,
    refusing: bool,
    requests: u64,
    injected: u64,
    log: Vec<RequestLine>,
}

/// A request as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

#[derive(Default)]
struct Shared {
    faults: Mutex<Faults>,
    changed: Notify,
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one break from `which` when a connection's `count` bytes pass its threshold;
    /// returns how many bytes may still go through and how to break after them.
    fn take_break(
        &self,
        which: fn(&mut Faults) -> &mut Option<Breaking>,
        sent: u64,
        chunk: usize,
    ) -> Option<(usize, Break)> {
        let mut faults = self.faults();
        let slot = which(&mut faults);
        let breaking = (*slot)?;
        if breaking.times == 0 || sent + chunk as u64 <= breaking.after {
            return None;
        }
        let allowed = usize::try_from(breaking.after.saturating_sub(sent)).unwrap_or(chunk);
        *slot = (breaking.times > 1).then_some(Breaking {
            times: breaking.times - 1,
            ..breaking
        });
        faults.injected += 1;
        Some((allowed.min(chunk), breaking.how))
    }
}

/// Keeps one direction of a connection under the bandwidth cap.
struct Pacer {
    /// Bytes sent since `from`.
    sent: u64,
    from: tokio::time::Instant,
}

impl Pacer {
    fn new() -> Self {
        Pacer {
            sent: 0,
            from: tokio::time::Instant::now(),
        }
    }

    /// Waits until `bytes` more may have been sent at `rate` bytes per second (`None`: at once).
    async fn pace(&mut self, bytes: usize, rate: Option<u64>) {
        let Some(rate) = rate else {
            self.sent = 0;
            return;
        };
        #[allow(clippy::cast_precision_loss)] // rates and sizes far below 2^52
        let due_after = |bytes: u64| Duration::from_secs_f64(bytes as f64 / rate as f64);
        let now = tokio::time::Instant::now();
        // After an idle while, pacing starts afresh (no burst from saved-up time).
        if self.sent == 0 || now > self.from + due_after(self.sent) + Duration::from_millis(20) {
            self.from = now;
            self.sent = 0;
        }
        self.sent += bytes as u64;
        tokio::time::sleep_until(self.from + due_after(self.sent)).await;
    }
}

/// A fault-injecting proxy on a loopback port, in front of `upstream`. Stops when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream`, an `http://host:port` endpoint, forwarding faithfully
    /// until told otherwise.
    ///
    /// # Errors
    ///
    /// Returns an error when `upstream` is not an `http://host:port` address or no port is free.
    pub fn start(upstream: &str) -> std::io::Result<Self> {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            .ok_or_else(|| {
                std::io::Error::other(format!("not an http://host:port endpoint: {upstream}"))
            })?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("fault-proxy".into())
                .spawn(move || {
                    runtime.block_on(async move {
                        tokio::select! {
                            () = serve(listener, upstream, shared) => {}
                            _ = stop => {}
                        }
                    });
                    // Dropping the runtime here ends every connection still open.
                })?
        };
        Ok(FaultProxy {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The endpoint URL to give the programs instead of the server's.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Delays every request by `latency` before it reaches the server.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults().latency = latency;
    }

    /// Caps each connection at `bytes_per_second` in each direction (`None`: no cap).
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.shared.faults().bandwidth = bytes_per_second.filter(|rate| *rate > 0);
    }

    /// Breaks the next `times` connections whose request bytes pass `after` bytes: the server
    /// gets exactly `after` bytes of them.
    pub fn break_requests(&self, after: u64, times: u32, how: Break) {
        self.shared.faults().requests_broken = Some(Breaking { after, times, how });
    }

    /// Breaks the next `times` connections whose response bytes pass `after` bytes: the
    /// client gets exactly `after` bytes of them.
    pub fn break_responses(&self, after: u64, times: u32, how: Break) {
        self.shared.faults().responses_broken = Some(Breaking { after, times, how });
    }

    /// Forwards the next `method` request whose path or query holds `target_holds` to the
    /// server, then closes its connection before any of the response reaches the client: the
    /// server did the work, the client cannot know it.
    pub fn lose_response_to(&self, method: &str, target_holds: &str) {
        self.shared.faults().losing = Some((method.to_string(), target_holds.to_string()));
    }

    /// Answers the next `count` requests with `reply` (and closes their connections) instead
    /// of forwarding them.
    pub fn fail_requests(&self, count: u32, reply: ErrorReply) {
        self.shared.faults().failing = (count > 0).then_some((count, reply));
    }

    /// While on, new connections are accepted but nothing is forwarded or answered, and open
    /// connections stop forwarding.
    pub fn set_black_hole(&self, on: bool) {
        self.shared.faults().black_hole = on;
        self.shared.changed.notify_waiters();
    }

    /// While on, the proxy's port is closed: connections are refused.
    ///
    /// # Errors
    ///
    /// Turning refusal off fails when the port was taken by another program meanwhile.
    pub fn set_refusing(&self, on: bool) -> std::io::Result<()> {
        self.shared.faults().refusing = on;
        self.shared.changed.notify_waiters();
        if on {
            // Wait until the listener is closed, so that the next connection is refused.
            for _ in 0..200 {
                if std::net::TcpStream::connect(self.address).is_err() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            return Err(std::io::Error::other("the proxy's port did not close"));
        }
        for _ in 0..200 {
            if std::net::TcpStream::connect(self.address).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(std::io::Error::other(format!(
            "the proxy could not listen on {} again",
            self.address
        )))
    }

    /// Ends every fault: the proxy forwards faithfully again (and listens, if it refused).
    ///
    /// # Errors
    ///
    /// As [`FaultProxy::set_refusing`].
    pub fn heal(&self) -> std::io::Result<()> {
        let refusing = {
            let mut faults = self.shared.faults();
            let refusing = faults.refusing;
            *faults = Faults {
                requests: faults.requests,
                injected: faults.injected,
                log: std::mem::take(&mut faults.log),
                refusing,
                ..Faults::default()
            };
            refusing
        };
        self.shared.changed.notify_waiters();
        if refusing {
            self.set_refusing(false)?;
        }
        Ok(())
    }

    /// How many requests reached the proxy so far (answered by it or forwarded).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.shared.faults().requests
    }

    /// The requests seen so far, in order.
    #[must_use]
    pub fn request_log(&self) -> Vec<RequestLine> {
        self.shared.faults().log.clone()
    }

    /// How many faults were injected so far: broken connections and error replies.
    #[must_use]
    pub fn faults_injected(&self) -> u64 {
        self.shared.faults().injected
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until the runtime stops, closing the port while refusing.
async fn serve(listener: std::net::TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let address = listener.local_addr().ok();
    let mut listener = TcpListener::from_std(listener).ok();
    loop {
        let changed = shared.changed.notified();
        let refusing = shared.faults().refusing;
        match (&listener, refusing) {
            (Some(_), true) => listener = None,
            (None, false) => {
                if let Some(address) = address {
                    listener = TcpListener::bind(address).await.ok();
                }
                if listener.is_none() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (None, true) => changed.await,
            (Some(open), false) => {
                tokio::select! {
                    accepted = open.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(connection(client, upstream, Arc::clone(&shared)));
                        }
                    }
                    () = changed => {}
                }
            }
        }
    }
}

/// Waits for as long as the black hole is on; true if it was.
async fn swallowed(shared: &Shared) -> bool {
    let mut was_on = false;
    loop {
        let changed = shared.changed.notified();
        if !shared.faults().black_hole {
            return was_on;
        }
        was_on = true;
        changed.await;
    }
}

fn break_connection(stream: &TcpStream, how: Break) {
    if how == Break::Reset {
        let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    }
}

async fn connection(client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    if swallowed(&shared).await {
        // Traffic that arrived during the black hole is lost with its connection.
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        break_connection(&client, Break::Reset);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let client_write = Arc::new(tokio::sync::Mutex::new(client_write));
    let muted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let responses = tokio::spawn(forward_responses(
        server_read,
        Arc::clone(&client_write),
        Arc::clone(&shared),
        Arc::clone(&muted),
    ));
    let requests =
        forward_requests(client_read, server_write, &client_write, &shared, &muted).await;
    if requests == Ended::Broken {
        responses.abort();
    } else {
        let _ = responses.await;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// A side closed the connection.
    Closed,
    /// The proxy broke or answered it.
    Broken,
}

/// Where the request stream is in the HTTP framing.
enum Framing {
    /// Reading a request head.
    Head,
    /// Forwarding this many more body bytes.
    Body(u64),
    /// Framing that the proxy does not follow (chunked bodies): bytes are passed as they come.
    Opaque,
}

const MAX_HEAD: usize = 64 * 1024;

/// The request head's length (through the blank line), the request, and its body length
/// (`None` when chunked).
fn parse_head(buffer: &[u8]) -> Option<(usize, RequestLine, Option<u64>)> {
    let end = buffer.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..end]);
    let mut first = head.split("\r\n").next().unwrap_or_default().split(' ');
    let mut request = RequestLine {
        method: first.next().unwrap_or_default().to_string(),
        target: first.next().unwrap_or_default().to_string(),
        range: None,
    };
    let mut length = Some(0);
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            length = None;
        } else if name.eq_ignore_ascii_case("range") {
            request.range = Some(value.trim().to_string());
        }
    }
    Some((end, request, length))
}

/// Counts and logs `request`, and takes the faults due for it: its latency, an error to answer
/// instead of forwarding it, and whether its response is lost (then `muted` is set).
fn note_request(
    shared: &Shared,
    request: &RequestLine,
    muted: &std::sync::atomic::AtomicBool,
) -> (Duration, Option<ErrorReply>) {
    let mut faults = shared.faults();
    faults.requests += 1;
    let failing = faults.failing.map(|(count, reply)| {
        faults.failing = (count > 1).then_some((count - 1, reply));
        reply
    });
    faults.injected += u64::from(failing.is_some());
    let lose = faults.losing.as_ref().is_some_and(|(method, holds)| {
        request.method == *method && request.target.contains(holds.as_str())
    });
    if lose {
        faults.losing = None;
        faults.injected += 1;
        // One request at a time on a connection: from here on, every response byte is this
        // request's.
        muted.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    faults.log.push(request.clone());
    (faults.latency, failing)
}

/// Forwards requests to the server, one HTTP request at a time, applying the request faults.
async fn forward_requests(
    mut client: OwnedReadHalf,
    mut server: OwnedWriteHalf,
    client_write: &tokio::sync::Mutex<OwnedWriteHalf>,
    shared: &Shared,
    muted: &std::sync::atomic::AtomicBool,
) -> Ended {
    let mut framing = Framing::Head;
    let mut inbox: Vec<u8> = Vec::new();
    let mut sent: u64 = 0;
    let mut pacer = Pacer::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        // Forward everything in the inbox that can be framed.
        loop {
            let chunk: Vec<u8> = match framing {
                Framing::Head => {
                    let Some((end, request, length)) = parse_head(&inbox) else {
                        if inbox.len() > MAX_HEAD {
                            framing = Framing::Opaque;
                            continue;
                        }
                        break;
                    };
                    let (latency, failing) = note_request(shared, &request, muted);
                    if let Some(reply) = failing {
                        let body = length.unwrap_or(0);
                        let already = (inbox.len() - end) as u64;
                        answer(
                            &mut client,
                            already,
                            body,
                            reply,
                            request.method == "HEAD",
                            client_write,
                        )
                        .await;
                        return Ended::Broken;
                    }
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    framing = match length {
                        Some(0) => Framing::Head,
                        Some(length) => Framing::Body(length),
                        None => Framing::Opaque,
                    };
                    inbox.drain(..end).collect()
                }
                Framing::Body(left) => {
                    if inbox.is_empty() {
                        break;
                    }
                    let take =
                        usize::try_from(left).map_or(inbox.len(), |left| left.min(inbox.len()));
                    framing = match left - take as u64 {
                        0 => Framing::Head,
                        more => Framing::Body(more),
                    };
                    inbox.drain(..take).collect()
                }
                Framing::Opaque => {
                    if inbox.is_empty() {
                        break;
                    }
                    std::mem::take(&mut inbox)
                }
            };
            if !send(
                &mut server,
                &chunk,
                &mut sent,
                &mut pacer,
                shared,
                client_write,
            )
            .await
            {
                return Ended::Broken;
            }
        }
        let read = match client.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                let _ = server.shutdown().await;
                return Ended::Closed;
            }
            Ok(read) => read,
        };
        if swallowed(shared).await {
            return Ended::Broken;
        }
        inbox.extend_from_slice(&buffer[..read]);
    }
}

/// Forwards `chunk` to the server unless a request break is due; false when broken.
async fn send(
    server: &mut OwnedWriteHalf,
    chunk: &[u8],
    sent: &mut u64,
    pacer: &mut Pacer,
    shared: &Shared,
    client_write: &tokio::sync::Mutex<OwnedWriteHalf>,
) -> bool {
    let brk = shared.take_break(|faults| &mut faults.requests_broken, *sent, chunk.len());
    if let Some((allowed, how)) = brk {
        let _ = server.write_all(&chunk[..allowed]).await;
        break_connection(server.as_ref(), how);
        let mut client = client_write.lock().await;
        break_connection(client.as_ref(), how);
        let _ = client.shutdown().await;
        let _ = server.shutdown().await;
        return false;
    }
    if server.write_all(chunk).await.is_err() {
        return false;
    }
    *sent += chunk.len() as u64;
    let rate = shared.faults().bandwidth;
    pacer.pace(chunk.len(), rate).await;
    true
}

/// Reads and drops the rest of a request's body, then answers `reply` and closes.
async fn answer(
    client: &mut OwnedReadHalf,
    already: u64,
    body: u64,
    reply: ErrorReply,
    head_only: bool,
    client_write: &tokio::sync::Mutex<OwnedWriteHalf>,
) {
    let mut left = body.saturating_sub(already);
    let mut buffer = vec![0u8; 64 * 1024];
    while left > 0 {
        match client.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => left = left.saturating_sub(read as u64),
        }
    }
    let mut client = client_write.lock().await;
    let _ = client.write_all(&reply.response(head_only)).await;
    let _ = client.shutdown().await;
}

async fn forward_responses(
    mut server: OwnedReadHalf,
    client: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    shared: Arc<Shared>,
    muted: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut sent: u64 = 0;
    let mut pacer = Pacer::new();
    loop {
        let read = match server.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if swallowed(&shared).await {
            return;
        }
        let mut client = client.lock().await;
        if muted.load(std::sync::atomic::Ordering::SeqCst) {
            break_connection(client.as_ref(), Break::Reset);
            let _ = client.shutdown().await;
            return;
        }
        let due = shared.take_break(|faults| &mut faults.responses_broken, sent, read);
        if let Some((allowed, how)) = due {
            let _ = client.write_all(&buffer[..allowed]).await;
            break_connection(client.as_ref(), how);
            let _ = client.shutdown().await;
            return;
        }
        if client.write_all(&buffer[..read]).await.is_err() {
            return;
        }
        sent += read as u64;
        drop(client);
        let rate = shared.faults().bandwidth;
        pacer.pace(read, rate).await;
    }
    let _ = client.lock().await.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn parse_head_reads_the_request_line_range_and_body_length() {
        let head = b"GET /artifacts/a.tar.zst HTTP/1.1\r\nrange: bytes=0-99\r\nContent-Length: 0\r\n\r\nrest";
        let (end, request, length) = parse_head(head).unwrap();
        assert_eq!(&head[end..], b"rest");
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/artifacts/a.tar.zst");
        assert_eq!(request.range.as_deref(), Some("bytes=0-99"));
        assert_eq!(length, Some(0));

        let chunked = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse_head(chunked).unwrap().2, None);
        assert!(parse_head(b"GET /x HTTP/1.1\r\nHost: a").is_none());
    }
}
