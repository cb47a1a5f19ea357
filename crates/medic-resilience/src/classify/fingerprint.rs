//! Stable fingerprints: the same failure gets the same id in every run.
//!
//! A message is first reduced to its *template* by [`normalize`]: lowercased,
//! whitespace collapsed, and every value that changes between occurrences
//! (numbers, ids, addresses, paths, quoted values) replaced by a placeholder.
//! The template is then hashed with FNV-1a (64 bit). `std`'s `DefaultHasher`
//! is deliberately not used: its output may change between Rust releases and
//! `RandomState` differs per process, which would make fingerprints useless
//! for grouping failures across runs and machines.
//!
//! All replacements happen in one left-to-right scan of a single regex whose
//! alternatives are tried in priority order at each position (quoted values
//! before URLs before UUIDs before IPs ... before plain numbers), so a value
//! is replaced exactly once, by its most specific placeholder.
//!
//! Every alternative that starts (ends) with a letter or digit requires an
//! ASCII word boundary there, and the alternatives that start with
//! punctuation look only at characters outside any other match. That is what
//! makes `normalize` idempotent: a placeholder never changes whether its
//! neighbours match on the next pass.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Placeholder for a quoted value: `'..'`, `".."` or `` `..` ``.
const QUOTED: &str = "<str>";
/// Placeholder for a UUID.
const UUID: &str = "<uuid>";
/// Placeholder for an IPv4 or IPv6 address, with or without a port.
const IP: &str = "<ip>";
/// Placeholder for a port number after a host name or on its own (`:8080`).
const PORT: &str = "<port>";
/// Placeholder for a hex id (`0x1f`, or 8+ hex digits with at least one digit).
const HEX: &str = "<hex>";
/// Placeholder for a number, optionally with a unit (`30ms`, `1.5s`, `512mb`).
const NUMBER: &str = "<num>";
/// Placeholder for a file system path or the path/query part of a URL.
const PATH: &str = "<path>";
/// Placeholder for an ISO-8601 date or timestamp.
const TIMESTAMP: &str = "<ts>";

/// `(?-u:\b)`: an ASCII word boundary. Unicode boundaries would be slower and
/// would treat `é1` differently from `e1` only in confusing ways.
macro_rules! boundary {
    () => {
        r"(?-u:\b)"
    };
}

/// Characters that end a path or URL: whitespace, quotes, brackets, and the
/// separators that usually follow a path in prose (`,` `;` `=` `:`).
macro_rules! path_char {
    () => {
        r#"[^\s'"`<>,;:=()\[\]{}]"#
    };
}

/// One hexadecimal group of an IPv6 address.
macro_rules! hex_group {
    () => {
        r"[0-9a-f]{1,4}"
    };
}

