//! The catalog's software families (issue 17): failures in the words of the
//! programs that print them, as data. Each rule says why it files the
//! failure where it does and carries a fixture, a message in the program's
//! own format, that the tests check it recognises.
//!
//! These rules are tried before the general catalog (`patterns.rs`):
//! they are narrower, so where both match, the family knows better (a
//! refused connection to PostgreSQL is the database, not the network).
//! Within the list, order matters the same way: a failed login to a
//! database is authentication before it is the database.

use super::category::Category;

/// One rule of a family.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FamilyRule {
    /// A short stable name (`family_what`).
    pub(crate) name: &'static str,
    /// ASCII regex, matched case-insensitively anywhere in a line.
    pub(crate) regex: &'static str,
    pub(crate) category: Category,
    /// Whether the same call may succeed if tried again.
    pub(crate) retryable: bool,
    /// Why the failure belongs to this category (read by the tests, and
    /// by whoever reads the catalog).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) reason: &'static str,
    /// A message in the software's own format that the rule recognises.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fixture: &'static str,
}

const fn rule(
    name: &'static str,
    regex: &'static str,
    category: Category,
    retryable: bool,
    reason: &'static str,
    fixture: &'static str,
) -> FamilyRule {
    FamilyRule {
        name,
        regex,
        category,
        retryable,
        reason,
        fixture,
    }
}

use Category::{
    Authentication, Configuration, Database, Dependency, Network, Permission, RateLimit, Resource,
    Timeout,
};

