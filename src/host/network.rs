//! Network facts: the MTU of the default IPv4 route's interface
//! (Ansible's `ansible_default_ipv4.mtu`, for ensure-docker), read from
//! `/proc/net/route` and `/sys/class/net/<if>/mtu` under the host root, and
//! this node's primary IP address (the buildset registry's default host)
//! and whether an address is one of this machine's. Read-only.

use super::Host;

/// The interface of the default IPv4 route in the text of `/proc/net/route`.
pub fn default_interface(route: &str) -> Option<String> {
    route.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 7 && fields[1] == "00000000" && fields[7] == "00000000")
            .then(|| fields[0].to_owned())
    })
}

/// The MTU of the default route's interface; `None` when it cannot be told
/// (no default route, no `/proc` under the root).
pub fn default_mtu(host: &Host) -> Option<u32> {
    let route = std::fs::read_to_string(host.path("/proc/net/route")).ok()?;
    let interface = default_interface(&route)?;
    let mtu = std::fs::read_to_string(host.path(format!("/sys/class/net/{interface}/mtu"))).ok()?;
    mtu.trim().parse().ok()
}

/// The source address of this node's default route, found by connecting a
/// UDP socket (which sends nothing) to documentation addresses.
pub fn primary_ip() -> Option<String> {
    let probes = [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")];
    probes.iter().find_map(|(bind, target)| {
        let socket = std::net::UdpSocket::bind(bind).ok()?;
        socket.connect(target).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then(|| ip.to_string())
    })
}

/// Whether `ip` is an address of this machine (a socket can be bound to
/// it; nothing is sent). A NAT address clients use is not.
pub fn is_local(ip: std::net::IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_route() {
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_interface(route).as_deref(), Some("eth0"));
        assert_eq!(default_interface("Iface\n"), None);
    }

    #[test]
    fn local_addresses() {
        assert!(is_local("127.0.0.1".parse().unwrap()));
        assert!(!is_local("192.0.2.254".parse().unwrap()));
    }

    #[test]
    fn mtu_under_root() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path());
        assert_eq!(default_mtu(&host), None);
        std::fs::create_dir_all(host.path("/proc/net")).unwrap();
        std::fs::create_dir_all(host.path("/sys/class/net/ens3")).unwrap();
        std::fs::write(
            host.path("/proc/net/route"),
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nens3\t00000000\t01\t0003\t0\t0\t0\t00000000\n",
        )
        .unwrap();
        std::fs::write(host.path("/sys/class/net/ens3/mtu"), "1450\n").unwrap();
        assert_eq!(default_mtu(&host), Some(1450));
    }
}
