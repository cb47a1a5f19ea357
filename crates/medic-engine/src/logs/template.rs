//! Log templates: a line with its variable parts masked, so that lines
//! printed by the same statement share one template and one fingerprint.
//!
//! Masking follows the idea of Drain (He et al., 2017): a token that carries
//! a value (a number, an id, an address, a path, a quoted value, the value of
//! `key=value`) becomes `<*>`, the words around it stay. Masking is one
//! left-to-right pass with no regex and no state, so [`template_of`] is the
//! same on every machine and in every run, and cheap enough for every line.
//! [`TemplateMiner`] then groups masked lines the way Drain's parse tree
//! does, by length and first word, merging lines that agree on most words.

use std::collections::HashMap;

/// What a masked value is replaced with.
pub const WILDCARD: &str = "<*>";

/// Bytes that end a word (besides whitespace). `:` splits `host:port` and
/// `key: value`; `=` splits `key=value`. All ASCII, so the text can be cut
/// at them without splitting a UTF-8 character.
const fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b',' | b';'
            | b':'
            | b'='
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'<'
            | b'>'
            | b'"'
            | b'\''
            | b'`'
    )
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Bytes that end the value of `key=value` (a quote opens one instead).
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b';' | b')' | b']' | b'}' | b'&')
}

/// The template of one log line: ASCII-lowercased, whitespace collapsed,
/// variable tokens replaced by `<*>`.
///
/// Masked: words containing a digit (numbers, versions, hex and UUIDs,
/// IPs, timestamps, `worker-47`) except short name suffixes (`http2`,
/// `sha256`, `utf8`); paths and URLs; runs of 12+ hex letters; the value of
/// `key=value`; quoted values without spaces (a quoted phrase with spaces is
/// prose and is masked word by word). Adjacent masked parts joined by `:` `.`
/// `-` `/` `@` (`10.0.0.1:5432`, `2026-11-26T08:00:00Z`) become one `<*>`.
/// Never panics; any input gives a template.
///
/// ```
/// use medic_engine::logs::template_of;
/// assert_eq!(
///     template_of("ERROR connect to 10.0.0.7:5432 failed after 30ms (attempt 3)"),
///     "error connect to <*> failed after <*> (attempt <*>)"
/// );
/// assert_eq!(
///     template_of("INFO pool: max_connections=20 idle_timeout=30s"),
///     "info pool: max_connections=<*> idle_timeout=<*>"
/// );
/// assert_eq!(
///     template_of(r#"open "/var/lib/app": permission denied for user 'app'"#),
///     "open <*>: permission denied for user <*>"
/// );
/// ```
pub fn template_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    template_into(line, &mut out);
    out
}

/// [`template_of`] into a buffer the caller keeps (cleared first), for
/// loops over many lines that would otherwise allocate one string each.
///
/// ```
/// use medic_engine::logs::{template_into, template_of};
/// let mut buffer = String::new();
/// template_into("user 42 not found", &mut buffer);
/// assert_eq!(buffer, template_of("user 7 not found"));
/// ```
pub fn template_into(line: &str, out: &mut String) {
    out.clear();
    let bytes = line.as_bytes();
    // Where the last `<*>` ends in `out`, to merge `<*>:<*>` into `<*>`.
    let mut last_mask_end: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_whitespace() {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if !out.is_empty() && i < bytes.len() {
                out.push(' ');
            }
            continue;
        }
        if is_quote(b)
            && let Some(after) = quoted_value(bytes, i, out)
        {
            push_mask(out, &mut last_mask_end);
            i = after;
            continue;
        }
        if is_delimiter(b) {
            out.push(char::from(b));
            i += 1;
            if b == b'=' {
                i = masked_value(bytes, i, out, &mut last_mask_end);
            }
            continue;
        }
        if b == b'.' && bytes.get(i + 1) == Some(&b'.') {
            // Padding (`depth.......0x0`) or an ellipsis: one separator,
            // whatever its length, so the word before it stays a word.
            while bytes.get(i) == Some(&b'.') {
                i += 1;
            }
            out.push_str("...");
            continue;
        }
        if let Some(end) = hex_groups(bytes, i) {
            // `ff:00:4e:dc`, `fe80::1`: letters-only groups would stay words.
            push_mask(out, &mut last_mask_end);
            i = end;
            continue;
        }
        let shape = word_shape(bytes, i);
        let end = shape.end;
        // Cut at ASCII bytes only, so both ends are character boundaries.
        let word = line.get(i..end).unwrap_or_default();
        let after = bytes.get(end..).unwrap_or_default();
        if is_variable(word.as_bytes(), after, shape)
            || is_date_word(word.as_bytes(), after)
            || (shape.any & DOT != 0 && is_host_name(word.as_bytes()))
            || is_user_name(out, word.as_bytes())
        {
            push_mask(out, &mut last_mask_end);
        } else {
            out.push_str(word);
        }
        i = end;
    }
    out.make_ascii_lowercase();
}

