//! A fault-injecting HTTP proxy in front of each node: nodes announced at their proxies' URLs
//! reach each other only through them, and the destination's proxy applies the [`Fault`] of
//! the link (caller, destination) from a shared, mutable table, one request per connection
//! (head read, caller learnt, head and answer forwarded with `Connection: close`). The caller:
//! the address in a signed peer message's `x-casl2-peer`; for the unsigned requests (the
//! catch-up's `l2_blocknumber` and `GET /p2p/block/{n}`, `POST /p2p/batch-sign`) the process
//! owning the connecting socket (Linux: `/proc/net/tcp`, `/proc/PID/fd`); else unknown, and
//! unknown callers get the table's default.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a link does to each request on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Deliver.
    Pass,
    /// Deliver after this many ms (the answer comes back after the reverse link's delay).
    Delay(u64),
    /// Close the connection without an answer.
    Drop,
    /// Drop this percentage of the requests, deterministically (every link counts its own).
    Loss(u64),
}

/// A request's sender: a node's index, or `None` when unknown.
pub type Caller = Option<usize>;

/// What the proxies did, summed over every link.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests forwarded to their node.
    pub forwarded: u64,
    /// Requests closed without an answer.
    pub dropped: u64,
    /// Requests whose caller was known from `x-casl2-peer`.
    pub by_header: u64,
    /// Requests whose caller was known from the socket's owner (looked up only while a link to
    /// the destination has a fault of its own).
    pub by_owner: u64,
    /// Requests whose caller was looked up and not found.
    pub unknown: u64,
}

#[derive(Default)]
struct Table {
    links: HashMap<(Caller, usize), Fault>,
    default: Option<Fault>,
    seen: HashMap<(Caller, usize), u64>,
    pids: Vec<Option<u32>>,
    stats: Stats,
}

struct Shared {
    addrs: Vec<String>,
    table: Mutex<Table>,
    stop: AtomicBool,
}

/// Longest wait on a socket, and the largest request head / body the proxy forwards.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 8 * 1024 * 1024;

/// One proxy per node, sharing one fault table; all stop when this is dropped.
pub struct FaultyNet {
    shared: Arc<Shared>,
    ports: Vec<u16>,
    accept: Vec<JoinHandle<()>>,
}

impl FaultyNet {
    /// Proxies for the nodes listening on `targets` (127.0.0.1), node `i` signing its peer
    /// messages as `addrs[i]`. Every link passes until told otherwise.
    pub fn start(addrs: Vec<String>, targets: &[u16]) -> FaultyNet {
        let shared = Arc::new(Shared {
            addrs,
            table: Mutex::new(Table {
                pids: vec![None; targets.len()],
                ..Table::default()
            }),
            stop: AtomicBool::new(false),
        });
        let (mut ports, mut accept) = (Vec::new(), Vec::new());
        for (to, target) in targets.iter().copied().enumerate() {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            ports.push(l.local_addr().unwrap().port());
            let s = shared.clone();
            accept.push(std::thread::spawn(move || accept_loop(l, to, target, s)));
        }
        FaultyNet {
            shared,
            ports,
            accept,
        }
    }

    /// The URL of node `i`'s proxy (announce this as its endpoint).
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/", self.port(i))
    }

    /// The port of node `i`'s proxy.
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// Node `i` runs as process `pid` (how its unsigned requests are told apart).
    pub fn set_pid(&self, i: usize, pid: u32) {
        self.table().pids[i] = Some(pid);
    }

    /// Requests from `from` to node `to` get `fault`.
    pub fn set(&self, from: Caller, to: usize, fault: Fault) {
        self.table().links.insert((from, to), fault);
    }

    /// Every link (unknown callers too) gets `fault`, until [`FaultyNet::heal`].
    pub fn all(&self, fault: Fault) {
        self.reset(Some(fault));
    }

    /// Drop every request between nodes of different `groups` (unknown callers pass).
    pub fn split(&self, groups: &[&[usize]]) {
        let side = |n: usize| groups.iter().position(|g| g.contains(&n));
        let n = self.ports.len();
        for (i, j) in (0..n).flat_map(|i| (0..n).map(move |j| (i, j))) {
            if side(i) != side(j) {
                self.set(Some(i), j, Fault::Drop);
            }
        }
    }

    /// Every link passes again.
    pub fn heal(&self) {
        self.reset(None);
    }

    fn reset(&self, default: Option<Fault>) {
        let mut t = self.table();
        t.links.clear();
        t.default = default;
    }

    /// What the proxies did so far.
    pub fn stats(&self) -> Stats {
        self.table().stats.clone()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.shared.table()
    }
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultyNet {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for h in self.accept.drain(..) {
            let _ = h.join();
        }
    }
}

