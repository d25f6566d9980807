//! How many connections each client address holds open, so that one address cannot take
//! every connection the server can keep.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections by client address (addresses with none are forgotten).
#[derive(Debug, Clone, Default)]
pub(crate) struct Open(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection, counted until it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    open: Open,
    ip: IpAddr,
}

impl Open {
    /// Count a new connection from `ip`, unless it already holds `max`.
    pub(crate) fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            open: self.clone(),
            ip,
        })
    }

    /// Connections `ip` holds now.
    #[cfg(test)]
    fn held(&self, ip: IpAddr) -> usize {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.open.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Open;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back_on_close() {
        let open = Open::default();
        let a = "192.0.2.1".parse().unwrap();
        let b = "192.0.2.2".parse().unwrap();
        let first = open.take(a, 2).unwrap();
        let second = open.take(a, 2).unwrap();
        assert!(open.take(a, 2).is_none(), "a third from the same address");
        assert!(open.take(b, 2).is_some(), "another address is not affected");
        drop(first);
        let third = open.take(a, 2).unwrap();
        drop((second, third));
        assert_eq!(open.held(a), 0);
        assert!(
            open.0.lock().unwrap().is_empty(),
            "idle addresses are forgotten"
        );
    }
}