/// What one pass over a word learned, for [`is_variable`].
#[derive(Clone, Copy)]
struct Shape {
    /// Where the word ends: at whitespace, a delimiter, or a run of dots.
    end: usize,
    /// The union of its bytes' [`CLASS`] bits.
    any: u8,
    /// Whether every byte is a hex digit.
    all_hex: bool,
}

const DIGIT: u8 = 1;
const HEX: u8 = 2;
const BACKSLASH: u8 = 4;
const AT: u8 = 8;
const DOT: u8 = 16;
const ENDS: u8 = 32;

/// Each byte's class bits: the scan looks at every byte of every line, and
/// one table load is cheaper than a chain of comparisons. `.` ends a word
/// only when doubled (checked in [`word_shape`]).
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut bits = 0;
        if c.is_ascii_digit() {
            bits |= DIGIT;
        }
        if c.is_ascii_hexdigit() {
            bits |= HEX;
        }
        if c == b'\\' {
            bits |= BACKSLASH;
        }
        if c == b'@' {
            bits |= AT;
        }
        if c == b'.' {
            bits |= DOT;
        }
        if c.is_ascii_whitespace() || is_delimiter(c) || c == b'.' {
            bits |= ENDS;
        }
        table[b] = bits;
        b += 1;
    }
    table
};

/// Scans the word at `at` once: where it ends and what it holds.
fn word_shape(bytes: &[u8], at: usize) -> Shape {
    let (mut end, mut any, mut all_hex) = (at, 0u8, true);
    while let Some(&c) = bytes.get(end) {
        let bits = CLASS[usize::from(c)];
        if bits & ENDS != 0 && (c != b'.' || bytes.get(end + 1) == Some(&b'.')) {
            break;
        }
        any |= bits;
        all_hex &= bits & HEX != 0;
        end += 1;
    }
    Shape { end, any, all_hex }
}

/// The end of a token at `at` made only of hex groups joined by `:` (at
/// least two joins and one digit: a MAC, an IPv6 address, a register
/// dump), which is one value though `:` splits words elsewhere.
fn hex_groups(bytes: &[u8], at: usize) -> Option<usize> {
    let first = *bytes.get(at)?;
    // Cheap exits first: a hex group is short and soon meets a `:`.
    let head = &bytes[at..bytes.len().min(at + 5)];
    if !first.is_ascii_hexdigit() || !head.contains(&b':') {
        return None;
    }
    let (mut colons, mut digit, mut end) = (0, false, at);
    while let Some(&c) = bytes.get(end) {
        match c {
            b':' => colons += 1,
            c if c.is_ascii_digit() => digit = true,
            c if c.is_ascii_hexdigit() => {}
            _ => break,
        }
        end += 1;
    }
    // A trailing `:` (`ff:00:` then prose) belongs to the sentence.
    while end > at && bytes[end - 1] == b':' {
        end -= 1;
        colons -= 1;
    }
    let whole = bytes
        .get(end)
        .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'.');
    (colons >= 2 && digit && whole).then_some(end)
}

/// `db-1.internal`, `mail.example.org`: a lowercase dotted name is a host
/// (or a package path). A capital in the last part marks a class or an
/// exception (`java.net.ConnectException`), which is the message, not a value.
fn is_host_name(word: &[u8]) -> bool {
    if !word.contains(&b'.') {
        return false;
    }
    let parts = word.split(|&c| c == b'.');
    let mut count = 0;
    for part in parts {
        count += 1;
        let plain = part.len() >= 2
            && part
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_');
        if !plain {
            return false;
        }
    }
    count >= 2
}

