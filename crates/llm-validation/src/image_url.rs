//! Image URL rules: only `https:` URLs to public hosts, or inline `data:image/...;base64,` URLs.
//!
//! Upstream providers fetch image URLs themselves, and some gateways' own adapters download them to
//! inline them, so an image URL is a server-side request forgery vector. The rules:
//! - the scheme is `https` or `data`; `http:`, `file:`, `ftp:` and every other scheme are refused;
//! - an `https` URL has no userinfo (`user:pw@`), no backslash, whitespace or control characters, and
//!   an ASCII host (send IDNs as punycode: Unicode hosts are refused, because URL parsers map
//!   full-width digits to ASCII ones);
//! - the host is not `localhost` (or a `.localhost` name) and not an IP literal in a loopback,
//!   private, link-local, shared, unspecified, multicast or reserved range. IPv4 literals are read as a
//!   WHATWG URL parser reads them, so `127.1`, `0x7f.0.0.1` and `2130706433` are recognised too; IPv6
//!   literals that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are checked on that address;
//! - a `data:` URL has an `image/<subtype>` media type, the `;base64` marker and a non-empty base64
//!   payload.
//!
//! Host names that resolve to private addresses cannot be caught without DNS; whoever fetches the
//! image must still pin the resolved address.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Checks an image URL; the error is a client-facing reason.
pub(crate) fn check_image_url(url: &str) -> Result<(), String> {
    if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        check_https(rest)
    } else if let Some(rest) = strip_prefix_ignore_case(url, "data:") {
        check_data(rest)
    } else {
        Err("an image URL must be an `https://` URL or a `data:image/...;base64,` URL".to_owned())
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn check_https(rest: &str) -> Result<(), String> {
    if rest
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err("the image URL contains a backslash, whitespace or a control character".to_owned());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("the image URL must not carry credentials (`user@host`)".to_owned());
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((literal, after)) = bracketed.split_once(']') else {
            return Err("the image URL has a malformed IPv6 host".to_owned());
        };
        check_port(after)?;
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| "the image URL has a malformed IPv6 host".to_owned())?;
        return check_ipv6(ip);
    } else {
        let (host, after) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
        check_port(after)?;
        host
    };
    if host.is_empty() {
        return Err("the image URL has no host".to_owned());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Err("the image URL's host must be an ASCII name (punycode for IDNs)".to_owned());
    }
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host.starts_with('.') || host.contains("..") {
        return Err("the image URL's host has an empty label".to_owned());
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Err("the image URL must not point at localhost".to_owned());
    }
    match whatwg_ipv4(&host) {
        None => Ok(()),
        Some(Ok(ip)) => check_ipv4(ip),
        Some(Err(())) => Err("the image URL's host is a malformed IPv4 address".to_owned()),
    }
}

/// `after` is what follows the host: empty, or `:` and a port number.
fn check_port(after: &str) -> Result<(), String> {
    match after.strip_prefix(':') {
        None if after.is_empty() => Ok(()),
        Some(port) if port.is_empty() || port.parse::<u16>().is_ok() => Ok(()),
        _ => Err("the image URL has a malformed port".to_owned()),
    }
}

/// Reads `host` as the WHATWG URL standard does: `None` when it is a domain name, else the IPv4
/// address it denotes (or `Err` when it ends in a number but is no valid address).
fn whatwg_ipv4(host: &str) -> Option<Result<Ipv4Addr, ()>> {
    let last = host.rsplit('.').next().unwrap_or_default();
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || strip_prefix_ignore_case(last, "0x")
                .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())));
    if !numeric {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return Some(Err(()));
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        numbers.push(match parse_ipv4_number(part) {
            Some(number) => number,
            None => return Some(Err(())),
        });
    }
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) {
        return Some(Err(()));
    }
    // With n parts the last one fills the remaining 5 - n bytes.
    if *last >= 1u64 << (8 * (5 - numbers.len())) {
        return Some(Err(()));
    }
    let mut address = *last;
    for (i, n) in init.iter().enumerate() {
        address += n << (8 * (3 - i));
    }
    Some(u32::try_from(address).map(Ipv4Addr::from).map_err(|_| ()))
}

fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = strip_prefix_ignore_case(part, "0x") {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|n| *n <= u64::from(u32::MAX))
}

fn check_ipv4(ip: Ipv4Addr) -> Result<(), String> {
    let [a, b, ..] = ip.octets();
    let refused = ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || ip.is_multicast()
        || a >= 240; // reserved and broadcast
    if refused {
        Err("the image URL must not point at a private, loopback or link-local address".to_owned())
    } else {
        Ok(())
    }
}

fn check_ipv6(ip: Ipv6Addr) -> Result<(), String> {
    let segments = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return check_ipv4(v4);
    }
    if segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return check_ipv4(embedded_v4(segments[6], segments[7])); // IPv4-compatible
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return check_ipv4(embedded_v4(segments[6], segments[7])); // NAT64
    }
    if segments[0] == 0x2002 {
        check_ipv4(embedded_v4(segments[1], segments[2]))?; // 6to4
    }
    let first = segments[0];
    let refused = ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || ip.is_multicast();
    if refused {
        Err("the image URL must not point at a private, loopback or link-local address".to_owned())
    } else {
        Ok(())
    }
}

fn check_data(rest: &str) -> Result<(), String> {
    let Some((header, payload)) = rest.split_once(',') else {
        return Err("a data URL needs a `,` before its payload".to_owned());
    };
    let Some(media) = strip_suffix_ignore_case(header, ";base64") else {
        return Err("an image data URL must be base64 encoded (`data:image/png;base64,...`)".to_owned());
    };
    let media_type = media.split(';').next().unwrap_or_default();
    let subtype = strip_prefix_ignore_case(media_type, "image/").unwrap_or_default();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"+-.".contains(&b);
    if subtype.is_empty() || !subtype.bytes().all(token) {
        return Err("a data URL must carry an `image/...` media type".to_owned());
    }
    if payload.is_empty()
        || !payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
    {
        return Err("the data URL's payload is not base64".to_owned());
    }
    Ok(())
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatwg_ipv4_forms_are_recognised() {
        let ip = |host: &str| whatwg_ipv4(host).and_then(Result::ok);
        assert_eq!(ip("127.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(ip("127.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(ip("0x7f.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(ip("2130706433"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(ip("0177.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(ip("10.0.0.1."), None, "the caller strips the trailing dot");
        assert!(whatwg_ipv4("example.com").is_none());
        assert!(whatwg_ipv4("1.2.3.4.5").is_some_and(|r| r.is_err()));
        assert!(whatwg_ipv4("1.256.3.4").is_some_and(|r| r.is_err()));
        assert!(whatwg_ipv4("99999999999").is_some_and(|r| r.is_err()));
    }
}