static TEMPLATE_VALUES: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = concat!(
        // Quoted values. Single quotes only open after a separator, so the
        // apostrophes in "can't" and "isn't" are left alone.
        r#"(?P<dquote>"[^"]*")"#,
        r"|(?P<backtick>`[^`]*`)",
        r"|(?P<squote_lead>^|[\s(\[{=,;:])'[^']*'",
        // URLs: keep scheme and host, drop credentials, path and query.
        r"|(?P<url>",
        boundary!(),
        r"[a-z][a-z0-9+.\-]*://)(?P<url_host>[^\s/?#'`<>",
        "\"",
        r"]*)(?P<url_rest>[^\s'`<>",
        "\"",
        r"]*)",
        // Dates and timestamps, before numbers eat their parts.
        r"|(?P<timestamp>",
        boundary!(),
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[t ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?(?:z|[+\-][0-9]{2}:?[0-9]{2})?",
        boundary!(),
        r")",
        r"|(?P<uuid>",
        boundary!(),
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        boundary!(),
        r")",
        r"|(?P<ipv4>",
        boundary!(),
        r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5})?",
        boundary!(),
        r")",
        // IPv6: bracketed (with optional port), full, `a::b`, `a::` and `::b`.
        r"|(?P<ipv6_bracketed>\[[0-9a-f:.]*:[0-9a-f:.]*\](?::[0-9]{1,5}",
        boundary!(),
        r")?)",
        r"|(?P<ipv6>",
        boundary!(),
        r"(?:",
        hex_group!(),
        r":){7}",
        hex_group!(),
        boundary!(),
        r"|",
        boundary!(),
        r"(?:",
        hex_group!(),
        r":){1,6}(?::",
        hex_group!(),
        r"){1,6}",
        boundary!(),
        r"|",
        boundary!(),
        r"(?:",
        hex_group!(),
        r":){1,7}:",
        r"|::(?:",
        hex_group!(),
        r":){0,6}",
        hex_group!(),
        boundary!(),
        r")",
        // `db.internal:5432`, `localhost:8080`: keep the host, drop the port.
        r"|(?P<host_with_port>",
        boundary!(),
        r"(?:localhost|[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.[a-z][a-z0-9\-]*)):[0-9]{1,5}",
        boundary!(),
        r"|(?P<port_lead>^|\s):[0-9]{1,5}",
        boundary!(),
        // Paths: unix (`/x`, `./x`, `../x`, `~/x`) after a separator, windows.
        r"|(?P<unix_path_lead>^|[\s(\[{=,;])(?:\.\.?|~)?/",
        path_char!(),
        r"+",
        r"|(?P<windows_path>",
        boundary!(),
        r"[a-z]:\\",
        path_char!(),
        r#"*|\\\\"#,
        path_char!(),
        r"+)",
        r"|(?P<hex_prefixed>",
        boundary!(),
        r"0x[0-9a-f]+",
        boundary!(),
        r")",
        r"|(?P<number>",
        boundary!(),
        r"[0-9]+(?:\.[0-9]+)?(?:e[+\-]?[0-9]+)?(?:ns|us|µs|ms|s|m|h|d|b|kb|mb|gb|tb|kib|mib|gib|tib)?",
        boundary!(),
        r")",
        r"|(?P<hex_run>",
        boundary!(),
        r"[0-9a-f]{8,}",
        boundary!(),
        r")",
    );
    // The pattern is a compile-time constant exercised by every test in this
    // module; it cannot fail at run time.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("the fingerprint template regex is valid")
});

/// Reduces a message to its template: the part that stays the same between
/// occurrences of the same failure.
///
/// Lowercases, collapses whitespace, and replaces variable values:
///
/// | value | placeholder |
/// |---|---|
/// | `'x'`, `"x"`, `` `x` `` (single quotes only after a separator) | `<str>` |
/// | `https://user@host:8443/p?q=1` | `https://host:<port><path>` |
/// | ISO-8601 dates and timestamps | `<ts>` |
/// | UUIDs | `<uuid>` |
/// | IPv4 / IPv6, with optional `:port` | `<ip>` |
/// | `db.internal:5432`, `localhost:80`, ` :8080` | `db.internal:<port>` ... |
/// | `/var/log/x.log`, `./a`, `../a`, `~/a` (after a separator), `C:\x`, `\\srv\x` | `<path>` |
/// | `0x1f`, 8+ hex characters including a digit | `<hex>` |
/// | `42`, `-3.5`, `1e9`, `30ms`, `512mb` (whole words only) | `<num>` |
///
/// Digits inside words (`http2`, `sha256`, `pod_3`) are kept: they are more
/// often part of a name than a value. `normalize(normalize(x)) == normalize(x)`.
///
/// ```
/// use medic_resilience::classify::normalize;
/// assert_eq!(
///     normalize("Connect to 10.0.0.7:5432 failed after 30ms (attempt 3)"),
///     "connect to <ip> failed after <num> (attempt <num>)"
/// );
/// assert_eq!(
///     normalize("open '/var/log/app.log': request 9f1c2e3a4b5d"),
///     "open <str>: request <hex>"
/// );
/// ```
pub fn normalize(message: &str) -> String {
    let lowered = lowercase_and_collapse_whitespace(message);
    replace_values(&lowered)
}

