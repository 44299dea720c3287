//! The callback address guard: callbacks never reach loopback, private, link-local, multicast
//! or unspecified addresses (IPv4-mapped IPv6 included) unless the operator allows it.
//!
//! The check has to be made on the address actually connected to, not on the URL's host name,
//! or a name that resolves to 127.0.0.1 would walk straight past it. So the HTTP client is
//! given [`GuardedResolver`], and [`check_url`] covers the IP-literal hosts that the client
//! connects to without asking any resolver.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether Herald refuses to connect a callback to `ip` when private networks are not allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    a == 0 // "this network", 0.0.0.0 included: connecting to it reaches the local host
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64/10
        || ip.is_multicast()
        || a >= 240 // reserved 240/4, and the broadcast address within it
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || ip.is_multicast()
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`)
/// address, which stacks may route to the IPv4 host. `::` and `::1` are left to the IPv6 rules.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match ip.segments() {
        [0, 0, 0, 0, 0, 0, 0, last] if last <= 1 => None,
        [0, 0, 0, 0, 0, 0, _, _] => ip.to_ipv4(),
        _ => None,
    }
}

/// Refuses what the resolver cannot see: schemes other than http(s), and hosts written as IP
/// addresses, which the HTTP client connects to without resolving.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), String> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "callback URL scheme {other:?} is not http or https"
            ));
        }
    }
    if allow_private {
        return Ok(());
    }
    let Some(host) = url.host_str() else {
        return Err("callback URL has no host".to_owned());
    };
    // http(s) URLs come out of parsing with IP hosts normalised (`0x7f.1` is `127.0.0.1`,
    // IPv6 in brackets), so anything that is not an address here is a name.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(ip) if is_forbidden(ip) => Err(AddressRefused(ip.to_string()).to_string()),
        _ => Ok(()),
    }
}

/// The error the guard gives when every address of a callback host is forbidden. The sender
/// looks for it in a transport error's causes to tell a refusal (final) from a network failure
/// (worth retrying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRefused(pub String);

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "callback address {} is refused: loopback, private, link-local, multicast and \
             unspecified addresses are not allowed (callbacks.allow_private_networks)",
            self.0
        )
    }
}

impl Error for AddressRefused {}

/// The guard's refusal, if it is `err` or anywhere in its chain of causes.
pub fn refusal_in<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a AddressRefused> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        current = e.source();
    }
    None
}

/// A DNS resolver for the callback client that drops forbidden addresses, so the guard holds
/// on the address actually connected to.
#[derive(Debug, Default, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the client puts the URL's port in afterwards.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(&resolved);
            if allowed.is_empty() {
                let refused = resolved.first().map_or(host, |addr| addr.ip().to_string());
                return Err(Box::new(AddressRefused(refused)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

fn allowed_addresses(resolved: &[SocketAddr]) -> Vec<SocketAddr> {
    resolved
        .iter()
        .copied()
        .filter(|addr| !is_forbidden(addr.ip()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address parses")
    }

    #[test]
    fn forbidden_ipv4_ranges() {
        for addr in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "240.0.0.1",
        ] {
            assert!(is_forbidden(ip(addr)), "{addr} should be forbidden");
        }
    }

    #[test]
    fn public_ipv4_addresses_are_allowed() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "192.169.0.1",
            "223.255.255.255",
            "11.0.0.1",
        ] {
            assert!(!is_forbidden(ip(addr)), "{addr} should be allowed");
        }
    }

    #[test]
    fn forbidden_ipv6_ranges() {
        for addr in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "::10.0.0.1",
        ] {
            assert!(is_forbidden(ip(addr)), "{addr} should be forbidden");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for addr in [
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(addr)), "{addr} should be allowed");
        }
    }

    proptest! {
        #[test]
        fn ipv4_mapped_is_judged_by_its_ipv4_part(bits: u32) {
            let v4 = Ipv4Addr::from(bits);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            prop_assert_eq!(is_forbidden(mapped), is_forbidden(IpAddr::V4(v4)));
        }

        #[test]
        fn ipv4_compatible_is_judged_by_its_ipv4_part(bits in 2u32..) {
            let v4 = Ipv4Addr::from(bits);
            let compatible = IpAddr::V6(v4.to_ipv6_compatible());
            prop_assert_eq!(is_forbidden(compatible), is_forbidden(IpAddr::V4(v4)));
        }

        #[test]
        fn private_ipv4_blocks_are_always_forbidden(a in prop::sample::select(vec![10u8, 127]), rest: [u8; 3]) {
            let v4 = Ipv4Addr::new(a, rest[0], rest[1], rest[2]);
            prop_assert!(is_forbidden(IpAddr::V4(v4)));
        }

        #[test]
        fn unique_and_link_local_ipv6_are_always_forbidden(low: u128, link_local: bool) {
            let prefix: u128 = if link_local { 0xfe80 << 112 } else { 0xfc00 << 112 };
            let width = if link_local { 10 } else { 7 };
            let host = low & (u128::MAX >> width);
            prop_assert!(is_forbidden(IpAddr::V6(Ipv6Addr::from(prefix | host))));
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL parses")
    }

    #[test]
    fn check_url_refuses_forbidden_ip_literals() {
        for u in [
            "http://127.0.0.1/cb",
            "https://10.0.0.5:8443/cb",
            "http://[::1]/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://[::ffff:7f00:1]/cb",
            "http://0x7f.1/cb",
            "http://2130706433/cb",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0:8080/",
        ] {
            let refusal = check_url(&url(u), false).expect_err(u);
            assert!(refusal.contains("refused"), "{u}: {refusal}");
        }
    }

    #[test]
    fn check_url_lets_names_and_public_literals_through() {
        // Names are judged by the resolver, on the addresses they resolve to.
        for u in [
            "https://example.com/cb",
            "http://localhost:8080/cb",
            "http://8.8.8.8/cb",
            "http://[2001:4860:4860::8888]/cb",
        ] {
            assert_eq!(check_url(&url(u), false), Ok(()), "{u}");
        }
    }

    #[test]
    fn check_url_refuses_other_schemes_even_when_private_is_allowed() {
        for u in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
        ] {
            assert!(check_url(&url(u), true).is_err(), "{u}");
            assert!(check_url(&url(u), false).is_err(), "{u}");
        }
    }

    #[test]
    fn check_url_allows_private_literals_when_told_to() {
        assert_eq!(check_url(&url("http://127.0.0.1:9/cb"), true), Ok(()));
    }

    #[tokio::test]
    async fn resolver_refuses_a_name_that_resolves_only_to_loopback() {
        let name: Name = "localhost".parse().expect("valid name");
        let err = match GuardedResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        assert!(refusal_in(err.as_ref()).is_some());
        assert!(err.to_string().contains("refused"));
    }

    #[test]
    fn resolver_keeps_only_allowed_addresses() {
        let resolved: Vec<SocketAddr> = ["127.0.0.1:0", "8.8.8.8:0", "[::1]:0", "[2606:4700::1]:0"]
            .iter()
            .map(|s| s.parse().expect("test socket address parses"))
            .collect();
        let kept: Vec<String> = allowed_addresses(&resolved)
            .iter()
            .map(|a| a.ip().to_string())
            .collect();
        assert_eq!(kept, ["8.8.8.8", "2606:4700::1"]);
    }
}
