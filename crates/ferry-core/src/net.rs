//! Network addresses as the servers write them in text.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv6 address as `inet_ntop` (glibc, BIND; so PostgreSQL's inet and
/// MariaDB's INET6) writes it: RFC 5952 compression, `::ffff:a.b.c.d` for
/// IPv4-mapped addresses, and `::a.b.c.d` for the IPv4-compatible form,
/// which Rust's own formatter writes in hex.
pub fn ipv6_text(bytes: [u8; 16]) -> String {
    let compatible = bytes[..12].iter().all(|b| *b == 0) && (bytes[12] != 0 || bytes[13] != 0);
    if compatible {
        let v4 = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
        return format!("::{v4}");
    }
    Ipv6Addr::from(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_forms() {
        let mut mapped = [0u8; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 1, 2, 3, 4]);
        assert_eq!(ipv6_text(mapped), "::ffff:1.2.3.4");
        let mut compat = [0u8; 16];
        compat[12..].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(ipv6_text(compat), "::1.2.3.4");
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(ipv6_text(one), "::1");
        assert_eq!(ipv6_text([0; 16]), "::");
        let doc: Ipv6Addr = "2001:db8:0:0:1:0:0:1".parse().unwrap();
        assert_eq!(ipv6_text(doc.octets()), "2001:db8::1:0:0:1");
    }
}