/// The name after `user` (`Invalid user admin`, `for user deploy`): which
/// account failed is a value, like a host; a word that goes on the
/// sentence (`user not found`) is not a name.
/// Words that go on a sentence after `user`, so are not an account's name.
pub(crate) const NOT_NAMES: &[&[u8]] = &[
    b"from", b"for", b"with", b"is", b"was", b"not", b"has", b"had", b"to", b"in", b"on", b"of",
    b"and", b"or", b"the", b"a", b"an", b"name", b"id", b"account", b"agent", b"data", b"session",
    b"request", b"mode", b"does", b"did", b"cannot", b"can", b"already", b"must", b"unknown",
    b"by", b"at", b"as", b"may",
];

fn is_user_name(out: &str, word: &[u8]) -> bool {
    // Most words do not follow `user`: two byte checks say so.
    if !out.ends_with(' ')
        || !matches!(
            out.as_bytes().get(out.len().wrapping_sub(2)),
            Some(b'r' | b'R' | b'e' | b'E')
        )
    {
        return false;
    }
    let previous = out.trim_end_matches(' ').as_bytes();
    let after_user = out.len() > previous.len()
        && [&b"user"[..], b"username"].iter().any(|key| {
            previous.len() >= key.len()
                && previous[previous.len() - key.len()..].eq_ignore_ascii_case(key)
                && !previous[..previous.len() - key.len()]
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        });
    after_user
        && !word.is_empty()
        && word
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && !NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(word))
}

/// A day or month name that starts a date (`Fri Jul 29 ...`, `Jul 29`):
/// part of a timestamp, so a value. Only before a digit or another such
/// name, so "may" in a sentence stays a word.
fn is_date_word(word: &[u8], after: &[u8]) -> bool {
    const NAMES: [&[u8]; 19] = [
        b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun", b"jan", b"feb", b"mar", b"apr",
        b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
    ];
    let is_name = |w: &[u8]| w.len() == 3 && NAMES.iter().any(|n| n.eq_ignore_ascii_case(w));
    if !is_name(word) || after.first() != Some(&b' ') {
        return false;
    }
    let next = &after[1..];
    let next_word = &next[..next
        .iter()
        .position(|c| !c.is_ascii_alphanumeric())
        .unwrap_or(next.len())];
    next.first().is_some_and(u8::is_ascii_digit) || is_name(next_word)
}

/// Where the text continues after a quoted value at `at` that should be
/// masked whole: a quote with no whitespace inside, not a JSON key (a name
/// followed by `:`). A single quote counts only after a non-word character,
/// so "can't" stays a word.
fn quoted_value(bytes: &[u8], at: usize, out: &str) -> Option<usize> {
    let quote = *bytes.get(at)?;
    if quote == b'\''
        && out
            .bytes()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let inner = bytes.get(at + 1..)?;
    let close = inner.iter().position(|&c| c == quote)?;
    let value = &inner[..close];
    let after = at + 1 + close + 1;
    // `"level":` is a JSON key: part of the message's shape, kept.
    let is_key = bytes.get(after) == Some(&b':')
        && !value.is_empty()
        && value
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    let has_space = value.iter().any(u8::is_ascii_whitespace);
    (!has_space && !is_key).then_some(after)
}

/// After `key=`: masks the value (a quoted phrase is left to the caller) and
/// returns where the text continues.
fn masked_value(
    bytes: &[u8],
    at: usize,
    out: &mut String,
    last_mask_end: &mut Option<usize>,
) -> usize {
    match bytes.get(at) {
        None => at,
        Some(&b) if is_quote(b) || ends_value(b) => at,
        Some(_) => {
            push_mask(out, last_mask_end);
            bytes[at..]
                .iter()
                .position(|&c| ends_value(c))
                .map_or(bytes.len(), |n| at + n)
        }
    }
}

/// Appends `<*>`, or extends the previous one when only joiners
/// (`:` `.` `-` `/` `@` `_` and spaces) separate them: a list of values
/// (`delete blk_1 blk_2 blk_3`) is one value however long it is.
fn push_mask(out: &mut String, last_mask_end: &mut Option<usize>) {
    if let Some(end) = *last_mask_end
        && let Some(between) = out.as_bytes().get(end..)
        && between
            .iter()
            .all(|c| matches!(c, b':' | b'.' | b'-' | b'/' | b'@' | b'_' | b' '))
    {
        out.truncate(end);
        return;
    }
    out.push_str(WILDCARD);
    *last_mask_end = Some(out.len());
}

