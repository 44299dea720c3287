//! The callback address guard: callbacks never reach loopback, private, link-local, multicast
//! or unspecified addresses (IPv4-mapped IPv6 included) unless the operator allows it.

use std::net::IpAddr;

/// Whether Herald refuses to connect a callback to `ip` when private networks are not allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    let _ = ip;
    todo!("STUB: filled in by the callbacks work")
}