/// The families, most specific first.
pub(crate) const FAMILIES: &[FamilyRule] = &[
    // --- authentication and permission, before the services they name ---
    rule(
        "ssh_login_rejected",
        r"permission denied \((?:publickey|password|keyboard-interactive|gssapi)",
        Authentication,
        false,
        "ssh refused the key or password, whichever account (`postgres@db-1`) it names",
        "Failed to connect to the host via ssh: postgres@db-1: Permission denied (publickey,password).",
    ),
    rule(
        "db_login_failed",
        r"password authentication failed|access denied for user [ -~]*\(using password|\berror 1045\b|\bnoauth\b|\bwrongpass\b|login failed for user|authentication failed[ -~]*mongo|mongo[ -~]*authentication failed|acl_access_refused|access_refused - login was refused",
        Authentication,
        false,
        "the server refused the credentials: new credentials fix it, not a restart",
        "2026-11-30 08:14:02.331 UTC [28841] FATAL:  password authentication failed for user \"billing\"",
    ),
    rule(
        "sasl_or_mtls_rejected",
        r"saslauthenticationexception|sasl authentication failed|alert bad certificate|peer did not return a certificate|client certificate (?:required|rejected|verification failed)|certificate required",
        Authentication,
        false,
        "the peer rejected who we are (SASL or a client certificate)",
        "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    ),
    rule(
        "registry_unauthorized",
        r"npm err! code e401|unable to authenticate, need: basic|unauthorized: authentication required|no basic auth credentials|received status code 401",
        Authentication,
        false,
        "a package or image registry wants credentials it did not get",
        "npm ERR! code E401\nnpm ERR! Unable to authenticate, need: Basic realm=\"Artifactory Realm\"",
    ),
    rule(
        "db_permission",
        r"command denied to user|permission denied for (?:table|schema|relation|database|sequence|function)|must be owner of|not authorized on [ -~]* to execute|access_refused - access to|topicauthorizationexception|groupauthorizationexception",
        Permission,
        false,
        "the account is known but lacks the grant: a grant fixes it",
        "ERROR:  permission denied for table invoices",
    ),
    rule(
        "path_access_denied",
        r"access to the path [ -~]* is denied|unauthorizedaccessexception|kind: permissiondenied|client denied by server configuration|\bah01630\b",
        Permission,
        false,
        ".NET and Apache httpd say 'denied' in their own words",
        "System.UnauthorizedAccessException: Access to the path '/var/app/cache' is denied.",
    ),
    // --- resources ---
    rule(
        "port_in_use",
        r"address already in use|\beaddrinuse\b|\baddrinuse\b|port is already allocated|only one usage of each socket address|could not bind to address|make_sock: could not bind|cannot bind socket|bind\(\) to [ -~]* failed|\(98\)|errno 98\b|os error 98\b",
        Resource,
        false,
        "another process holds the port: free it or move, retrying the bind does not help",
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
    ),
    rule(
        "quota_or_limits",
        r"exceeded quota: |could not get lock /var/lib/|exited with code 137|exit code:? 137\b|insufficient (?:cpu|memory|ephemeral-storage|nvidia\.com/gpu)|the node was low on resource|\bevicted\b|allowed memory size of [0-9]+ bytes exhausted|heap limit allocation failed|gc overhead limit exceeded|unable to create (?:new )?native thread|pthread_create failed|cannot fork|fork: retry|circuit_breaking_exception|data too large|es_rejected_execution_exception|flood[ -]stage disk watermark|index read-only / allow delete|read-only-allow-delete|memory resource limit alarm|disk resource limit alarm|resource alarm|max_user_watches|file watchers reached|inotify watch limit|reached maxrequestworkers|maxrequestworkers setting|worker_connections are not enough|reached process fd limit|maxconn reached|\bmisconf\b",
        Resource,
        false,
        "a limit was reached (memory, cpu, disk, threads, watches, workers, quota): more of it, or less load",
        "Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient memory.",
    ),
    // --- configuration ---
    rule(
        "tls_setup",
        r"ssl routines|ssl_do_handshake\(\) failed|\bsslerror\b|wrong version number|handshake failure|tlsv1 alert|sslv3 alert|unable to get local issuer|certificate verify failed|ssl_error_|no required ssl certificate",
        Configuration,
        false,
        "TLS could not be agreed or verified: certificates or settings, not the network",
        "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream",
    ),
    rule(
        "image_not_found",
        r"errimagepull|imagepullbackoff|manifest unknown|manifest for [ -~]* not found|failed to pull image [ -~]*not found",
        Configuration,
        false,
        "the image reference names nothing that exists: a wrong name or tag in the spec",
        "Failed to pull image \"registry.example.org/shop/api:v2.41\": rpc error: code = NotFound desc = failed to pull and unpack image: manifest unknown",
    ),
    rule(
        "missing_setting",
        r"createcontainerconfigerror|no such file or directory[ -~]*\.(?:ya?ml|toml|json|ini|conf|cfg|env|properties)\b|(?:secret|configmap|persistentvolumeclaim) [ -~]* not found|must be set\b|is not set\b|\bnot defined in (?:the )?environment|missing required (?:environment|env|config|setting)|keyerror: '[a-z][a-z0-9_]{2,}'|os\.environ\[|improperlyconfigured|no connection string named|connectionstring property has not been initialized|config(?:uration)? file [ -~]*(?:not found|missing|does not exist)|unknown directive|invalid (?:directive|parameter) |syntax error on line [0-9]+ of|\bah00526\b|parsing \[[ -~]*\.cfg:[0-9]+\]|\[emerg\]|status=(?:203/exec|217/user|200/chdir|226/namespace|218/capabilities)|executable file not found in \$path|precondition_failed - inequivalent arg|unknown_topic_or_partition|unknowntopicorpartitionexception|not_found - no (?:queue|exchange)|externally-managed-environment|no_pubkey|gpg error",
        Configuration,
        false,
        "a setting, secret, file or name the program needs is missing or wrong",
        "Error: secret \"shop-db\" not found",
    ),
    // --- dependencies: modules, packages, upstreams ---
    rule(
        "module_missing",
        r#"modulenotfounderror|no module named|importerror: cannot import name|cannot find module|err_module_not_found|cannot load such file|bundler::gemnotfound|could not find gem|classnotfoundexception|noclassdeffounderror|unsatisfiedlinkerror|could not load file or assembly|cannot open shared object file|unresolved import|error\[e0432\]|class "?[a-z0-9_\\]+"? not found|failed to open stream|autoload\.php"#,
        Dependency,
        false,
        "code needs a module, class or library that is not installed",
        "ModuleNotFoundError: No module named 'requests'",
    ),
    rule(
        "package_unresolved",
        r"unable to locate package|has no installation candidate|unmet dependencies|no match for argument|unable to find a match|nothing provides|conflicting requests|unable to select packages|could not find a version that satisfies|no matching distribution found|resolutionimpossible|npm err! code (?:e404|eresolve|etarget)|unable to resolve dependency tree|no matching version found|no matching package named|failed to select a version|could not resolve dependencies|could not find artifact|non-resolvable parent pom|could not resolve all (?:files|dependencies|artifacts)|could not find [a-z0-9_.-]+:[a-z0-9_.-]+:[0-9]",
        Dependency,
        false,
        "the package manager cannot find or reconcile a package: a name, version or repository to fix",
        "E: Unable to locate package libpq-dev2",
    ),
    rule(
        "upstream_down",
        r#"while connecting to upstream|no live upstreams|upstream prematurely closed|no healthy upstream|has no server available|is down, reason:|layer[47] (?:connection problem|timeout|wrong status)|failed to make connection to backend|\bah01114\b|\bah00957\b|error reading status line from remote server|" 50[23] (?:uf|uh|urx|uo|lh|uc)\b|cannot connect to the docker daemon|is the docker daemon running|dependency failed for|master_not_discovered_exception|nonodeavailableexception|no living connections|not_enough_replicas|notenoughreplicas|leader_not_available|leadernotavailable"#,
        Dependency,
        true,
        "the service we call (an upstream, a daemon, a cluster) is down or unreachable: it has to come back",
        "2026/12/01 10:11:12 [error] 311#311: *81 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.1.4:8080/\"",
    ),
    rule(
        "envoy_flags",
        r#"" 429 rl\b|" 504 ut\b"#,
        RateLimit,
        true,
        "Envoy's response flags: RL is its own rate limiter (UT, a timeout, is filed by the general catalog)",
        "[2026-12-01T10:00:00.000Z] \"GET /api HTTP/1.1\" 429 RL 0 18 0 - \"10.0.0.1\" \"curl/8.5\" \"4f1c\" \"api\" \"-\"",
    ),
    // --- network: names that do not resolve ---
    rule(
        "name_not_resolved",
        r"unknownhostexception|\bnxdomain\b|\bservfail\b|\beai_again\b|\benotfound\b|name does not resolve|temporary failure resolving|no servers could be reached|dial tcp: lookup",
        Network,
        true,
        "a host name did not resolve: DNS, not the service behind it",
        "java.net.UnknownHostException: db-primary.internal: Name or service not known",
    ),
    // --- databases: a client that cannot reach its server ---
    rule(
        "db_libpq_unreachable",
        r"is the server running (?:on|locally)|accepting\s+tcp/ip connections|connection to server (?:at|on) [ -~]* failed|the database system is (?:starting up|shutting down|in recovery mode)|server closed the connection unexpectedly|terminating connection due to administrator command",
        Database,
        true,
        "libpq's own words: PostgreSQL is not answering, whatever the socket said; the database is what must come back",
        "psql: error: connection to server at \"db-primary.internal\" (10.0.3.21), port 5432 failed: Connection refused",
    ),
    rule(
        "db_client_unreachable",
        r"(?:\b(?:5432|3306|6379|27017|33060|26257)\b|\bdatabase\b|\bdb:|postgres|\bpsql\b|pg_dump|pg_restore|psycopg|libpq|\bpq:|pg::|asyncpg|\bpgx\b|npgsql|mysql|mariadb|redis|mongo|sqlalchemy|activerecord|hikaripool|\bjdbc\b|sequelize|prisma|sqlstate|sqlclient|sql server)[ -~]*(?:connection refused|econnrefused|connection to [ -~]* refused|could not connect|can'?t connect|cannot connect|unable to connect|failed to connect|error connecting|error [0-9]+ connecting|connection (?:was )?reset|econnreset|no route to host|connect timed out|connection timed out|lost connection|has gone away|server selection|no reachable servers|communications link failure|connection is not available|connection ?not ?established|connectionbad|network-related or instance-specific error)",
        Database,
        true,
        "a database client (named by its driver or port) cannot reach its server: it is the database that is down, and reconnecting to it is the remedy, even when the socket says refused",
        "Could not connect to Redis at 10.0.0.5:6379: Connection refused",
    ),
    rule(
        "db_unreachable_then_named",
        r"(?:connection refused|econnrefused|could not connect|can'?t connect|cannot connect|unable to connect|failed to connect|connection reset|server selection|communications link failure|lost connection)[ -~]*(?:\b(?:5432|3306|6379|27017|33060)\b|postgres|mysql|mariadb|redis|mongo)",
        Database,
        true,
        "the same, with the database named after the refusal (`connect ECONNREFUSED 10.0.0.5:5432`)",
        "Error: connect ECONNREFUSED 10.2.0.8:5432",
    ),
    rule(
        "db_server_state",
        r"mongoserverselectionerror|remaining connection slots are reserved|max number of clients reached|serverselectiontimeouterror|mongonetworkerror|\bloading redis is loading\b|\breadonly you can't write\b|\bclusterdown\b|\bmasterdown\b|too many connections|\berror 1040\b|\berror 1049\b|unknown database|\berror 1146\b|table [ -~]* doesn't exist|database [ -~]* does not exist",
        Database,
        true,
        "the database server's own state or objects: a database matter",
        "ERROR 1049 (42000): Unknown database 'shop'",
    ),
    rule(
        "php_execution_time",
        r"maximum execution time of [0-9]+ seconds? exceeded",
        Timeout,
        false,
        "PHP stopped a script that ran past max_execution_time",
        "PHP Fatal error:  Maximum execution time of 30 seconds exceeded in /var/www/app/report.php on line 88",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::match_catalog;
    use super::*;

    #[test]
    fn every_fixture_is_recognised_by_its_own_rule() {
        for rule in FAMILIES {
            // A fixture may span lines; the rule must match one of them.
            let hit = rule
                .fixture
                .lines()
                .find_map(|line| match_catalog(line).filter(|p| p.name == rule.name));
            assert!(
                hit.is_some(),
                "{}: fixture {:?} hit {:?}",
                rule.name,
                rule.fixture,
                rule.fixture
                    .lines()
                    .map(|l| match_catalog(l).map(|p| p.name))
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn rules_have_reasons_and_unique_names() {
        let mut names: Vec<&str> = FAMILIES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
        assert!(FAMILIES.iter().all(|r| r.reason.len() > 20));
    }

    #[test]
    fn families_file_database_clients_and_keep_causes() {
        let cases: &[(&str, Category)] = &[
            (
                "psycopg2.OperationalError: could not connect to server: Connection refused",
                Database,
            ),
            (
                "ERROR 2003 (HY000): Can't connect to MySQL server on 'db-2' (111)",
                Database,
            ),
            (
                "dial tcp 10.0.0.5:5432: connect: connection refused",
                Database,
            ),
            (
                "redis.exceptions.ConnectionError: Error 111 connecting to cache:6379. Connection refused.",
                Database,
            ),
            (
                "pymongo.errors.ServerSelectionTimeoutError: mongo-0:27017: [Errno 111] Connection refused",
                Database,
            ),
            // The cause the server names comes first.
            (
                "psql: error: connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"app\"",
                Authentication,
            ),
            (
                "ERROR 1045 (28000): Access denied for user 'app'@'10.0.0.9' (using password: YES)",
                Authentication,
            ),
            ("NOAUTH Authentication required.", Authentication),
            (
                "org.postgresql.util.PSQLException: Connection to db-1:5432 refused. Check that the hostname and port are correct",
                Database,
            ),
            (
                "FileNotFoundError: [Errno 2] No such file or directory: 'config/settings.yaml'",
                Configuration,
            ),
            (
                "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4121 (apt-get)",
                Resource,
            ),
            // Not a database: a web service refusing stays the network.
            (
                "dial tcp 10.0.0.5:8080: connect: connection refused",
                Network,
            ),
        ];
        for (text, category) in cases {
            let got = match_catalog(text).map(|p| p.assessment.category);
            assert_eq!(got, Some(*category), "{text}");
        }
    }
}
