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
    /// by whoever reads the catalog, and shown beside a diagnosis).
    pub(crate) reason: &'static str,
    /// A message in the software's own format that the rule recognises.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fixture: &'static str,
}

pub(crate) const fn rule(
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
    Api, Authentication, Configuration, Database, Dependency, Network, Permission, RateLimit,
    Resource, Timeout, Validation,
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
        "sshd_login_failed",
        r"\bfailed (?:password|publickey|keyboard-interactive/pam) for |\binvalid user [ -~]* from [0-9a-f.:]+|maximum authentication attempts exceeded|pam_unix\([ -~]*\): authentication failure",
        Authentication,
        false,
        "sshd's (and PAM's) record of a login it refused: the credentials, not the connection",
        "Dec  1 03:12:44 bastion sshd[22817]: Failed password for invalid user admin from 203.0.113.50 port 51122 ssh2",
    ),
    rule(
        "token_rejected",
        r"tokenexpirederror|jsonwebtokenerror|\bjwt (?:expired|malformed|must be provided|signature is required)|expiredsignatureerror|signature has expired|expiredtoken(?:exception)?\b|security token included in the request is (?:expired|invalid)|invalidclienttokenid|the aws access key id you provided does not exist|invalidaccesskeyid|signaturedoesnotmatch|unrecognizedclientexception|\baadsts[0-9]{5,}|request had invalid authentication credentials",
        Authentication,
        false,
        "a token or key the service no longer accepts (JWT libraries, AWS, Azure AD, Google): new credentials fix it",
        "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired",
    ),
    rule(
        "smtp_login_failed",
        r"smtpauthenticationerror|username and password not accepted|\(535, b?'",
        Authentication,
        false,
        "the mail server refused AUTH (SMTP 535): the mail account's credentials",
        "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. For more information, go to')",
    ),
    rule(
        "db_login_failed",
        r#"password authentication failed|access denied for user [ -~]*\(using password|\berror 1045\b|\bnoauth\b|\bwrongpass\b|login failed for user|authentication failed[ -~]*mongo|mongo[ -~]*authentication failed|acl_access_refused|access_refused - login was refused|authenticationfailed\('|\[bad credentials\]|fatal: +role "[ -~]+" does not exist|no pg_hba\.conf entry for host"#,
        Authentication,
        false,
        "the server refused the credentials: new credentials fix it, not a restart",
        "2026-11-30 08:14:02.331 UTC [28841] FATAL:  password authentication failed for user \"billing\"",
    ),
    rule(
        "sasl_or_mtls_rejected",
        r"saslauthenticationexception|sasl authentication failed|alert bad certificate|remote error: tls: bad certificate|peer did not return a certificate|client certificate (?:required|rejected|verification failed)|certificate required|client ssl certificate verify error|client sent no required ssl certificate",
        Authentication,
        false,
        "the peer rejected who we are (SASL or a client certificate)",
        "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    ),
    rule(
        "registry_unauthorized",
        r"npm (?:err!|error) code e401|unable to authenticate, need: basic|unauthorized: authentication required|no basic auth credentials|received status code 401|status code: 401, reason phrase|reason phrase: unauthorized|pull access denied for|may require 'docker login'",
        Authentication,
        false,
        "a package or image registry wants credentials it did not get (Docker asks for `docker login` even when the image may not exist)",
        "npm ERR! code E401\nnpm ERR! Unable to authenticate, need: Basic realm=\"Artifactory Realm\"",
    ),
    rule(
        "registry_forbidden",
        r"npm (?:err!|error) code e403|reason phrase: forbidden|status code: 403, reason phrase",
        Permission,
        false,
        "a package registry knows who we are but refuses the artifact (Maven's and npm's wording of a 403)",
        "Could not transfer artifact com.acme:common:pom:2.1.0 from/to nexus (https://nexus.acme.io/repository/maven-releases/): status code: 403, reason phrase: Forbidden (403)",
    ),
    rule(
        "db_permission",
        r"command denied to user|you do not have the super privilege|\berror (?:1044|1142|1143|1227|1419)\b|access denied; you need \(at least one of|permission denied for (?:table|schema|relation|database|sequence|function)|must be owner of|not authorized on [ -~]* to execute|access_refused[: -]+(?:(?:read|write|configure) )?access to|nopermissionerror|has no permissions to (?:run|access)|access to vhost [ -~]* refused|is not allowed to connect to this (?:mysql|mariadb) server|\bnoperm\b|topicauthorizationexception|groupauthorizationexception|is unauthorized for (?:user|api key) \[[ -~]*\] with (?:effective )?roles|rbac_access_denied|rbac: access denied",
        Permission,
        false,
        "the account is known but lacks the grant: a grant fixes it",
        "ERROR:  permission denied for table invoices",
    ),
    rule(
        "os_policy_denied",
        r"\bavc: +denied|selinux is preventing|is not in the sudoers file|is not allowed to execute [ -~]* as |may not run sudo on|apparmor=\x22denied\x22",
        Permission,
        false,
        "the operating system's policy (SELinux, AppArmor, sudoers) refused the action, whatever it names (a port, a file)",
        "type=AVC msg=audit(1764583442.112:812): avc:  denied  { name_connect } for  pid=2231 comm=\"httpd\" dest=5432 scontext=system_u:system_r:httpd_t:s0 tclass=tcp_socket permissive=0",
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
        r"address already in use|\beaddrinuse\b|\baddrinuse\b|port is already allocated|only one usage of each socket address|could not bind to address|make_sock: could not bind|cannot bind socket|bind\(\) to [ -~]* failed|\(98\)|errno 98\b|os error 98\b|port [0-9]+ (?:was|is) already in use|connection in use: \(",
        Resource,
        false,
        "another process holds the port: free it or move, retrying the bind does not help",
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
    ),
    rule(
        "memory_exhausted",
        r"could not reserve enough space for [ -~]*heap|insufficient memory for the java runtime|native memory allocation \(m(?:map|alloc)\) failed|killed signal terminated program|terminated by signal 9: killed|\blow memory!|due to memory pressure|lowmemorykiller",
        Resource,
        false,
        "memory ran out, in the words of the JVM, GCC (its compiler killed), earlyoom or systemd-oomd",
        "c++: fatal error: Killed signal terminated program cc1plus",
    ),
    rule(
        "filesystem_failed",
        r"remounting filesystem read-only|detected aborted journal|\bext4-fs error|\bxfs [ -~]*(?:corruption|shutting down filesystem)|buffer i/o error on dev|blk_update_request: (?:i/o|critical medium) error|i/o error, dev [a-z]",
        Resource,
        false,
        "the disk or its filesystem failed (the kernel's own words): storage to repair or replace, whichever program was writing",
        "[2314411.903450] EXT4-fs (nvme1n1): Remounting filesystem read-only",
    ),
    rule(
        "quota_or_limits",
        r"exceeded quota: |could not get lock /var/lib/|exited with code 137|exit code:? 137\b|insufficient (?:cpu|memory|ephemeral-storage|nvidia\.com/gpu)|the node was low on resource|\bevicted\b|allowed memory size of [0-9]+ bytes exhausted|heap limit allocation failed|gc overhead limit exceeded|unable to create (?:new )?native thread|pthread_create failed|cannot fork|fork: retry|circuit_breaking_exception|data too large|(?:low|high|flood[ -]stage) disk watermark|index read-only / allow delete|read-only-allow-delete|memory resource limit alarm|disk resource limit alarm|resource alarm|max_user_watches|file watchers reached|inotify watch limit|reached maxrequestworkers|reached pm\.max_children|\(limitexceededexception\)|exit status 137\b|out of shared memory|the table '[ -~]+' is full|\[gc\]\[[0-9]+\] overhead, spent|heap space is exhausted|disk space is insufficient|insufficient disk space|file-max limit [0-9]+ reached|\berror 137\b|vcpulimitexceeded|instancelimitexceeded|you have requested more [ -~]+ capacity than your current [ -~]+ limit|maxrequestworkers setting|worker_connections are not enough|reached process fd limit|maxconn reached|\bmisconf\b|exceeded memory limit|scoreboard is full",
        Resource,
        false,
        "a limit was reached (memory, cpu, disk, threads, watches, workers, quota): more of it, or less load",
        "Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient memory.",
    ),
    // --- configuration ---
    rule(
        "tls_setup",
        r"ssl routines|ssl_do_handshake\(\) failed|\bsslerror\b|wrong version number|handshake failure|tlsv1 alert|sslv3 alert|unable to get local issuer|certificate verify failed|ssl_error_|pkix path (?:building|validation) failed|unable to find valid certification path|sslhandshakeexception|certpathvalidatorexception|the ssl connection could not be established|the remote certificate is invalid|remotecertificate(?:namemismatch|chainerrors|notavailable)|\[ssl: [a-z_]+\]",
        Configuration,
        false,
        "TLS could not be agreed or verified: certificates or settings, not the network",
        "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream",
    ),
    rule(
        "proxy_host_not_found",
        r"host not found in (?:upstream|resolver)",
        Network,
        false,
        "nginx could not resolve a host its configuration names: DNS first, the name second",
        "nginx: [emerg] host not found in upstream \"backend:8080\" in /etc/nginx/conf.d/default.conf:14",
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
        r#"createcontainerconfigerror|no such file or directory[ -~]*\.(?:ya?ml|toml|json|ini|conf|cfg|env|properties)\b|(?:secret|configmap|persistentvolumeclaim) [ -~]* not found|must be set\b|is not set\b|\bnot defined in (?:the )?environment|missing required (?:environment|env|config|setting)|keyerror: '[a-z][a-z0-9_]{2,}'|os\.environ\[|improperlyconfigured|no connection string named|connectionstring property has not been initialized|config(?:uration)? file [ -~]*(?:not found|missing|does not exist)|unknown directive|invalid (?:directive|parameter) |syntax error on line [0-9]+ of|\bah00526\b|parsing \[[ -~]*\.cfg:[0-9]+\]|\[emerg\]|status=(?:203/exec|217/user|200/chdir|226/namespace|218/capabilities)|executable file not found in \$path|precondition_failed - inequivalent arg|unknown_topic_or_partition|unknowntopicorpartitionexception|not_found - no (?:queue|exchange)|externally-managed-environment|no_pubkey|gpg error|could not resolve placeholder|\.(?:ya?ml|toml|json|ini|conf|cfg|env|properties) \(no such file or directory\)|unknown variable '[a-z_-]+=|key not found: "[a-z][a-z0-9_]{2,}"|unable to resolve service for type|failed at step [a-z_]+ spawning [ -~]*: no such (?:file or directory|process)|flag provided but not defined|\(parameter 'connectionstring'\)|failed to locate executable|failed to determine user credentials|could not find method [a-z0-9_]+\(\) for arguments|: unbound variable|ansibleundefinedvariable|'[a-z_][a-z0-9_]*' is undefined|failed to load environment files?|database is uninitialized and [ -~]*password [ -~]*is not specified|you need to specify one of the following as an environment variable|missing [`'"]?[a-z_]+[`'"]? for '[a-z]+' environment|missing encryption key to decrypt|validation errors? for (?:settings|config|appsettings|appconfig)\b"#,
        Configuration,
        false,
        "a setting, secret, file or name the program needs is missing or wrong",
        "Error: secret \"shop-db\" not found",
    ),
    rule(
        "cluster_misconfigured",
        r#"unbound immediate persistentvolumeclaims|the container name [ -~]* is already in use|bootstrap checks? failed|vm\.max_map_count \[[0-9]+\] is too low|initial_master_nodes\]? is empty|inconsistentclusteridexception|doesn't match stored clusterid|index_not_found_exception|didn't match pod's node affinity|had untolerated taint|had taint [ -~]+ that the pod didn't tolerate|unknown field "[ -~]+" in io\.k8s|couldn't find key [ -~]+ in (?:secret|configmap)|no such index \[|cannot re-use a name that is still in use|has runasnonroot and image will run as root|vhost [ -~]{1,80} not found|transaction numbers are only allowed on a replica set member|does not support retryable writes"#,
        Configuration,
        false,
        "a cluster or runtime set up wrong (Elasticsearch's bootstrap checks, Kafka's cluster id, a RabbitMQ vhost, a volume claim, a container name): an operator's setting, not a passing fault",
        "ERROR: [1] bootstrap checks failed. You must address the points described in the following [1] lines before starting Elasticsearch.",
    ),
    // --- dependencies: modules, packages, upstreams ---
    rule(
        "module_missing",
        r#"modulenotfounderror|no module named|importerror: cannot import name|cannot find module|err_module_not_found|cannot load such file|bundler::gemnotfound|could not find gem|classnotfoundexception|noclassdeffounderror|unsatisfiedlinkerror|could not load file or assembly|cannot open shared object file|unresolved import|error\[e0432\]|class "?[a-z0-9_\\]+"? not found|(?:require|include)(?:_once)?\([ -~]*failed to open stream|failed opening required|call to undefined function [a-z0-9_]+\(\)|gem::missingspec(?:version)?error|required by your gemfile\.lock|err_require_esm|autoload\.php|package [a-z0-9_.]+ does not exist|no required module provides package|cannot find package|is not in goroot|missing go\.sum entry|module not found: error: can't resolve|can't resolve '[ -~]+' in '|failed to resolve import|in locally installed gems|in any of the (?:gem )?sources|to install missing gems|received unregistered task of type|\(module [a-z0-9_.]+ is not available\)|error loading (?:asgi|wsgi) app"#,
        Dependency,
        false,
        "code needs a module, class or library that is not installed",
        "ModuleNotFoundError: No module named 'requests'",
    ),
    rule(
        "runtime_or_library_missing",
        r#"unsupportedclassversionerror|compiled by a more recent version of the java runtime|you must install or update \.net|not possible to find any compatible framework version|the framework '[ -~]+', version '[ -~]+' [ -~]*was not found|the engine "node" is incompatible|requires a different python|could not find directory of openssl installation|the system library `[ -~]+` required by crate|was not found in the pkg-config search path|could not run `[ -~]*pkg-config|cannot find -l[a-z0-9_+-]+|unable to find library -l|compiled against a different node\.js version|your php version \([0-9.]+\) does not satisfy|requires rustc [0-9.]+ or newer|version `glibc_[0-9.]+' not found"#,
        Dependency,
        false,
        "the runtime (JVM, .NET, Node, Python) or a native library the program needs is missing or too old: install the right one",
        "java.lang.UnsupportedClassVersionError: com/acme/App has been compiled by a more recent version of the Java Runtime (class file version 65.0), this version of the Java Runtime only recognizes class file versions up to 61.0",
    ),
    rule(
        "library_version_conflict",
        r#"nosuchmethoderror|nosuchfielderror|abstractmethoderror|incompatibleclasschangeerror|package versions have conflicting dependencies|contextualversionconflict|conflicting peer dependency|could not resolve dependency:[ -~]*peer|conflicts with file from package"#,
        Dependency,
        false,
        "two libraries want different versions of a third, or one was built against another version than the one loaded (the JVM's linkage errors, pip's and npm's conflicts): a version to align",
        "java.lang.NoSuchMethodError: 'com.fasterxml.jackson.core.JsonParser com.fasterxml.jackson.core.JsonFactory.createParser(java.io.InputStream)'",
    ),
    // A registry that cannot be reached is the network, even when the
    // package manager heads its message with the artifact it was resolving.
    rule(
        "repository_unreachable",
        r#"could not transfer artifact [ -~]*(?:connect to [ -~]+ failed|connect timed out|connection refused|unknownhostexception|no route to host|network is unreachable|connection reset)|failed to request discovery document: [ -~]*(?:no such host|connection refused|i/o timeout|timeout|network is unreachable)|fetching https?://[ -~]+: (?:temporary error|network error|dns lookup error|could not connect)"#,
        Network,
        true,
        "the package repository (Maven's transfer, Terraform's registry discovery) could not be reached: the network path to it, not the package's name",
        "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project com.acme:api:jar:1.0: Could not transfer artifact org.slf4j:slf4j-api:pom:2.0.9 from/to central (https://repo.maven.apache.org/maven2): Connect to repo.maven.apache.org:443 [repo.maven.apache.org/151.101.0.215] failed: Connection refused",
    ),
    rule(
        "package_unresolved",
        r"unable to locate package|has no installation candidate|unmet dependencies|no match for argument|unable to find a match|nothing provides|conflicting requests|could not find a version that satisfies|no matching distribution found|resolutionimpossible|npm (?:err!|error) code (?:e404|eresolve|etarget)|unable to resolve dependency tree|no matching version found|no matching package named|failed to select a version|could not resolve dependencies|could not find artifact|non-resolvable parent pom|could not resolve all (?:files|dependencies|artifacts)|could not find [a-z0-9_.-]+:[a-z0-9_.-]+:[0-9]|no package matching [ -~]+ is available|no package [ -~]+ available\.",
        Dependency,
        false,
        "the package manager cannot find or reconcile a package: a name, version or repository to fix",
        "E: Unable to locate package libpq-dev2",
    ),
    rule(
        "server_rate_limited",
        r#"limiting (?:requests|connections)(?:,| by zone)|es_rejected_execution_exception|rejected execution of|" 429 rl\b|requestlimitexceeded"#,
        RateLimit,
        true,
        "the server shed load on purpose (nginx limit_req/limit_conn, Elasticsearch's rejected execution, Envoy's RL flag): slow down",
        "2026/12/01 12:12:12 [error] 29#29: *1177 limiting requests, excess: 20.560 by zone \"api\", client: 203.0.113.9",
    ),
    rule(
        "proxy_timed_out",
        r#"" 504 ut\b|the timeout specified has expired|layer[47] timeout|worker timeout \(pid|[45][0-9]{2} [0-9]+ [!-~]+ [!-~]+ (?-i:s[CHDQRT])[-a-zA-Z]{2} [0-9]+/"#,
        Timeout,
        true,
        "the proxy or server gave up waiting (Envoy's UT, APR's 70007, HAProxy's `sH` termination state and Layer7 timeout, gunicorn's WORKER TIMEOUT): a timeout, even where an upstream is named",
        "Dec  4 22:31:05 lb3 haproxy[1887]: 10.8.0.14:40112 [04/Dec/2026:22:30:35.004] fe_http be_reports/rep1 0/0/1/-1/30001 504 194 - - sH-- 4/4/2/2/0 0/0 \"GET /reports/annual HTTP/1.1\"",
    ),
    // A deny answered with 429 is a rate limit (a stick-table rule), not a
    // policy: it comes before the general deny below.
    rule(
        "proxy_rate_limited",
        r"429 [0-9]+ [!-~]+ [!-~]+ (?-i:PR)-- ",
        RateLimit,
        true,
        "HAProxy denied the request with 429 (`http-request deny deny_status 429` behind a stick-table counter): the client is over its rate",
        "Dec  2 09:11:04 lb-2 haproxy[713]: 198.51.100.7:50122 [02/Dec/2026:09:11:04.118] fe_web fe_web/<NOSRV> 0/-1/-1/-1/0 429 210 - - PR-- 50/50/0/0/0 0/0 \"GET /search HTTP/1.1\"",
    ),
    // A proxy that refuses on purpose is not an upstream that is down:
    // nginx's errno 13 on the upstream socket, HAProxy's `PR--`
    // termination state (a `http-request deny` rule).
    rule(
        "proxy_denied",
        r"\(13: permission denied\) while connecting to upstream|[45][0-9]{2} [0-9]+ [!-~]+ [!-~]+ (?-i:PR)-- ",
        Permission,
        false,
        "the proxy may not open the upstream's socket (errno 13), or a proxy rule denied the request (HAProxy's PR): a permission or policy, not a service that is down",
        "2026/12/01 10:09:12 [crit] 44#44: *1122 connect() to unix:/run/php/php8.3-fpm.sock failed (13: Permission denied) while connecting to upstream, client: 10.0.0.9",
    ),
    rule(
        "upstream_down",
        r#"connect\(\) [ -~]*while connecting to upstream|no live upstreams|upstream prematurely closed|no healthy upstream|has no server available|is down, reason:|layer[47] (?:connection problem|wrong status)|/<nosrv> |[45][0-9]{2} [0-9]+ [!-~]+ [!-~]+ (?-i:S[CHDQ])[-a-zA-Z]{2} [0-9]+/|master not discovered|health check failed, removing from server list|failed to make connection to backend|\bah01114\b|\bah00957\b|error reading status line from remote server|" 50[23] (?:uf|uh|urx|lh|uc)\b|cannot connect to the docker daemon|is the docker daemon running|dependency failed for|master_not_discovered_exception|nonodeavailableexception|no living connections|not_enough_replicas|notenoughreplicas|leader_not_available|leadernotavailable|'50[23] [a-z ]+' caused by: |"status":50[23],[ -~]*reverseproxy\.statuserror"#,
        Dependency,
        true,
        "the service we call (an upstream, a daemon, a cluster) is down or unreachable: it has to come back, whether nginx, HAProxy, Envoy, Traefik or Caddy reports it",
        "2026/12/01 10:11:12 [error] 311#311: *81 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.1.4:8080/\"",
    ),
    // --- network: names that do not resolve ---
    rule(
        "db_name_not_resolved",
        r#"could not translate host name|(?:mongo|postgres|mysql|mariadb|redis|psycopg|sequelize|prisma|jdbc)[ -~]*(?:\benotfound\b|\beai_again\b|unknownhostexception|name or service not known|no such host)|(?:\benotfound|\beai_again|unknownhostexception:|no such host|lookup) [a-z0-9._-]*(?:postgres|mysql|mariadb|redis|mongo)"#,
        Database,
        true,
        "the database's own host name did not resolve (libpq's `could not translate host name`, a driver naming it): the database service is what is missing, and reconnecting once it is back is the remedy",
        "psql: error: could not translate host name \"pg-primary\" to address: Name or service not known",
    ),
    rule(
        "name_not_resolved",
        r"unknownhostexception|\bnxdomain\b|\bservfail\b|\beai_again\b|\benotfound\b|name does not resolve|temporary failure resolving|no servers could be reached|communications error to [ -~]+#53|dial tcp: lookup|:53: i/o timeout|plugin/errors: [0-9]+ ",
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
        r"(?:\b(?:5432|3306|6379|27017|33060|26257)\b|\bdatabase\b|\bdb:|postgres|\bpsql\b|pg_dump|pg_restore|psycopg|libpq|\bpq:|pg::|asyncpg|\bpgx\b|npgsql|mysql|mariadb|redis|mongo|sqlalchemy|activerecord|hikaripool|\bjdbc\b|sequelize|prisma|sqlstate|elastic_transport|sqlclient|sql server|elasticsearch|opensearch|\b(?:9200|9042|11211)\b|cassandra|clickhouse|memcache|cockroach)[ -~]*(?:connection refused|econnrefused|connection to [ -~]* refused|could not connect|can'?t connect|cannot connect|unable to connect|failed to connect|error connecting|error [0-9]+ connecting|connection (?:was )?reset|econnreset|no route to host|connect timed out|connection timed out|lost connection|has gone away|server selection|no reachable servers|communications link failure|connection is not available|connection ?not ?established|connectionbad|network-related or instance-specific error)",
        Database,
        true,
        "a database client (named by its driver or port) cannot reach its server: it is the database that is down, and reconnecting to it is the remedy, even when the socket says refused",
        "Could not connect to Redis at 10.0.0.5:6379: Connection refused",
    ),
    rule(
        "db_unreachable_then_named",
        r"(?:connection refused|econnrefused|could not connect|can'?t connect|cannot connect|unable to connect|failed to connect|connection reset|server selection|communications link failure|lost connection)[ -~]*(?:\b(?:5432|3306|6379|27017|33060|9200|9042|11211)\b|postgres|mysql|mariadb|redis|mongo|elasticsearch|cassandra|clickhouse|memcache)",
        Database,
        true,
        "the same, with the database named after the refusal (`connect ECONNREFUSED 10.0.0.5:5432`)",
        "Error: connect ECONNREFUSED 10.2.0.8:5432",
    ),
    // Elasticsearch's error types name the request's fault before the
    // `search_phase_execution_exception` heading that wraps them.
    rule(
        "search_request_rejected",
        r#""type":"(?:illegal_argument_exception|mapper_parsing_exception|parsing_exception|x_content_parse_exception|query_shard_exception|document_parsing_exception|strict_dynamic_mapping_exception|action_request_validation_exception)""#,
        Validation,
        false,
        "Elasticsearch's request errors (`illegal_argument_exception`, `mapper_parsing_exception`, `query_shard_exception`, ...): the query or document is wrong, not the cluster",
        r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Result window is too large, from + size must be less than or equal to: [10000] but was [20050]."}],"type":"search_phase_execution_exception"},"status":400}"#,
    ),
    rule(
        "search_buckets_exhausted",
        r"too_many_buckets_exception|toomanybucketsexception|trying to create too many buckets",
        Resource,
        true,
        "Elasticsearch's `search.max_buckets` limit: the aggregation needs more buckets than the cluster allows, a resource limit",
        "org.elasticsearch.search.aggregations.MultiBucketConsumerService$TooManyBucketsException: Trying to create too many buckets. Must be less than or equal to: [65536] but was [65537].",
    ),
    rule(
        "db_server_state",
        r"mongoserverselectionerror|remaining connection slots are reserved|connection not available and request was dropped from queue|max number of clients reached|serverselectiontimeouterror|mongonetworkerror|\bloading redis is loading\b|\breadonly you can't write\b|\bclusterdown\b|\bmasterdown\b|too many connections|\berror 1040\b|\berror 1049\b|unknown database|\berror 1146\b|table [ -~]* doesn't exist|database [ -~]* does not exist|can't write against a read only (?:replica|slave)|pendingmigrationerror|migrations are pending|nohostavailable|search_phase_execution_exception|all shards failed|no_shard_available_action_exception|unavailable_shards_exception|primary shard is not active|allnodesfailedexception|all [0-9]+ node\(s\) tried for the query failed|all host\(s\) tried for query failed|health status changed from \[[a-z]+\] to \[red\]|not enough replicas available for query|cannot achieve consistency level",
        Database,
        true,
        "the database server's own state, objects or connection pool (Elixir's DBConnection queue included): a database matter",
        "ERROR 1049 (42000): Unknown database 'shop'",
    ),
    rule(
        "payload_rejected",
        r"jsondecodeerror|json\.decoder\.|invalid input syntax for|value too long for type|is out of range for type|data too long for column|incorrect [a-z]+ value: '|serializationexception|error deserializing|invalid literal for int\(\)|could not convert string to (?:float|int)|invalid character '[ -~]+' looking for beginning of value|recordtoolargeexception|message_too_large|messagesizetoolarge|client intended to send too large body|request entity too large|payload too large|is not one of \[|document failed validation",
        Validation,
        false,
        "the data itself is wrong (unparsable JSON, a number that is not one, a record over the size limit, a value outside its enum): retrying the same data fails the same way",
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    ),
    rule(
        "php_execution_time",
        r"maximum execution time of [0-9]+ seconds? exceeded",
        Timeout,
        false,
        "PHP stopped a script that ran past max_execution_time",
        "PHP Fatal error:  Maximum execution time of 30 seconds exceeded in /var/www/app/report.php on line 88",
    ),
    rule(
        "ci_job_time_limit",
        r"exceeded the maximum execution time of [0-9]+",
        Timeout,
        false,
        "the CI runner stopped a job that ran past its time limit (GitHub Actions' own wording)",
        "##[error]The job running on runner GitHub Actions 14 has exceeded the maximum execution time of 60 minutes.",
    ),
    rule(
        "cloud_internal_error",
        r"\(internal(?:error|failure|servererror)\) when calling|we encountered an internal error",
        Api,
        true,
        "the cloud API (AWS's SDKs and S3) failed on its side and said so: retry, it is not our request",
        "botocore.exceptions.ClientError: An error occurred (InternalError) when calling the PutObject operation (reached max retries: 4): We encountered an internal error. Please try again.",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::assert_categories;
    use super::*;

    #[test]
    fn rules_have_reasons_and_unique_names() {
        let mut names: Vec<&str> = FAMILIES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
        assert!(FAMILIES.iter().all(|r| r.reason.len() > 20));
    }

    /// Wordings the rules-4 work (blind set 3's misses) taught the
    /// families, each in the program's own format.
    #[test]
    fn other_versions_and_programs_say_it_their_way() {
        let cases: &[(&str, Category)] = &[
            // PostgreSQL refusing a host its pg_hba.conf does not list.
            (
                "psql: error: connection to server at \"10.0.0.7\", port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.3.4\", user \"app\", database \"shop\", no encryption",
                Authentication,
            ),
            // npm 10 writes `npm error` where npm 6-9 wrote `npm ERR!`.
            ("npm error code E404", Dependency),
            ("npm error code E401", Authentication),
            (
                "docker: Error response from daemon: pull access denied for acme/api, repository does not exist or may require 'docker login': denied: requested access to the resource is denied.",
                Authentication,
            ),
            (
                "NOPERM User reader has no permissions to run the 'flushall' command",
                Permission,
            ),
            (
                "redis.exceptions.NoPermissionError: User reader has no permissions to access one of the keys used in the command",
                Permission,
            ),
            (
                "operation basic.publish caused a channel exception access_refused: access to exchange 'orders' in vhost '/' refused for user 'svc'",
                Permission,
            ),
            (
                "SELinux is preventing /usr/sbin/nginx from name_connect access on the tcp_socket port 8080.",
                Permission,
            ),
            (
                "MongoServerError: Executor error during find command :: caused by :: Sort exceeded memory limit of 104857600 bytes, but did not opt in to external sorting.",
                Resource,
            ),
            (
                "MongoServerError: Transaction numbers are only allowed on a replica set member or mongos",
                Configuration,
            ),
            (
                "{\"level\":\"warn\",\"msg\":\"rejected connection\",\"error\":\"remote error: tls: bad certificate\"}",
                Authentication,
            ),
            (
                "com.datastax.oss.driver.api.core.servererrors.UnavailableException: Not enough replicas available for query at consistency QUORUM (2 required but only 1 alive)",
                Database,
            ),
            (
                "time=\"2026-12-02T14:01:07Z\" level=debug msg=\"'502 Bad Gateway' caused by: dial tcp 172.20.0.4:8080: connect: connection refused\"",
                Dependency,
            ),
            (
                "{\"level\":\"error\",\"logger\":\"http.log.error\",\"msg\":\"dial tcp 10.0.0.9:3000: connect: connection refused\",\"status\":502,\"err_trace\":\"reverseproxy.statusError (reverseproxy.go:1267)\"}",
                Dependency,
            ),
            (
                "ERROR: Cannot install -r requirements.txt (line 4) and urllib3==1.26.18 because these package versions have conflicting dependencies.",
                Dependency,
            ),
            (
                "npm error ERESOLVE could not resolve dependency: peer react@\"^17.0.0\" from react-dom@17.0.2",
                Dependency,
            ),
            // A repository out of reach is the network, whatever was resolving.
            (
                "│ Could not retrieve the list of available versions for provider hashicorp/aws: could not connect to registry.terraform.io: failed to request discovery document: Get \"https://registry.terraform.io/.well-known/terraform.json\": dial tcp: lookup registry.terraform.io on 10.0.0.2:53: no such host",
                Network,
            ),
            (
                "Could not transfer artifact junit:junit:pom:4.13.2 from/to central (https://repo.maven.apache.org/maven2): Connect to repo.maven.apache.org:443 [repo.maven.apache.org/151.101.0.215] failed: Connect timed out",
                Network,
            ),
            // A database host that does not resolve is the database.
            ("Error: getaddrinfo ENOTFOUND postgres", Database),
            (
                "MongoServerSelectionError: getaddrinfo ENOTFOUND mongo-0.mongo.data.svc.cluster.local",
                Database,
            ),
            (
                "dial tcp: lookup mysql-primary on 10.96.0.10:53: no such host",
                Database,
            ),
            // ... and any other host stays the network.
            ("Error: getaddrinfo ENOTFOUND api.stripe.com", Network),
        ];
        assert_categories(cases);
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
        assert_categories(cases);
    }

    /// Wordings the rules-5 work (blind set 4's misses) taught the
    /// families, each in the program's own format.
    #[test]
    fn rules_5_wordings_keep_their_families() {
        let cases: &[(&str, Category)] = &[
            (
                "ERROR 1227 (42000): Access denied; you need (at least one of) the SUPER privilege(s) for this operation",
                Permission,
            ),
            (
                "[Mon Dec 01 11:15:00.002311 2026] [mpm_event:error] [pid 1:tid 1] AH03490: scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit.",
                Resource,
            ),
            (
                "./server: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by ./server)",
                Dependency,
            ),
            (
                "error: package `tokio v1.40.0` cannot be built because it requires rustc 1.70 or newer, while the currently active rustc version is 1.65.0",
                Dependency,
            ),
            (
                "Error: The module '/app/node_modules/sharp/build/Release/sharp.node' was compiled against a different Node.js version using",
                Dependency,
            ),
            (
                "[2026-12-01 08:12:09,551: ERROR/MainProcess] Received unregistered task of type 'reports.tasks.build'.",
                Dependency,
            ),
            (
                "ERROR:    Error loading ASGI app. Could not import module \"app\".",
                Dependency,
            ),
            (
                "  file /usr/bin/foo from install of foo-2.1-1.el9.x86_64 conflicts with file from package foo-compat-1.9-3.el9.x86_64",
                Dependency,
            ),
            (
                "WARNING: fetching https://dl-cdn.alpinelinux.org/alpine/v3.20/community: network error (check Internet connection and firewall)",
                Network,
            ),
            (
                ";; communications error to 10.0.0.2#53: connection refused",
                Network,
            ),
            (
                "elastic_transport.ConnectionError: Connection error caused by: NewConnectionError(<urllib3.connection.HTTPConnection object>: Failed to establish a new connection: [Errno 111] Connection refused)",
                Database,
            ),
            (
                "ERROR mailer: STARTTLS failed: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)",
                Configuration,
            ),
            ("MongoServerError: Document failed validation", Validation),
            (
                "2026/12/01 10:09:12 [crit] 44#44: *1 connect() to unix:/run/php/php-fpm.sock failed (13: Permission denied) while connecting to upstream, client: 10.0.0.9",
                Permission,
            ),
            (
                "operation basic.publish caused a channel exception access_refused: write access to exchange 'billing' in vhost '/' refused for user 'worker'",
                Permission,
            ),
        ];
        assert_categories(cases);
    }
}