/// The stable fingerprint of a message: FNV-1a 64 of its [`normalize`]d
/// template, as 16 lowercase hex digits.
///
/// Messages that differ only in numbers, ids, addresses, ports, paths or
/// quoted values share a fingerprint. [`ErrorContext::fingerprint`] prefixes
/// it with the category, e.g. `network:3f2a9c1b7d4e5f60`.
///
/// [`ErrorContext::fingerprint`]: crate::classify::ErrorContext::fingerprint
///
/// ```
/// use medic_resilience::classify::fingerprint;
/// let a = fingerprint("user 42 not found in /srv/users.db");
/// let b = fingerprint("User 7 not found in /tmp/other.db");
/// assert_eq!(a, b);
/// assert_eq!(a.len(), 16);
/// assert_ne!(a, fingerprint("user 42 was deleted"));
/// ```
pub fn fingerprint(message: &str) -> String {
    format!("{:016x}", fnv1a_64(normalize(message).as_bytes()))
}

/// FNV-1a, 64 bit: tiny, fast on short strings, and fixed forever by its spec.
pub(crate) fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Lowercases and turns every run of whitespace into one space, trimmed.
fn lowercase_and_collapse_whitespace(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut pending_space = false;
    for ch in message.chars() {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// One scan of [`TEMPLATE_VALUES`] over already-lowercased text.
fn replace_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for captures in TEMPLATE_VALUES.captures_iter(text) {
        let Some(whole) = captures.get(0) else {
            continue;
        };
        out.push_str(&text[copied_up_to..whole.start()]);
        push_replacement(&mut out, &captures, whole.as_str());
        copied_up_to = whole.end();
    }
    out.push_str(&text[copied_up_to..]);
    out
}

/// Appends the template text for one match of [`TEMPLATE_VALUES`].
fn push_replacement(out: &mut String, captures: &Captures<'_>, matched: &str) {
    let group = |name: &str| captures.name(name).map(|m| m.as_str());
    if group("dquote").is_some() || group("backtick").is_some() {
        out.push_str(QUOTED);
    } else if let Some(lead) = group("squote_lead") {
        out.push_str(lead);
        out.push_str(QUOTED);
    } else if let Some(scheme) = group("url") {
        out.push_str(scheme);
        push_url_host(out, group("url_host").unwrap_or_default());
        if !group("url_rest").unwrap_or_default().is_empty() {
            out.push_str(PATH);
        }
    } else if group("timestamp").is_some() {
        out.push_str(TIMESTAMP);
    } else if group("uuid").is_some() {
        out.push_str(UUID);
    } else if group("ipv4").is_some() || group("ipv6_bracketed").is_some() {
        out.push_str(IP);
    } else if group("ipv6").is_some() {
        // `a::b` is also how Rust and C++ write paths (`io::add`): only call
        // it an address when it has a digit in it.
        if matched.bytes().any(|b| b.is_ascii_digit()) {
            out.push_str(IP);
        } else {
            out.push_str(matched);
        }
    } else if let Some(host) = group("host_with_port") {
        out.push_str(&replace_values(host));
        out.push(':');
        out.push_str(PORT);
    } else if let Some(lead) = group("port_lead") {
        out.push_str(lead);
        out.push(':');
        out.push_str(PORT);
    } else if let Some(lead) = group("unix_path_lead") {
        out.push_str(lead);
        out.push_str(PATH);
    } else if group("windows_path").is_some() {
        out.push_str(PATH);
    } else if group("hex_prefixed").is_some() {
        out.push_str(HEX);
    } else if group("number").is_some() {
        out.push_str(NUMBER);
    } else if group("hex_run").is_some() {
        if matched.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(NUMBER);
        } else if matched.bytes().any(|b| b.is_ascii_digit()) {
            out.push_str(HEX);
        } else {
            // Eight hex letters and no digit is a word ("deadbeef", "acceded").
            out.push_str(matched);
        }
    } else {
        out.push_str(matched);
    }
}

