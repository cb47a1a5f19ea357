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
//! is replaced exactly once, by its most specific placeholder. The scan only
//! finds spans (a DFA, no capture groups); which alternative produced a span
//! is then read off a `RegexSet` of the same alternatives, anchored. That
//! keeps a 100-byte line at about a microsecond.
//!
//! Every alternative that starts (ends) with a letter or digit requires an
//! ASCII word boundary there, and the alternatives that start with
//! punctuation look only at characters outside any other match. That is what
//! makes `normalize` idempotent: a placeholder never changes whether its
//! neighbours match on the next pass. Property tests hold it to that.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

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
        r#"[^ '"`<>,;:=()\[\]{}]"#
    };
}

/// One hexadecimal group of an IPv6 address.
macro_rules! hex_group {
    () => {
        r"[0-9a-f]{1,4}"
    };
}

/// What a matched value is, which decides its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    DoubleQuoted,
    Backticked,
    SingleQuoted,
    Url,
    Timestamp,
    Uuid,
    Ipv4,
    Ipv6Bracketed,
    Ipv6,
    HostWithPort,
    Port,
    UnixPath,
    WindowsPath,
    HexPrefixed,
    Number,
    HexRun,
}

/// The URL alternative, with the groups [`URL_PARTS`] reads.
///
/// Keeps scheme and host, drops credentials, port, path and query. The host
/// may contain `<num>`, so that a host normalised once (`db-<num>.x`) is read
/// whole again by the next pass.
const URL_PATTERN: &str = concat!(
    r"(?P<scheme>",
    boundary!(),
    r"[a-z][a-z0-9+.\-]*://)(?:[^ /?#'`<>",
    "\"",
    r"]*@)?(?P<host>\[[0-9a-f:.]*\]|(?:[a-z0-9\-._~%]|<num>)*)(?::(?P<port>[0-9]{1,5})",
    boundary!(),
    r")?(?P<rest>[/?#][^ '`<>",
    "\"",
    r"]*)?",
);

/// The values [`normalize`] replaces, in priority order: where several match
/// at the same position, the first listed wins.
///
/// The text they run on has its whitespace already collapsed to single
/// spaces, so "whitespace" is written as a plain space.
const VALUE_PATTERNS: &[(ValueKind, &str)] = &[
    (ValueKind::DoubleQuoted, r#""[^"]*""#),
    (ValueKind::Backticked, r"`[^`]*`"),
    // Single quotes only open after a separator, so the apostrophes in
    // "can't" and "isn't" are left alone.
    (ValueKind::SingleQuoted, r"(?:^|[ (\[{=,;:])'[^']*'"),
    (ValueKind::Url, URL_PATTERN),
    // Dates and timestamps, before numbers eat their parts.
    (
        ValueKind::Timestamp,
        concat!(
            boundary!(),
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[t ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?(?:z|[+\-][0-9]{2}:?[0-9]{2})?",
            boundary!(),
        ),
    ),
    (
        ValueKind::Uuid,
        concat!(
            boundary!(),
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            boundary!(),
        ),
    ),
    (
        ValueKind::Ipv4,
        concat!(
            boundary!(),
            r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5})?",
            boundary!(),
        ),
    ),
    (
        ValueKind::Ipv6Bracketed,
        concat!(
            r"\[[0-9a-f:.]*:[0-9a-f:.]*\](?::[0-9]{1,5}",
            boundary!(),
            r")?"
        ),
    ),
    // Full, `a::b`, `a::` and `::b`.
    (
        ValueKind::Ipv6,
        concat!(
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
        ),
    ),
    // `db.internal:5432`, `localhost:8080`: keep the host, drop the port.
    (
        ValueKind::HostWithPort,
        concat!(
            boundary!(),
            r"(?:localhost|[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.[a-z][a-z0-9\-]*):[0-9]{1,5}",
            boundary!(),
        ),
    ),
    (ValueKind::Port, concat!(r"(?:^| ):[0-9]{1,5}", boundary!())),
    // Unix paths (`/x`, `./x`, `../x`, `~/x`) only after a separator, so
    // "read/write" stays.
    (
        ValueKind::UnixPath,
        concat!(r"(?:^|[ (\[{=,;])(?:\.\.?|~)?/", path_char!(), r"+"),
    ),
    (
        ValueKind::WindowsPath,
        concat!(
            boundary!(),
            r"[a-z]:\\",
            path_char!(),
            r#"*|\\\\"#,
            path_char!(),
            r"+"
        ),
    ),
    (
        ValueKind::HexPrefixed,
        concat!(boundary!(), r"0x[0-9a-f]+", boundary!()),
    ),
    (
        ValueKind::Number,
        concat!(
            boundary!(),
            r"[0-9]+(?:\.[0-9]+)?(?:e[+\-]?[0-9]+)?(?:ns|us|µs|ms|s|m|h|d|b|kb|mb|gb|tb|kib|mib|gib|tib)?",
            boundary!(),
        ),
    ),
    (
        ValueKind::HexRun,
        concat!(boundary!(), r"[0-9a-f]{8,}", boundary!()),
    ),
];