/// Whether a word is a value rather than part of the message.
fn is_variable(word: &[u8], after: &[u8], shape: Shape) -> bool {
    if word.starts_with(b"/")
        || word.starts_with(b"./")
        || word.starts_with(b"../")
        || word.starts_with(b"~/")
    {
        // A path; a lone `/` is punctuation.
        return word.len() > 1;
    }
    if after.starts_with(b"://") {
        // A URL scheme: its rest is a path.
        return true;
    }
    let has = |bits: u8| shape.any & bits != 0;
    if has(BACKSLASH) || (has(AT) && has(DOT)) {
        // A Windows path, an address.
        return true;
    }
    if has(DIGIT) {
        return !is_name_with_number(word);
    }
    shape.all_hex && word.len() >= 12
}

/// `http2`, `sha256`, `utf8`, `int64`: technical names that carry a number.
/// A list, not a shape: `db2`, `worker47` and `bglio716` have the same
/// shape and are hosts, which must not split a fingerprint.
fn is_name_with_number(bytes: &[u8]) -> bool {
    const NAMES: &[&[u8]] = &[
        b"http1",
        b"http2",
        b"http3",
        b"h2",
        b"h2c",
        b"sha1",
        b"sha224",
        b"sha256",
        b"sha384",
        b"sha512",
        b"md5",
        b"utf8",
        b"utf16",
        b"utf32",
        b"int8",
        b"int16",
        b"int32",
        b"int64",
        b"uint8",
        b"uint16",
        b"uint32",
        b"uint64",
        b"float32",
        b"float64",
        b"base64",
        b"ipv4",
        b"ipv6",
        b"x509",
        b"s3",
        b"ec2",
        b"k8s",
        b"oauth2",
        b"log4j",
        b"python2",
        b"python3",
        b"pip3",
        b"tls12",
        b"tls13",
        b"sslv3",
        b"tlsv1",
        b"amd64",
        b"arm64",
        b"x86",
        b"win32",
        b"i18n",
        b"e2e",
        b"p2p",
        b"ed25519",
        b"aes128",
        b"aes256",
        b"bzip2",
        b"ext4",
        b"cgroup2",
        b"cgroupv2",
        b"v1",
        b"v2",
        b"v3",
        b"1xx",
        b"2xx",
        b"3xx",
        b"4xx",
        b"5xx",
    ];
    // Most words with a digit are values: a long word or one that starts
    // with a digit (`4xx` aside) is not in the list.
    if bytes.len() > 8 || (bytes.first().is_some_and(u8::is_ascii_digit) && bytes.len() != 3) {
        return false;
    }
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(bytes))
}

/// A stable 64-bit hash of a template: FNV-1a, fixed by its spec, unlike
/// `std`'s hasher, so fingerprints agree across runs, builds and machines.
///
/// ```
/// use medic_engine::logs::{template_hash, template_of};
/// let a = template_hash(&template_of("user 42 not found"));
/// let b = template_hash(&template_of("user 7 not found"));
/// assert_eq!(a, b);
/// ```
pub fn template_hash(template: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    template.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// One group of similar lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The template's words; positions where members differ are `<*>`.
    pub words: Vec<String>,
    /// How many lines joined this cluster.
    pub count: usize,
    /// The index (in insertion order) of the first line that joined.
    pub first_line: usize,
}

impl Cluster {
    /// The template as one string.
    pub fn template(&self) -> String {
        self.words.join(" ")
    }
}

/// Groups lines into clusters of similar templates, as Drain does: masked
/// lines with the same number of words and the same first word are compared
/// word by word, and a line joins the most similar cluster when at least
/// [`TemplateMiner::similarity`] of its words agree; words that differ become
/// `<*>` in the cluster's template.
///
/// ```
/// use medic_engine::logs::TemplateMiner;
/// let mut miner = TemplateMiner::default();
/// let a = miner.add("ERROR cache node alpha unreachable");
/// let b = miner.add("ERROR cache node beta unreachable");
/// let c = miner.add("INFO request served");
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// assert_eq!(miner.clusters()[a].template(), "error cache node <*> unreachable");
/// assert_eq!(miner.clusters()[a].count, 2);
/// ```
#[derive(Debug, Clone)]
pub struct TemplateMiner {
    similarity: f64,
    clusters: Vec<Cluster>,
    /// (word count, first word) → clusters in that leaf.
    leaves: HashMap<(usize, String), Vec<usize>>,
    /// Masked line → the cluster it joined: a repeated line skips the tree
    /// (logs repeat themselves; Drain3 keeps the same cache).
    seen: HashMap<String, usize>,
    lines: usize,
}

