//! Per-client request budgets for the servers a node opens: a fixed one-second window per
//! client address, so one busy or hostile client exhausts its own budget and nobody else's.
//!
//! A client is its IP address; IPv6 clients are grouped by their /64 prefix (one host usually
//! holds a whole /64, so counting single addresses would give it billions of budgets). The
//! table is emptied at each new second and holds at most [`MAX_CLIENTS`] clients within one
//! second: a client beyond that is refused until the window turns, so the table cannot grow
//! without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Most distinct clients counted within one second.
pub const MAX_CLIENTS: usize = 65_536;

/// A per-client budget of `limit` units per second.
#[derive(Debug)]
pub struct PerClient {
    limit: u64,
    window: Mutex<(u64, HashMap<IpAddr, u64>)>,
}

/// The key a client address is counted under (IPv6: its /64 prefix).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl PerClient {
    /// A budget of `limit` units per client per second.
    pub fn new(limit: u64) -> PerClient {
        PerClient {
            limit,
            window: Mutex::new((0, HashMap::new())),
        }
    }

    /// Charge `n` units to `ip` in second `now_sec`; `false` when that goes over its budget
    /// (the units are charged all the same, so a client that keeps trying stays refused for
    /// the rest of the second).
    pub fn take(&self, ip: IpAddr, n: u64, now_sec: u64) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.0 != now_sec {
            w.0 = now_sec;
            w.1.clear();
        }
        let key = client_key(ip);
        if !w.1.contains_key(&key) && w.1.len() >= MAX_CLIENTS {
            return false;
        }
        let used = w.1.entry(key).or_insert(0);
        *used = used.saturating_add(n);
        *used <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_budget_and_it_renews_each_second() {
        let l = PerClient::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.take(a, 2, 7));
        assert!(l.take(a, 1, 7));
        assert!(!l.take(a, 1, 7));
        // Another client is untouched by a's flood.
        assert!(l.take(b, 3, 7));
        // A batch counts each of its requests.
        assert!(!l.take(b, 1, 7));
        assert!(l.take(a, 3, 8));
        assert!(!l.take(a, 4, 9));
    }

    #[test]
    fn ipv6_clients_count_per_64_prefix() {
        let l = PerClient::new(2);
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let z: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.take(x, 1, 1));
        assert!(l.take(y, 1, 1));
        assert!(!l.take(x, 1, 1));
        assert!(l.take(z, 2, 1));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_table_is_bounded() {
        let l = PerClient::new(1_000);
        for i in 0..MAX_CLIENTS as u32 {
            assert!(l.take(IpAddr::V4(std::net::Ipv4Addr::from(i)), 1, 5));
        }
        let late = IpAddr::V4(std::net::Ipv4Addr::from(u32::MAX));
        assert!(!l.take(late, 1, 5));
        assert!(l.take(late, 1, 6));
    }
}