/// All [`VALUE_PATTERNS`] as one leftmost-first alternation: finds where
/// values are, with a DFA and without resolving groups.
static TEMPLATE_VALUES: LazyLock<Regex> = LazyLock::new(|| {
    let alternation: Vec<String> = VALUE_PATTERNS
        .iter()
        .map(|(_, pattern)| format!("(?:{pattern})"))
        .collect();
    // Built from constants exercised by every test in this module.
    #[allow(clippy::expect_used)]
    Regex::new(&alternation.join("|")).expect("the fingerprint value patterns compile")
});

/// Each of [`VALUE_PATTERNS`] anchored to a whole match, to tell which one a
/// match of [`TEMPLATE_VALUES`] came from.
///
/// The first pattern matching the whole span is the one the alternation
/// chose: an earlier pattern matching the span on its own would also have
/// matched in place (the patterns' word boundaries sit next to word
/// characters, which look the same in and out of context) and won there.
/// One pass of a small automaton over the span is several times cheaper than
/// resolving capture groups of the big alternation.
static KIND_OF_SPAN: LazyLock<RegexSet> = LazyLock::new(|| {
    // Built from constants exercised by every test in this module.
    #[allow(clippy::expect_used)]
    RegexSet::new(
        VALUE_PATTERNS
            .iter()
            .map(|(_, pattern)| format!("^(?:{pattern})$")),
    )
    .expect("the fingerprint value patterns compile")
});

/// [`URL_PATTERN`] anchored, to split a URL match into its parts.
static URL_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    // Built from a constant exercised by the URL tests in this module.
    #[allow(clippy::expect_used)]
    Regex::new(&format!("^(?:{URL_PATTERN})$")).expect("the URL pattern compiles")
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
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
        } else {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// One scan of [`TEMPLATE_VALUES`] over already-lowercased text.
fn replace_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied_up_to = 0;
    for value in TEMPLATE_VALUES.find_iter(text) {
        out.push_str(&text[copied_up_to..value.start()]);
        push_replacement(&mut out, value.as_str());
        copied_up_to = value.end();
    }
    out.push_str(&text[copied_up_to..]);
    out
}

