//! URLs by hand (no url crate in the Wasm): an absolute URL's origin and path, and a storefront's base.

/// `https://shop.example.com:8443/path` → `https://shop.example.com:8443`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// `https://shop.example.com/r/e?x=1#top` → `/r/e`: the path of an absolute URL, as the request line has it.
pub fn path_of(url: &str) -> &str {
    let after_host = match url.split_once("://") {
        Some((_, rest)) => rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]),
        None => url,
    };
    let path = after_host.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// A storefront base from `[sources] shop_url` (`https://host`, a trailing `/` allowed), or `None` when it is
/// not one.
pub fn shop_base_url(url: &str) -> Option<String> {
    let host = url.trim().strip_prefix("https://")?.trim_end_matches('/');
    valid_host(host).then(|| format!("https://{}", host.to_ascii_lowercase()))
}

/// The base from a platform's shop-domain header: a bare host name, checked, since the header is not signed.
pub fn shop_base_from_domain(domain: &str) -> Option<String> {
    shop_base_url(&format!("https://{}", domain.trim()))
}

/// A DNS host name (with an optional port): letters, digits, `-` and `.`, up to 253 characters.
pub fn valid_host(host: &str) -> bool {
    let name = host.split_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0) {
            h
        } else {
            ""
        }
    });
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_of_matches_the_request_line() {
        // The cases workers-rs checks its own `path_from_url` against `Url::parse` with.
        for (url, path) in [
            ("https://example.com/", "/"),
            ("https://example.com/foo/bar", "/foo/bar"),
            ("https://example.com/foo?a=1&b=/x", "/foo"),
            ("https://example.com/foo#/frag?x", "/foo"),
            ("https://example.com:8080/foo", "/foo"),
            ("https://example.com/a%3F%23%2Fb?c", "/a%3F%23%2Fb"),
            ("https://example.com?query", "/"),
            ("https://example.com#frag", "/"),
            ("https://example.com", "/"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }
}
