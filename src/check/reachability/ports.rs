//! Check stage, reachability: sets of ports per protocol, what a NetworkPolicy rule
//! allows and what a connection may use.

use std::collections::BTreeMap;

/// Protocols a NetworkPolicy port can name.
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// A set of ports per protocol, as sorted disjoint inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Ports(BTreeMap<String, Vec<(u16, u16)>>);

impl Ports {
    /// Every port of every protocol.
    pub fn all() -> Ports {
        Ports(
            PROTOCOLS
                .iter()
                .map(|p| ((*p).to_owned(), vec![(1, u16::MAX)]))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    pub(super) fn add(&mut self, protocol: &str, from: u16, to: u16) {
        let ranges = self.0.entry(protocol.to_owned()).or_default();
        ranges.push((from.min(to), from.max(to)));
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ranges = merged;
    }

    pub fn union(&mut self, other: &Ports) {
        for (protocol, ranges) in &other.0 {
            for &(a, b) in ranges {
                self.add(protocol, a, b);
            }
        }
    }

    pub fn intersection(&self, other: &Ports) -> Ports {
        let mut result = Ports::default();
        for (protocol, mine) in &self.0 {
            let Some(theirs) = other.0.get(protocol) else {
                continue;
            };
            for &(a, b) in mine {
                for &(c, d) in theirs {
                    let (from, to) = (a.max(c), b.min(d));
                    if from <= to {
                        result.add(protocol, from, to);
                    }
                }
            }
        }
        result
    }

    /// Whether a port of a protocol (`TCP`, `UDP`, `SCTP`) is in the set.
    pub fn allows(&self, protocol: &str, port: u16) -> bool {
        self.0
            .get(protocol)
            .is_some_and(|r| r.iter().any(|&(a, b)| a <= port && port <= b))
    }
}

impl std::fmt::Display for Ports {
    /// `8000`, `4369, 35672-35682`, `53/UDP`, `all/TCP`, `all`, or `.` when empty.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str(".");
        }
        if *self == Ports::all() {
            return f.write_str("all");
        }
        let mut parts = Vec::new();
        for protocol in PROTOCOLS {
            let suffix = if protocol == "TCP" {
                String::new()
            } else {
                format!("/{protocol}")
            };
            for &(a, b) in self.0.get(protocol).into_iter().flatten() {
                parts.push(match (a, b) {
                    (1, u16::MAX) => format!("all/{protocol}"),
                    (a, b) if a == b => format!("{a}{suffix}"),
                    (a, b) => format!("{a}-{b}{suffix}"),
                });
            }
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_render_ranges_and_protocols() {
        let mut p = Ports::default();
        p.add("TCP", 35672, 35682);
        p.add("TCP", 4369, 4369);
        p.add("UDP", 53, 53);
        assert_eq!(p.to_string(), "4369,35672-35682,53/UDP");
        assert!(p.allows("TCP", 35680));
        assert!(!p.allows("TCP", 53));
        assert!(p.allows("UDP", 53));
    }
}