/// Appends the template text for one match of [`TEMPLATE_VALUES`].
fn push_replacement(out: &mut String, value: &str) {
    let kind = KIND_OF_SPAN
        .matches(value)
        .iter()
        .next()
        .and_then(|index| VALUE_PATTERNS.get(index))
        .map(|(kind, _)| *kind);
    // The separator some patterns match before the value itself.
    let lead = |separators: &[u8]| match value.as_bytes().first() {
        Some(first) if separators.contains(first) => &value[..1],
        _ => "",
    };
    let has_digit = || value.bytes().any(|b| b.is_ascii_digit());
    match kind {
        Some(ValueKind::DoubleQuoted | ValueKind::Backticked) => out.push_str(QUOTED),
        Some(ValueKind::SingleQuoted) => {
            out.push_str(lead(b" ([{=,;:"));
            out.push_str(QUOTED);
        }
        Some(ValueKind::Url) => push_url(out, value),
        Some(ValueKind::Timestamp) => out.push_str(TIMESTAMP),
        Some(ValueKind::Uuid) => out.push_str(UUID),
        Some(ValueKind::Ipv4 | ValueKind::Ipv6Bracketed) => out.push_str(IP),
        // `a::b` is also how Rust and C++ write paths (`io::add`): only call
        // it an address when it has a digit in it.
        Some(ValueKind::Ipv6) if has_digit() => out.push_str(IP),
        Some(ValueKind::HostWithPort) => {
            let host = value.rsplit_once(':').map_or(value, |(host, _port)| host);
            out.push_str(&replace_values(host));
            out.push(':');
            out.push_str(PORT);
        }
        Some(ValueKind::Port) => {
            out.push_str(lead(b" "));
            out.push(':');
            out.push_str(PORT);
        }
        Some(ValueKind::UnixPath) => {
            out.push_str(lead(b" ([{=,;"));
            out.push_str(PATH);
        }
        Some(ValueKind::WindowsPath) => out.push_str(PATH),
        Some(ValueKind::HexPrefixed) => out.push_str(HEX),
        Some(ValueKind::Number) => out.push_str(NUMBER),
        Some(ValueKind::HexRun) if value.bytes().all(|b| b.is_ascii_digit()) => {
            out.push_str(NUMBER)
        }
        Some(ValueKind::HexRun) if has_digit() => out.push_str(HEX),
        // Eight hex letters and no digit is a word ("deadbeef", "acceded").
        _ => out.push_str(value),
    }
}

/// Appends a URL with credentials, port, path and query dropped.
fn push_url(out: &mut String, url: &str) {
    let Some(parts) = URL_PARTS.captures(url) else {
        out.push_str(url);
        return;
    };
    let part = |name: &str| parts.name(name).map(|m| m.as_str());
    out.push_str(part("scheme").unwrap_or_default());
    let host_is_ip = push_url_host(out, part("host").unwrap_or_default());
    if part("port").is_some() && !host_is_ip {
        out.push(':');
        out.push_str(PORT);
    }
    if part("rest").is_some() {
        out.push_str(PATH);
    }
}