/// Appends a URL's authority: credentials dropped, IPs and ports replaced.
fn push_url_host(out: &mut String, authority: &str) {
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_credentials, host)| host);
    let (host, port) = match host_and_port.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && !host.ends_with(':') =>
        {
            (host, Some(port))
        }
        _ => (host_and_port, None),
    };
    let host = replace_values(host);
    let is_ip = host == IP;
    out.push_str(&host);
    if port.is_some() && !is_ip {
        out.push(':');
        out.push_str(PORT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv1a_matches_published_test_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_of_a_known_message_is_pinned() {
        // If this changes, every stored fingerprint changes: bump it only on
        // purpose and say so in the changelog.
        let message = "Connection refused: connect to 10.1.2.3:5432 failed after 30ms";
        assert_eq!(
            normalize(message),
            "connection refused: connect to <ip> failed after <num>"
        );
        assert_eq!(fingerprint(message), "PINNED");
    }

    #[test]
    fn normalize_replaces_each_kind_of_value() {
        let cases: &[(&str, &str)] = &[
            // numbers, floats, units, negative numbers
            ("retry 3 of 5", "retry <num> of <num>"),
            ("took 1.5s, limit 30ms", "took <num>, limit <num>"),
            ("offset -12 and 1e9 bytes", "offset -<num> and <num> bytes"),
            ("used 512mb of 2gb", "used <num> of <num>"),
            // digits inside words are names, not values
            ("http2 sha256 pod_3 utf8", "http2 sha256 pod_3 utf8"),
            // hex ids
            ("addr 0x7ffd1234 bad", "addr <hex> bad"),
            ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8", "commit <hex>"),
            ("trace deadbeef", "trace deadbeef"),
            ("big 1234567890123", "big <num>"),
            // UUIDs
            (
                "job 550e8400-e29b-41d4-a716-446655440000 failed",
                "job <uuid> failed",
            ),
            (
                "JOB 550E8400-E29B-41D4-A716-446655440000",
                "job <uuid>",
            ),
            // IPs
            ("from 192.168.0.1", "from <ip>"),
            ("from 192.168.0.1:443.", "from <ip>."),
            ("peer [2001:db8::1]:8443 gone", "peer <ip> gone"),
            ("peer 2001:db8::1 gone", "peer <ip> gone"),
            ("bind ::1", "bind <ip>"),
            ("bind fe80::", "bind <ip>"),
            ("full 2001:0db8:0000:0000:0000:ff00:0042:8329", "full <ip>"),
            ("std::io::error and foo::add", "std::io::error and foo::add"),
            // ports
            ("dial db-3.internal:5432", "dial db-<num>.internal:<port>"),
            ("dial localhost:8080", "dial localhost:<port>"),
            ("listening on :8080", "listening on :<port>"),
            // paths
            ("open /var/log/app.log failed", "open <path> failed"),
            ("read ./config/app.toml", "read <path>"),
            ("read ../x and ~/y", "read <path> and <path>"),
            ("path=/tmp/x,next", "path=<path>,next"),
            ("at /src/lib.rs:10:5", "at <path>:<num>:<num>"),
            (r"open C:\Users\me\file.txt", "open <path>"),
            (r"share \\server\share\x", "share <path>"),
            ("read/write and tcp/ip", "read/write and tcp/ip"),
            // quoted values
            ("key 'abc' missing", "key <str> missing"),
            ("key \"a b c\" missing", "key <str> missing"),
            ("column `user id` missing", "column <str> missing"),
            ("can't find 'x', isn't there", "can't find <str>, isn't there"),
            // URLs
            (
                "GET https://user:pw@api.example.com:8443/v1/users/42?x=1 failed",
                "get https://api.example.com:<port><path> failed",
            ),
            ("GET http://10.0.0.1:9000/health", "get http://<ip><path>"),
            ("GET http://[::1]:9000/", "get http://<ip><path>"),
            ("see https://docs.rs", "see https://docs.rs"),
            // timestamps
            ("at 2024-03-05T10:11:12.345Z boom", "at <ts> boom"),
            ("at 2024-03-05 10:11:12+01:00 boom", "at <ts> boom"),
            ("on 2024-03-05", "on <ts>"),
            // whitespace and case
            ("  Broken\t\tPIPE \n ", "broken pipe"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn messages_differing_only_in_values_share_a_fingerprint() {
        let groups: &[&[&str]] = &[
            &[
                "timeout after 30ms talking to 10.0.0.1:80",
                "Timeout after 250ms talking to 10.9.8.7:8080",
                "timeout  after 1s talking to [2001:db8::2]:443",
            ],
            &[
                "order 550e8400-e29b-41d4-a716-446655440000 rejected",
                "order 123e4567-e89b-12d3-a456-426614174000 rejected",
            ],
            &["open /var/a.log: denied", "open /tmp/b/c.txt: denied"],
            &["missing key 'alpha'", "missing key 'beta-2'"],
            &["object 0xdeadbeef freed", "object 0x1 freed"],
            &["dial db-1.internal:5432", "dial db-22.internal:6543"],
            &["request 5f2b9c1d3e4a failed", "request 0a1b2c3d4e5f6789 failed"],
        ];
        for group in groups {
            let expected = fingerprint(group[0]);
            for message in group.iter() {
                assert_eq!(fingerprint(message), expected, "{message:?} vs {:?}", group[0]);
            }
        }
    }

    #[test]
    fn different_messages_get_different_fingerprints() {
        let messages = [
            "connection refused",
            "connection reset by peer",
            "timeout after 30ms",
            "user not found",
            "user deleted",
            "dial db.internal:5432",
            "dial cache.internal:5432",
        ];
        for (i, a) in messages.iter().enumerate() {
            for b in &messages[i + 1..] {
                assert_ne!(fingerprint(a), fingerprint(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn normalize_is_idempotent_on_the_examples() {
        for input in [
            "12/a/b 'x' \"y\" 3'z'",
            "'a'12 x'b' c:'d'",
            "http://h:1/x<num> 1.2.3.4.5 ::ffff:1.2.3.4",
            "a=/x=/y [::1]:80 [/p]",
        ] {
            let once = normalize(input);
            assert_eq!(normalize(&once), once, "input: {input:?}");
        }
    }

    proptest! {
        #[test]
        fn normalize_and_fingerprint_never_panic(message in any::<String>()) {
            let template = normalize(&message);
            prop_assert_eq!(fingerprint(&message).len(), 16);
            prop_assert!(!template.starts_with(' ') && !template.ends_with(' '));
        }

        #[test]
        fn normalize_is_idempotent(message in any::<String>()) {
            let once = normalize(&message);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn normalize_is_idempotent_on_value_heavy_text(
            message in r#"[0-9a-fx:./\\'"` <>\[\](){}=,;@~ef-]{0,48}"#
        ) {
            let once = normalize(&message);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn normalize_is_idempotent_on_mixed_tokens(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("1"), Just("12"), Just("0x1f"), Just("1.2.3.4"), Just(":"),
                    Just("::"), Just("/"), Just("./"), Just("'"), Just("\""), Just("`"),
                    Just(" "), Just("a"), Just("db.x"), Just("localhost"), Just("http://"),
                    Just("@"), Just("["), Just("]"), Just("="), Just("<"), Just(">"),
                    Just("deadbeef"), Just("1a2b3c4d"), Just("-"), Just("2024-01-02"),
                    Just("t"), Just("z"), Just("ms"), Just("é"), Just("\\"), Just("c:"),
                ],
                0..24,
            )
        ) {
            let message: String = parts.concat();
            let once = normalize(&message);
            prop_assert_eq!(normalize(&once), once);
        }
    }
}