fn accept_loop(l: TcpListener, to: usize, target: u16, s: Arc<Shared>) {
    let _ = l.set_nonblocking(true);
    while !s.stop.load(Ordering::SeqCst) {
        match l.accept() {
            Ok((c, _)) => {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = handle(c, to, target, &s);
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Proxy one request from `client` to node `to` (listening on `target`).
fn handle(mut client: TcpStream, to: usize, target: u16, s: &Shared) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    timeouts(&client)?;
    let (head, mut body) = read_head(&mut client)?;
    let caller = identify(&client, &head, to, s);
    let (fault, back) = decide(s, caller, to);
    if fault == Fault::Drop || s.stop.load(Ordering::SeqCst) {
        return client.shutdown(Shutdown::Both);
    }
    if let Fault::Delay(ms) = fault {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let len = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let missing = len.saturating_sub(body.len()) as u64;
    (&mut client).take(missing).read_to_end(&mut body)?;
    let mut server =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], target)), IO_TIMEOUT)?;
    timeouts(&server)?;
    server.write_all(&closing(&head))?;
    server.write_all(&body)?;
    let (answer, rest) = read_head(&mut server)?;
    if let Fault::Delay(ms) = back {
        std::thread::sleep(Duration::from_millis(ms));
    }
    client.write_all(&closing(&answer))?;
    client.write_all(&rest)?;
    std::io::copy(&mut server, &mut client)?;
    client.shutdown(Shutdown::Both)
}

fn timeouts(s: &TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))
}

/// The fault of the link (caller → to) for this request (a `Loss` resolved to `Pass` or
/// `Drop`), and that of the reverse link for the answer; counted in the stats.
fn decide(s: &Shared, caller: Caller, to: usize) -> (Fault, Fault) {
    let mut t = s.table();
    let fault_of = |t: &Table, k| t.links.get(&k).or(t.default.as_ref()).copied();
    let mut fault = fault_of(&t, (caller, to)).unwrap_or(Fault::Pass);
    let back = match caller {
        Some(c) => fault_of(&t, (Some(to), c)),
        None => t.default,
    }
    .unwrap_or(Fault::Pass);
    let seen = t.seen.entry((caller, to)).or_default();
    *seen += 1;
    let n = *seen;
    if let Fault::Loss(pct) = fault {
        // Of every 100 requests, the `pct` whose running share crosses a whole percent.
        let lost = (n * pct) / 100 != ((n - 1) * pct) / 100;
        fault = if lost { Fault::Drop } else { Fault::Pass };
    }
    t.stats.dropped += u64::from(fault == Fault::Drop);
    t.stats.forwarded += u64::from(fault != Fault::Drop);
    (fault, back)
}

/// Who sent the request on `client` with head `head` (see the module's doc).
fn identify(client: &TcpStream, head: &str, to: usize, s: &Shared) -> Caller {
    let claimed = header(head, "x-casl2-peer")
        .and_then(|v| v.split(':').next())
        .and_then(|a| s.addrs.iter().position(|x| x.eq_ignore_ascii_case(a)));
    let pids = {
        let mut t = s.table();
        // The socket's owner only matters when a link to `to` has a fault of its own (reading
        // `/proc/net/tcp` costs the kernel milliseconds with thousands of sockets).
        if claimed.is_some() || !t.links.keys().any(|(_, d)| *d == to) {
            t.stats.by_header += u64::from(claimed.is_some());
            return claimed;
        }
        t.pids.clone()
    };
    let owner = (client.peer_addr().ok().zip(client.local_addr().ok()))
        .and_then(|(peer, local)| socket_owner(peer.port(), local.port(), &pids));
    let stats = &mut s.table().stats;
    stats.by_owner += u64::from(owner.is_some());
    stats.unknown += u64::from(owner.is_none());
    owner
}

/// The index in `pids` of the process owning the TCP socket 127.0.0.1:`port` connected to
/// this proxy's `proxy_port` (Linux; `None` elsewhere or when not found).
fn socket_owner(port: u16, proxy_port: u16, pids: &[Option<u32>]) -> Option<usize> {
    let tcp = std::io::BufReader::new(std::fs::File::open("/proc/net/tcp").ok()?);
    let (local, remote) = (format!(":{port:04X}"), format!(":{proxy_port:04X}"));
    let inode = tcp.lines().skip(1).map_while(Result::ok).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let hit = f.len() > 9 && f[1].ends_with(&local) && f[2].ends_with(&remote);
        hit.then(|| f[9].to_string())
    })?;
    let link = format!("socket:[{inode}]");
    pids.iter().position(|pid| {
        let fds = pid.and_then(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).ok());
        fds.into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == link.as_str()))
    })
}

/// Read up to the blank line that ends an HTTP head: (the head, the bytes read after it).
fn read_head(s: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).into_owned();
            return Ok((head, buf[i + 4..].to_vec()));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 || buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("no HTTP head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The value of header `name` (lower case) in `head`.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `head` with its connection headers replaced by `Connection: close`, and the blank line.
fn closing(head: &str) -> Vec<u8> {
    let kept = head.split("\r\n").filter(|l| {
        let name = l.split(':').next().unwrap_or("").trim();
        !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
    });
    let mut out: String = kept.map(|l| format!("{l}\r\n")).collect();
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}
