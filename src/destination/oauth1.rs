//! OAuth 1.0a request signing (RFC 5849, HMAC-SHA1), as X's Ads API takes it: the signature covers the method,
//! the URL without its query, and the `oauth_*` parameters with the URL's query parameters; a JSON body is not
//! signed (RFC 5849 §3.4.1.3.1 takes only a form body's parameters). Pure: the time and nonce come in.

use crate::hit::field::percent_encode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The four values an OAuth 1.0a user-context request is signed with.
pub struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: &'a str,
    pub token_secret: &'a str,
}

/// The `Authorization` header for `method url` (the query, if any, is signed as parameters).
pub fn authorization(
    method: &str,
    url: &str,
    credentials: &Credentials,
    nonce: &str,
    timestamp_s: i64,
) -> String {
    let (base_url, query) = url.split_once('?').unwrap_or((url, ""));
    let timestamp = timestamp_s.to_string();
    let oauth = [
        ("oauth_consumer_key", credentials.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", credentials.token),
        ("oauth_version", "1.0"),
    ];
    let mut params: Vec<(String, String)> = oauth
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = crate::hit::field::percent_decode;
        params.push((percent_encode(&decode(k)), percent_encode(&decode(v))));
    }
    params.sort();
    let param_string = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&lowercase_origin(base_url)),
        percent_encode(&param_string)
    );
    let key = format!(
        "{}&{}",
        percent_encode(credentials.consumer_secret),
        percent_encode(credentials.token_secret)
    );
    let signature = signature(&key, &base);
    let mut header: Vec<String> = oauth
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v)))
        .collect();
    header.push(format!(
        "oauth_signature=\"{}\"",
        percent_encode(&signature)
    ));
    header.sort();
    format!("OAuth {}", header.join(", "))
}

/// base64(HMAC-SHA1(key, text)).
fn signature(key: &str, text: &str) -> String {
    // HMAC takes a key of any length: this never fails, and nothing here may panic.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The scheme and host in lowercase, as the base string wants them; the path as it is.
fn lowercase_origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X's documented example (developer.x.com, "Creating a signature"): the same credentials, nonce and time
    /// give its published signature `Ls93hJiZbQ3akF3HF3x1Bz8/zU4=`.
    #[test]
    fn the_signature_is_xs_documented_example() {
        let credentials = Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        };
        let header = authorization(
            "post",
            "https://api.x.com/1.1/statuses/update.json?include_entities=true&status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
            &credentials,
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1_318_622_958,
        );
        assert!(
            header.contains(r#"oauth_signature="Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D""#),
            "{header}"
        );
        assert!(
            header.starts_with("OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", oauth_nonce=")
        );
    }
}