/// Appends a URL host with IPs and all-digit labels replaced; returns
/// whether it was an IP.
///
/// Deliberately not a recursive [`replace_values`]: the host ends where the
/// URL syntax says, and a regex scan of it alone could see values the next
/// pass over the whole text would not (or the other way round).
fn push_url_host(out: &mut String, host: &str) -> bool {
    let is_ipv4 = host.split('.').count() == 4
        && host.split('.').all(|label| {
            (1..=3).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_digit())
        });
    if host.starts_with('[') || is_ipv4 {
        out.push_str(IP);
        return true;
    }
    // Replace every run of digits that is a whole alphanumeric run
    // (`db-3` -> `db-<num>`, while `s3` stays), as the `number` rule does.
    let mut rest = host;
    while let Some(first) = rest.chars().next() {
        let run_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let (piece, tail) = rest.split_at(run_len.max(first.len_utf8()));
        if run_len > 0 && piece.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(NUMBER);
        } else {
            out.push_str(piece);
        }
        rest = tail;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The alternation with one group per pattern: slow, but says directly
    /// which pattern matched, to check [`KIND_OF_SPAN`] against.
    static GROUPED: LazyLock<Regex> = LazyLock::new(|| {
        let alternation: Vec<String> = VALUE_PATTERNS
            .iter()
            .enumerate()
            .map(|(index, (_, pattern))| format!("(?P<k{index}>{pattern})"))
            .collect();
        Regex::new(&alternation.join("|")).expect("valid")
    });

    /// Text made of the pieces values are made of, so that values touch
    /// each other and punctuation in every possible way.
    fn value_heavy_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("1"),
            Just("12"),
            Just("0x1f"),
            Just("1.2.3.4"),
            Just(":"),
            Just("::"),
            Just("/"),
            Just("./"),
            Just("'"),
            Just("\""),
            Just("`"),
            Just(" "),
            Just("a"),
            Just("db.x"),
            Just("localhost"),
            Just("http://"),
            Just("@"),
            Just("["),
            Just("]"),
            Just("="),
            Just("<"),
            Just(">"),
            Just("deadbeef"),
            Just("1a2b3c4d"),
            Just("-"),
            Just("2024-01-02"),
            Just("t"),
            Just("z"),
            Just("ms"),
            Just("é"),
            Just("\\"),
            Just("c:"),
            Just("db-3.x:80"),
            Just("0x"),
            Just("fe80"),
            Just("::1"),
            Just("[::1]"),
            Just("~/"),
            Just("../"),
            Just("?"),
            Just("#"),
            Just("%"),
            Just("("),
            Just(","),
            Just(";"),
            Just("{"),
            Just("_"),
            Just("\t"),
            Just("\n"),
            Just("A"),
            Just("İ"),
            Just("Σ"),
            Just("µs"),
            Just("e9"),
            Just("+01:00"),
            Just("t10:11:12"),
            Just("550e8400-e29b-41d4-a716-446655440000"),
            Just("<num>"),
            Just("<ip>"),
            Just("<str>"),
            Just("<path>"),
        ];
        proptest::collection::vec(pieces, 0..32).prop_map(|parts| parts.concat())
    }

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
        assert_eq!(fingerprint(message), "fe8e71ddc6517d52");
        assert_eq!(
            crate::classify::ErrorClassifier::new()
                .classify_message(message)
                .fingerprint,
            // A refusal on PostgreSQL's port is the database (issue 17).
            "database:fe8e71ddc6517d52"
        );
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
            (
                "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
                "commit <hex>",
            ),
            ("trace deadbeef", "trace deadbeef"),
            ("big 1234567890123", "big <num>"),
            // UUIDs
            (
                "job 550e8400-e29b-41d4-a716-446655440000 failed",
                "job <uuid> failed",
            ),
            ("JOB 550E8400-E29B-41D4-A716-446655440000", "job <uuid>"),
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
            (
                "can't find 'x', isn't there",
                "can't find <str>, isn't there",
            ),
            // URLs
            (
                "GET https://user:pw@api.example.com:8443/v1/users/42?x=1 failed",
                "get https://api.example.com:<port><path> failed",
            ),
            ("GET http://10.0.0.1:9000/health", "get http://<ip><path>"),
            ("GET http://[::1]:9000/", "get http://<ip><path>"),
            ("see https://docs.rs", "see https://docs.rs"),
            ("at http://db-3.x:80.", "at http://db-<num>.x:<port>."),
            ("ftp://host/a?b#c and more", "ftp://host<path> and more"),
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
            &[
                "request 5f2b9c1d3e4a failed",
                "request 0a1b2c3d4e5f6789 failed",
            ],
        ];
        for group in groups {
            let expected = fingerprint(group[0]);
            for message in group.iter() {
                assert_eq!(
                    fingerprint(message),
                    expected,
                    "{message:?} vs {:?}",
                    group[0]
                );
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
            "\"http://1['' http://h:80abc http://u@[::1]:9/x http://:1",
            "http://2024-01-02c::[ http://h/a<1.2.3.4",
            "http://@@ http://a@b@c http://\"\"/ http://h\"x\"@y",
        ] {
            let once = normalize(input);
            assert_eq!(normalize(&once), once, "input: {input:?}");
        }
    }

    proptest! {
        // Failures are reported with their minimal input; nothing is written
        // next to the crate.
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

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
        fn normalize_is_idempotent_on_mixed_tokens(message in value_heavy_text()) {
            let once = normalize(&message);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn span_kinds_agree_with_the_alternation(message in value_heavy_text()) {
            let text = lowercase_and_collapse_whitespace(&message);
            for value in TEMPLATE_VALUES.find_iter(&text) {
                let by_set = KIND_OF_SPAN.matches(value.as_str()).iter().next();
                let by_groups = GROUPED.captures_at(&text, value.start()).and_then(|captures| {
                    (0..VALUE_PATTERNS.len()).find(|index| captures.name(&format!("k{index}")).is_some())
                });
                prop_assert_eq!(by_set, by_groups, "value {:?} in {:?}", value.as_str(), text);
            }
        }
    }
}
