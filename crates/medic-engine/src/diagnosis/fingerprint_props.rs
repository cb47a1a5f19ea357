//! Fingerprints mean "the same failure": generated failures in the real
//! formats of a few programs, with every value drawn at random.

use medic_model::Category;
use proptest::prelude::*;

use super::Finding;

/// The values a failure carries that must not split its fingerprint.
#[derive(Debug, Clone)]
struct Values {
    host: String,
    ip: String,
    port: u16,
    pid: u32,
    timestamp: String,
    request_id: String,
    user: String,
}

fn values() -> impl Strategy<Value = Values> {
    (
        // A host name in the wild has a number or a domain (`db-3`,
        // `api.example.org`); a bare word (`primary`) cannot be told from prose.
        "[a-z]{2,8}(-[a-z]{1,4})?(-?[0-9]{1,3}|(\\.[a-z]{2,6}){1,2})",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        1u16..,
        1u32..4_000_000,
        (
            2000u32..2100,
            1u32..13,
            1u32..29,
            0u32..24,
            0u32..60,
            0u32..60,
            0u32..1000,
        ),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        // An account's name, not a word that goes on the sentence
        // (`user not found`), which nothing could tell from a name.
        "[a-z][a-z0-9_]{0,11}".prop_filter("a name, not a word", |u| {
            !crate::logs::template::NOT_NAMES
                .iter()
                .any(|w| w.eq_ignore_ascii_case(u.as_bytes()))
        }),
    )
        .prop_map(
            |(host, (a, b, c, d), port, pid, (y, mo, day, h, mi, s, ms), request_id, user)| {
                Values {
                    host,
                    ip: format!("{a}.{b}.{c}.{d}"),
                    port,
                    pid,
                    timestamp: format!("{y}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"),
                    request_id,
                    user,
                }
            },
        )
}

/// One failure per entry, each a different failure, in the program's own
/// wording; `{}` placeholders are filled from [`Values`].
const FAILURES: &[(Category, &str)] = &[
    (
        Category::Database,
        "{ts} [{pid}] psql: error: connection to server at \"{host}\" ({ip}), port {port} failed: Connection refused",
    ),
    (
        Category::Authentication,
        "{ts} [{pid}] FATAL:  password authentication failed for user \"{user}\"",
    ),
    (
        Category::Network,
        "{ts} ERROR request_id={rid} dial tcp {ip}:{port}: connect: connection refused",
    ),
    (
        Category::Network,
        "{ts} ERROR request_id={rid} dial tcp {ip}:{port}: i/o timeout",
    ),
    (
        Category::Timeout,
        "{ts} WARN [{pid}] upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {host}, request: \"GET /api HTTP/1.1\", upstream: \"http://{ip}:{port}/api\"",
    ),
    (
        Category::Resource,
        "{ts} kernel: Out of memory: Killed process {pid} (java) total-vm:{port}kB, anon-rss:{pid}kB",
    ),
    (
        Category::Resource,
        "{ts} ERROR [{pid}] write /var/lib/{host}/data.db: no space left on device",
    ),
    (
        Category::Resource,
        "{ts} ERROR [{pid}] accept tcp {ip}:{port}: accept4: too many open files",
    ),
    (
        Category::Permission,
        "{ts} ERROR [{pid}] open /etc/{host}/key.pem: permission denied",
    ),
    (
        Category::Authentication,
        "{ts} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
    ),
    (
        Category::Dependency,
        "{ts} [error] {pid}#0: *{port} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {host}",
    ),
    (
        Category::Resource,
        "{ts} ERROR [{pid}] listen tcp {ip}:{port}: bind: address already in use",
    ),
];

fn render(template: &str, v: &Values) -> String {
    template
        .replace("{ts}", &v.timestamp)
        .replace("{pid}", &v.pid.to_string())
        .replace("{host}", &v.host)
        .replace("{ip}", &v.ip)
        .replace("{port}", &v.port.to_string())
        .replace("{rid}", &v.request_id)
        .replace("{user}", &v.user)
}

proptest! {
    #[test]
    fn the_same_failure_with_other_values_shares_one_fingerprint(
        which in 0..FAILURES.len(),
        a in values(),
        b in values(),
    ) {
        let (category, template) = FAILURES[which];
        let (first, t1) = Finding::fingerprint_of(category, &render(template, &a));
        let (second, t2) = Finding::fingerprint_of(category, &render(template, &b));
        prop_assert_eq!(first, second, "{} vs {}", t1, t2);
    }

    #[test]
    fn different_failures_never_share_one(
        i in 0..FAILURES.len(),
        j in 0..FAILURES.len(),
        a in values(),
        b in values(),
    ) {
        prop_assume!(i != j);
        let (ci, ti) = FAILURES[i];
        let (cj, tj) = FAILURES[j];
        let (first, _) = Finding::fingerprint_of(ci, &render(ti, &a));
        let (second, _) = Finding::fingerprint_of(cj, &render(tj, &b));
        prop_assert_ne!(first, second);
        // Even filed under one category, the words tell them apart.
        let (first, _) = Finding::fingerprint_of(Category::Unknown, &render(ti, &a));
        let (second, _) = Finding::fingerprint_of(Category::Unknown, &render(tj, &b));
        prop_assert_ne!(first, second);
    }
}