impl Default for TemplateMiner {
    /// Drain's usual threshold: half the words must agree.
    fn default() -> Self {
        Self::with_similarity(0.5)
    }
}

impl TemplateMiner {
    /// A miner that merges lines when at least `similarity` (0..=1) of their
    /// words agree; out-of-range values are clamped.
    pub fn with_similarity(similarity: f64) -> Self {
        let similarity = if similarity.is_nan() {
            0.5
        } else {
            similarity.clamp(0.0, 1.0)
        };
        Self {
            similarity,
            clusters: Vec::new(),
            leaves: HashMap::new(),
            seen: HashMap::new(),
            lines: 0,
        }
    }

    /// The merge threshold.
    pub fn similarity(&self) -> f64 {
        self.similarity
    }

    /// Adds a line; returns the index of its cluster in [`clusters`](Self::clusters).
    pub fn add(&mut self, line: &str) -> usize {
        let template = template_of(line);
        let line_index = self.lines;
        self.lines += 1;
        if let Some(&index) = self.seen.get(&template)
            && let Some(cluster) = self.clusters.get_mut(index)
        {
            cluster.count += 1;
            return index;
        }
        let index = self.join(&template, line_index);
        self.seen.insert(template, index);
        index
    }

    /// Finds or makes the cluster for a template not seen before.
    fn join(&mut self, template: &str, line_index: usize) -> usize {
        let words: Vec<String> = template.split(' ').map(str::to_string).collect();
        let first = words.first().cloned().unwrap_or_default();
        let key = (words.len(), first);
        let leaf = self.leaves.entry(key).or_default();
        let best = leaf
            .iter()
            .map(|&index| (index, agreement(&self.clusters[index].words, &words)))
            .filter(|&(_, share)| share >= self.similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((index, _)) = best {
            let cluster = &mut self.clusters[index];
            for (kept, new) in cluster.words.iter_mut().zip(&words) {
                if kept != new {
                    *kept = WILDCARD.to_string();
                }
            }
            cluster.count += 1;
            return index;
        }
        let index = self.clusters.len();
        self.clusters.push(Cluster {
            words,
            count: 1,
            first_line: line_index,
        });
        leaf.push(index);
        index
    }

    /// The clusters, in the order they were first seen.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// How many lines were added.
    pub fn lines(&self) -> usize {
        self.lines
    }
}

/// The share of positions where two equally long templates agree; a `<*>`
/// in the cluster agrees with anything, as in Drain.
fn agreement(cluster: &[String], line: &[String]) -> f64 {
    if cluster.is_empty() {
        return 1.0;
    }
    let same = cluster
        .iter()
        .zip(line)
        .filter(|(kept, new)| kept == new || *kept == WILDCARD)
        .count();
    same as f64 / cluster.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_differing_in_values_share_a_template() {
        let pairs = [
            (
                "2026-11-15T01:47:17.380Z ERROR inventory: dial tcp 10.5.115.162:8080: connect: connection refused",
                "2026-11-16T22:03:09.001Z ERROR inventory: dial tcp 10.9.1.2:9092: connect: connection refused",
            ),
            (
                "DEBUG worker-47 picked job 869b7c3d",
                "DEBUG worker-3 picked job a450dd59",
            ),
            (
                "request 9f1c2e3a-1b2c-4d5e-8f90-0123456789ab failed",
                "request 00000000-0000-4000-8000-000000000000 failed",
            ),
            (
                "write /srv/uploads/a.bin: no space left on device",
                "write /var/lib/x/segment-3.log: no space left on device",
            ),
            (
                r#"pq: duplicate key value violates unique constraint "orders_pkey""#,
                r#"pq: duplicate key value violates unique constraint "shop_pkey""#,
            ),
            (
                "level=error msg=\"connection refused\" host=db-1 port=5432",
                "level=error msg=\"connection refused\" host=db-2 port=6543",
            ),
            (
                "GET https://api.example.org/v1/users/42 -> 503",
                "GET https://api.example.org/v1/users/7 -> 503",
            ),
            (
                "fe80::1 and 0xdeadbeef at 2026-11-26 08:00:00",
                "fe80::2 and 0xcafe at 2026-11-27 09:10:11",
            ),
        ];
        for (a, b) in pairs {
            assert_eq!(template_of(a), template_of(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn different_messages_get_different_templates() {
        let lines = [
            "ERROR connect: connection refused",
            "ERROR connect: connection reset by peer",
            "INFO connect: connection refused",
            "ERROR write: no space left on device",
            r#"{"level":"error","msg":"disk is full"}"#,
            r#"{"level":"error","msg":"disk is fine"}"#,
        ];
        let templates: Vec<String> = lines.iter().map(|l| template_of(l)).collect();
        for (i, a) in templates.iter().enumerate() {
            for b in &templates[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn names_with_short_numbers_and_json_keys_are_kept() {
        assert_eq!(template_of("http2 sha256 utf8"), "http2 sha256 utf8");
        assert_eq!(
            template_of(r#"{"changed": false, "msg": "Missing sudo password"}"#),
            r#"{"changed": false, "msg": "missing sudo password"}"#
        );
        assert_eq!(template_of("can't open it"), "can't open it");
        assert_eq!(template_of("   "), "");
    }

    #[test]
    fn values_that_words_would_hide_are_masked() {
        let cases = [
            // Padding dots separate a name from its value.
            (
                "icache prefetch depth.......0x00000000",
                "icache prefetch depth...<*>",
            ),
            // Hex groups joined by `:`, letters-only groups included.
            ("chip ff:01:4e:dc changed", "chip <*> changed"),
            // A date's day and month names; a list of values is one value.
            (
                "status=M Fri Jul 29 08:15:03 PDT 2005",
                "status=<*> pdt <*>",
            ),
            ("delete blk_1 blk_2 blk_3", "delete <*>"),
            // Hosts by their dots or their numbers; the account after `user`.
            ("lookup mail.example.org failed", "lookup <*> failed"),
            ("mount failed on bglio716", "mount failed on <*>"),
            (
                "Invalid user admin from 10.0.0.1",
                "invalid user <*> from <*>",
            ),
            ("user not found", "user not found"),
            // A class name is the message.
            (
                "java.net.ConnectException: refused",
                "java.net.connectexception: refused",
            ),
            ("it may fail on May 3", "it may fail on <*>"),
        ];
        for (line, template) in cases {
            assert_eq!(template_of(line), template, "{line:?}");
        }
    }

    #[test]
    fn the_miner_merges_similar_lines_and_keeps_others_apart() {
        let mut miner = TemplateMiner::default();
        let a = miner.add("ERROR payments: upstream alpha returned garbage");
        let b = miner.add("ERROR payments: upstream beta returned garbage");
        let c = miner.add("ERROR payments: upstream beta returned garbage twice");
        let d = miner.add("INFO listening");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(miner.clusters().len(), 3);
        assert_eq!(miner.lines(), 4);
        assert_eq!(
            miner.clusters()[a].template(),
            "error payments: upstream <*> returned garbage"
        );
    }

    #[test]
    fn the_similarity_threshold_decides_merging() {
        let mut strict = TemplateMiner::with_similarity(1.0);
        let a = strict.add("cache alpha miss");
        let b = strict.add("cache beta miss");
        assert_ne!(a, b);
        assert_eq!(TemplateMiner::with_similarity(f64::NAN).similarity(), 0.5);
        assert_eq!(TemplateMiner::with_similarity(7.0).similarity(), 1.0);
    }

    proptest! {
        #[test]
        fn mining_never_panics_on_any_input(lines in proptest::collection::vec(".{0,200}", 0..20)) {
            let mut miner = TemplateMiner::default();
            for line in &lines {
                let template = template_of(line);
                let index = miner.add(line);
                prop_assert!(index < miner.clusters().len());
                prop_assert!(!template.contains("  "));
                let _ = template_hash(&template);
            }
        }

        #[test]
        fn arbitrary_bytes_as_text_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = template_of(&text);
        }

        #[test]
        fn templating_is_idempotent_on_values(n in 0u32..1_000_000, m in 0u32..1_000_000) {
            let a = template_of(&format!("job {n} took {m}ms on host-{n}"));
            let b = template_of(&format!("job {m} took {n}ms on host-{m}"));
            prop_assert_eq!(&a, &b);
        }
    }
}
