//! General wordings: failures that many programs describe the same way, so
//! one rule reads them in software the catalog has never seen. A memory
//! limit reached, a storage quota or a queue full, a time limit exceeded, a
//! password rejected, a bucket, unit or build target that does not exist, a
//! package set no resolver can satisfy.
//!
//! Each rule names the principle (a limit, a missing name) rather than one
//! program's sentence, and keeps to wordings that are failures wherever
//! they appear: a reached memory limit is never healthy, a `... not found`
//! is only read where it names a kind of object that setup creates.
//!
//! Tried after the documented enumerations (`codes.rs`, which know a
//! program's own code better) and the program bugs, before the banners and
//! the general catalog, whose broad words (`invalid`, `not found`, `quota`,
//! `config`) these rules shadow.

use super::category::Category::{
    Authentication, Configuration, Database, Dependency, Network, Permission, Resource, Timeout,
    Validation,
};
use super::families::{FamilyRule, rule};

/// The rules, tried after the program bugs.
pub(crate) const GENERAL: &[FamilyRule] = &[
    // --- limits reached ---
    rule(
        "memory_limit_reached",
        r"(?:exceed(?:ed|ing|s)?|reached|above|beyond) (?:the |its |an? )?(?:allowed |per-node |per-query |hard |soft |configured |maximum |max )?memory (?:limit|quota)|memory (?:limit|quota) (?:has been |was |is )?(?:reached|exceeded)|memory usage is above (?:the )?(?:hard |soft )?limit|refused due to high memory usage|memory[-_](?:size|limit|quota) exceeded|memorypooloutofmemoryerror",
        Resource,
        true,
        "a memory limit or quota of the program itself was reached (a query engine's per-query limit, a broker's memory usage limit, a collector's memory limiter, a cache's maximum size): memory ran out, however the program words it",
        "Query 20261201_101233_00042_k8x2p failed: Query exceeded per-node memory limit of 16GB [Allocated: 16.00GB, Delta: 4.1MB]",
    ),
    rule(
        "storage_quota_full",
        r"(?:backlog|storage|mailbox|space|inode) quota (?:is )?(?:exceeded|reached|full)|mailbox (?:for user )?is full|quota exceeded \(mailbox|max-disk-usage|(?:storage|disk) usage [ -~]{0,60}(?:beyond|above|exceeds?) (?:the )?(?:configured|allowed|maximum)|insufficient (?:storage|disk space)\b",
        Resource,
        true,
        "a storage quota or a disk-usage limit was reached (a mailbox, a topic's backlog, a broker's max disk usage, a volume's replicas): space, not a request rate",
        "Dec  1 14:02:55 mail-2 dovecot: lmtp(dave)<5511><Pq9z>: save failed to INBOX: Quota exceeded (mailbox for user is full)",
    ),
    rule(
        "queue_or_buffer_full",
        r"bufferoverflowerror|buffer space has too many data|(?:sending_queue|sending queue|send queue|buffer|queue) is full|too many inflight messages|simplequeueservice\.overlimit|running out of file ?descriptors|increas(?:e|ing) the number of file descriptors|table full, dropping packet|neighbou?r table overflow|noresourceavailableexception|could not acquire the minimum required resources",
        Resource,
        true,
        "a queue, buffer or table of fixed size is full (a shipper's buffer, an exporter's sending queue, in-flight messages, file descriptors, the kernel's conntrack table, a job's task slots): capacity, not a broken peer",
        "2026-12-01 10:15:22 +0000 [warn]: #0 emit transaction failed: error_class=Fluent::Plugin::Buffer::BufferOverflowError error=\"buffer space has too many data\"",
    ),
    rule(
        "lock_held_elsewhere",
        r"repository is already locked|already locked by (?:pid|process|another)|failed to create/acquire the lock|another operation \([a-z/]+\) is in progress|already another instance using the configured data directory|resource_locked - cannot obtain exclusive access",
        Resource,
        true,
        "another run holds the lock (a backup repository, a Helm release, a data directory, an exclusive queue): it frees when that run ends or the stale lock is removed",
        "unable to create lock in backend: repository is already locked by PID 881 on backup-02 by root (UID 0, GID 0)",
    ),
    // --- time limits ---
    rule(
        "time_limit_exceeded",
        r"(?:exceeded|exceeding|exceeds) (?:the )?(?:maximum |max |allowed )?(?:execution|run|running|query|statement) ?time(?: limit)?\b|maximum (?:statement )?execution time (?:of [ -~]{1,20} )?exceeded|expired before completing|iterator expired|did not respond in (?:the )?given time|did not respond within",
        Timeout,
        true,
        "the operation ran past a time limit (a query's or statement's maximum execution time, a checkpoint that expired, a worker that did not answer in time): a timeout, whatever the engine",
        "ERROR 3024 (HY000): Query execution was interrupted, maximum statement execution time exceeded",
    ),
    // --- credentials ---
    rule(
        "password_rejected",
        r"(?:user ?name|username|user|login)(?: \[[ -~]{1,60}\])? or password (?:is |was )?(?:invalid|incorrect|wrong)|invalid (?:user ?name|username|login)/password|\bwrong password\b|\bbad password\b|password (?:did not match|mismatch|is incorrect|is invalid)|\baccount (?:is |has been )?locked\b|authentication(?:failure|failed)(?:exception|error)\b",
        Authentication,
        false,
        "the password or the account was refused (a wrong password, a locked account, a bad user name), in any program's words: the credentials",
        "javax.jms.JMSSecurityException: User name [svc-billing] or password is invalid.",
    ),
    rule(
        "request_forgery_check",
        r"'_xsrf' argument missing|xsrf cookie does not match|csrf verification failed|csrf token (?:missing|mismatch|invalid)",
        Authentication,
        false,
        "the server's cross-site request forgery check refused the request (no or a stale XSRF/CSRF token): the client's session, not its permissions",
        "[W 2026-12-01 10:41:22.331 ServerApp] 403 POST /api/contents/notes.ipynb (10.0.0.44): '_xsrf' argument missing from POST",
    ),
    // --- privileges ---
    rule(
        "privilege_missing",
        r"is not authorized to perform: [a-z0-9-]+:[a-z0-9*]+|no identity-based policy allows|with an explicit deny in an? [a-z -]+ policy|does not have [a-z ]{1,40} privileges? on|the [a-z]+ permission was denied on the object|(?:read|write|open) error, check permissions|requires (?:net|read|write|env|run|ffi|sys|import) access to",
        Permission,
        false,
        "the caller is known and lacks a grant (an IAM policy, a database privilege, a file mode, Deno's `--allow-*` flags): a grant fixes it, not new credentials",
        "User: arn:aws:sts::123456789012:assumed-role/etl/i-0ab1 is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::exports/x because no identity-based policy allows the s3:PutObject action",
    ),
    // --- names that do not exist ---
    rule(
        "named_resource_missing",
        r#"\b[a-z]*(?:bucket|queue|topic|stream|namespace|vhost|keyspace|warehouse)(?:notfound|doesnotexist)(?:exception|error)?\b|\bnonexistentqueue\b|\bresourcenotfoundexception\b|\bnosuchbucket\b|\b(?:bucket|queue|topic|warehouse|vhost|keyspace) (?:\[[ -~]{1,80}\]|'[ -~]{1,80}'|"[ -~]{1,80}"|[!-~]{1,80}) (?:not found|does not exist)|no active warehouse selected|could not find profile named"#,
        Configuration,
        false,
        "a bucket, queue, topic, warehouse or profile the program is set up to use does not exist: its name or the setup is wrong, whatever the datastore or broker",
        "com.couchbase.client.core.error.BucketNotFoundException: Bucket [sessions-v3] not found.",
    ),
    rule(
        "definition_missing",
        r#"serviceaccounts? "[ !#-~]+" not found|no matches for kind "[ !#-~]+" in version|unable to resolve action `|remote branch [!-~]+ not found in upstream|\bunit [!-~]+\.(?:service|socket|timer|mount|target|path|slice) (?:not found|could not be found)|script not found "|missing script: |no rule to make target '[ -&(-~]+'\. +stop|task '[ -&(-~]+' not found in (?:root )?project|\bno such target '|no chain/target/match by that name|could not process rule: no such file or directory|depends on undefined service|invalid compose project|no profiles for '[ -&(-~]+' were found|unable to find a destination matching"#,
        Configuration,
        false,
        "a name the definition refers to does not exist (a service account, an API kind, a CI action or branch, a systemd unit, a script or make target, a firewall chain, a compose service, a signing profile): the definition is wrong",
        "Failed to start ledger-sync.service: Unit ledger-sync.service not found.",
    ),
    rule(
        "settings_file_unusable",
        r"(?:open|load|read|parse) [!-~]*\.(?:ya?ml|toml|ini|conf|cfg|properties): no such file or directory|failed to load [!-~]+\.(?:toml|ya?ml|ini|conf|cfg|properties)$|at <\.values\.[a-z0-9_.]+>: nil pointer evaluating|private key does not match (?:the )?(?:public key|certificate)|key values mismatch|unable to find a keyring|failed to load '[ -&(-~]+' version [0-9]+: invalid argument|messageencryptor::invalidmessage|primary script unknown|does not have a release file|wrong fs type, bad option, bad superblock|upstream sent too big header|since poetry\.lock was last generated|version [ -~]{1,60} is not in the allowed range|are you trying to mount a directory onto a file",
        Configuration,
        false,
        "a settings file, key or value the program was given is missing or does not fit (a values file, a chart value, a key that does not match its certificate, a keyring, a model's config, a document root, a mount option or a bind mount of the wrong kind, a stale lock file, a required JDK): the setup, not the software",
        "Error: template: web/templates/service.yaml:12:18: executing \"web/templates/service.yaml\" at <.Values.service.port>: nil pointer evaluating interface {}.port",
    ),
    // --- what the build or the runtime needs ---
    rule(
        "dependency_set_unsatisfied",
        r"version solving failed|solverproblemerror|could not find compatible versions for pod|packagesnotfounderror|are not available from current channels|unsatisfiableerror|\bnu110[12]\b|\bnu1605\b|detected package downgrade|found, but does not contain package|cannot find module providing package|module not found \x22|fatal error: [!-~]+\.h(?:pp)?: no such file or directory|fatal error: '[!-~]+\.h(?:pp)?' file not found|could not find a file system implementation for scheme|err_ossl_evp_unsupported|digital envelope routines::unsupported|integrity checksum failed when using|no kernel image is available for execution|cuda driver version is insufficient|could not select device driver \x22[ !#-~]*\x22 with capabilities|rtnetlink answers: operation not supported|err unknown command '[a-z0-9]+\.[a-z0-9]+'",
        Dependency,
        false,
        "what the program needs is not there in a usable version (no package set satisfies the constraints, a header, module or plugin is missing, the runtime's OpenSSL, GPU driver or kernel module does not fit): the dependencies, not the program's settings",
        "Because app depends on both requests (^2.31) and legacy-client (1.2.0) which depends on requests (<2.0), version solving failed.",
    ),
    // --- peers out of reach ---
    rule(
        "peer_out_of_reach",
        r"\bunknownhostexception\b|\bunknown host: [a-z0-9.-]+|http 000 connection failed|retry time not reached for any host|has not responded in [0-9]+ seconds|tls key negotiation failed to occur within",
        Network,
        true,
        "the peer could not be reached at all (a host name that does not resolve, no answer to the handshake, a mail host still deferred): the path to it",
        "ERROR: Error downloading [https://repo1.maven.org/maven2/x.jar]: Unknown host: repo1.maven.org",
    ),
    rule(
        "cluster_degraded",
        r"all subvolumes are down|no agents are connected that match",
        Dependency,
        true,
        "every member a volume or a pipeline needs is gone (GlusterFS's subvolumes, a CI system's matching agents): those members must come back",
        "[2026-12-01 12:14:33.118331 +0000] E [MSGID: 108006] [afr-common.c:6140:__afr_handle_child_down_event] 0-vol1-replicate-0: All subvolumes are down. Going offline until at least one of them comes back up.",
    ),
    // --- datastores' own transient states ---
    rule(
        "database_conflict",
        r"conflict with recovery|result is ambiguous|transactionconflict|transactionretry(?:withprotorefresh)?error|wsrep has not yet prepared node|ssl syscall error: eof detected|\bbusy redis is busy running a script",
        Database,
        true,
        "the database itself refused or lost the transaction for its own reasons (a replica's recovery, an ambiguous commit, a transaction conflict, a Galera node not ready, a server busy with a script): the database, often transient",
        "ERROR:  canceling statement due to conflict with recovery",
    ),
    // --- versions and installations that do not fit ---
    rule(
        "version_incompatible",
        r#"server version mismatch|requires (?:go|php|node(?:\.js)?|python|ruby|java|jdk|rust|rustc|cmake|gradle|maven) (?:version )?(?:>=|[0-9]|"[<>=]|\^)|require a (?:php|node|python|ruby) version|unsupported class file major version|invalid (?:source|target) release: [0-9]|client version [0-9.]+ is too (?:new|old)|maximum supported api version is|requires newer sdk version|install_failed_older_sdk|unsupportedversionexception"#,
        Dependency,
        false,
        "two parts that must agree on a version do not (a dump tool older than its server, a toolchain or runtime below what the project requires, a client newer than the daemon's API, an SDK level, a compiled extension built against another ABI): install the matching version",
        "go: go.mod requires go >= 1.23.0 (running go 1.22.4; GOTOOLCHAIN=local)",
    ),
    rule(
        "native_part_missing",
        r#"(?:unable to load|error loading|cannot load|could not load) (?:shared library|native module)\b|dllnotfoundexception|couldn't find a valid icu package|failed to find lib[a-z0-9_+-]+|cannot run program "[!#-~]+": error=2|unable to execute [!-9;-~]+: no such file or directory|command '[!-&(-~]+' failed: no such file or directory|is `[a-z0-9_+.-]+` not installed\?|could not find and/or execute program"#,
        Dependency,
        false,
        "a program, shared library or native module the code calls is not installed where it looks (a codec binary, a C library for a binding, a compiler for a native build, a filter program): install it in the image or host",
        "java.io.IOException: Cannot run program \"convert\": error=2, No such file or directory",
    ),
    rule(
        "package_unavailable",
        r#"can't locate [!-~]+\.pm in @inc|distributionnotfound|no versions available for|can no longer be found in that source|requires the runtime [!-~]+ which was not found|feature definition could not be found|could not resolve plugin artifact|was not found in any of the following sources|error downloading [a-z0-9_.-]+:[a-z0-9_.-]+:[0-9]|could not satisfy dependencies|breaks dependency '|conflicting files\)|dependency convergence error|failed to construct a build plan|dependency problems prevent configuration"#,
        Dependency,
        false,
        "a package the build or install asks for cannot be had (no release of it in the sources, a yanked version, a runtime or plugin the repositories do not carry, two packages that conflict): the dependency set, not the network",
        "Can't locate Text/CSV_XS.pm in @INC (you may need to install the Text::CSV_XS module)",
    ),
    rule(
        "artifact_not_trusted",
        r#": checksum mismatch\b|checksum for `[!-_a-~]+ [!-_a-~]+` changed between lock files|signatures (?:were|was) invalid|\bexpkeysig\b|untrusted signature|signature from "[ !#-~]+" is unknown trust|\(pgp signature\)\)"#,
        Configuration,
        false,
        "a downloaded artifact does not match the checksum or signature the setup pins or trusts (a go.sum or lock-file hash, an expired or unknown repository key): the pins or keyring must be updated, and a real mismatch investigated",
        "verifying golang.org/x/net@v0.25.0: checksum mismatch",
    ),
    rule(
        "artifact_wrong_kind",
        r"exec format error|no main manifest attribute",
        Configuration,
        false,
        "the file the setup starts is not a runnable program for this host (a binary for another CPU architecture, a jar without a Main-Class): the image or the build settings",
        "exec /app/server: exec format error",
    ),
    // --- settings missing or wrong ---
    rule(
        "setting_required",
        r#"parameter null or not set|config property [!-~]+ is required|is required but it could not be found|: required value\b|\bvalue is invalid: a value is required"#,
        Configuration,
        false,
        "a setting the program needs was never given (a shell `${VAR:?}`, a required config property or manifest field, a secret key or provider nobody configured): set it",
        "/entrypoint.sh: line 4: DATABASE_URL: parameter null or not set",
    ),
    rule(
        "setting_rejected",
        r#"invalid value for parameter "|invalid value for "--|has a bad unit file setting|bad option at line [0-9]+|error during parsing file|encountered unknown tag|no subnet declaration for|loading from master file [!-~]+ failed|is invalid: [!-9;-~]+: (?:required|unsupported|invalid|forbidden) value|secrets? "[!#-~]+" not found|configmaps? "[!#-~]+" not found"#,
        Configuration,
        false,
        "the program read its settings and one is wrong or points at nothing (a parameter value, a unit file, a line of a config file, a manifest field, a secret or config map that is not there): fix the setting",
        "Dec 02 09:14:01 gw dnsmasq[811]: bad option at line 3 of /etc/dnsmasq.conf",
    ),
    rule(
        "placement_unsatisfiable",
        r"volume node affinity conflict|didn't match pod's node affinity|scheduling constraints not satisfied",
        Configuration,
        false,
        "the scheduler has capacity but the workload's own constraints rule every node out (node affinity, a volume pinned to another zone, placement constraints): the constraints, not more nodes",
        "0/4 nodes are available: 4 node(s) had volume node affinity conflict.",
    ),
    rule(
        "object_already_exists",
        r"error 1050 \(42s01\)|hostalreadyclaimed",
        Configuration,
        false,
        "setup tried to create what is already there (a migration's table, a route's host another route claimed): the migration or deployment state is out of step",
        "ERROR 1050 (42S01) at line 3: Table 'orders' already exists",
    ),
    // --- capacity of the host or the platform ---
    rule(
        "space_exhausted",
        r"(?:don't|do not) have enough free space|\berror_disk_full\b|min-free-space-percent [!-~]+ would be exceeded|nodes with low disk space|nodehasdiskpressure|reclaim ephemeral-storage|exceeds the repository size limit",
        Resource,
        false,
        "the disk or a size limit is full (free space below what an install or a write needs, a node under disk pressure, a repository above its size limit): free space or raise the limit",
        "E: You don't have enough free space in /var/cache/apt/archives/.",
    ),
    rule(
        "memory_refused",
        r"failed to allocate memory|\bnomemoryerror\b|cannot allocate enough memory|heap exhausted|over memstore limit|regiontoobusyexception|breached stop-writes limit|lock table size",
        Resource,
        true,
        "a process or a store ran out of memory it may use (an allocation refused, a heap at its maximum, a region over its memstore, a namespace at its stop-writes mark, a lock table full): memory, however it is worded",
        "app: Heap exhausted; Current maximum heap size is 1073741824 bytes (1024 MB).",
    ),
    rule(
        "platform_capacity_exhausted",
        r"insufficientinstancecapacity|not have sufficient [a-z0-9.]+ capacity|does not have enough resources available|no valid host was found|not enough hosts available|no available port could be found|quota exceeded for (?:cores|instances|ram|volumes|gigabytes|snapshots|floating|ports|networks)|exceeding approved [a-z ]+ quota|query capacity exceeded|too many concurrent queries|no resources currently available in pool",
        Resource,
        true,
        "the platform has no more of something counted (instances in a zone, hosts, ports, cores under a quota, query slots, pooled connections): capacity, not a rate of requests",
        "Quota exceeded for instances: Requested 2, but already used 10 of 10 instances (HTTP 403)",
    ),
    rule(
        "exclusive_lock_taken",
        r"failed to acquire lock on file|could not set lock on file|conflicting lock is held|could not create lock for|could not lock database: file exists|system management is locked by|has running apps \(",
        Resource,
        true,
        "another process holds what this one needs alone (a data directory's lock file, a package manager's database, a running app an update must replace): it frees when that process ends, or a stale lock is removed",
        "error: could not lock database: File exists",
    ),
    // --- datastores' own state ---
    rule(
        "datastore_unavailable",
        r#"could not read block [0-9]+ in file|could not open file "base/|\bnoreplicas\b|\btryagain multiple keys|failover-abort|coordinator\(s\) have no record of this database|the database is unavailable|transaction is too old|notservingregionexception|failed to create a backend [0-9]+ connection|could not create pool connection for datasource|failed to obtain/create connection from connection pool|error establishing a database connection"#,
        Database,
        true,
        "the database itself cannot serve (a data file it cannot read, too few replicas, a failover that did not complete, a region offline, a coordinator without the cluster, a pool that cannot open connections to it): the database must come back",
        "<h1>Error establishing a database connection</h1>",
    ),
    // --- the file's own mode ---
    rule(
        "mode_refused",
        r"has invalid permissions|permissions should be u=|is not allowed to do action",
        Permission,
        false,
        "a file's mode or a role's grant is not what the program requires (a data directory open to the group, a database user without the action): change the mode or the grant",
        "FATAL:  data directory \"/srv/pg/data\" has invalid permissions",
    ),
    // --- input the program cannot decode ---
    rule(
        "input_not_decodable",
        r"unicode(?:decode|encode)error|invalid continuation byte|invalid byte sequence for encoding|field type conflict|string or binary data would be truncated",
        Validation,
        false,
        "the input does not fit (bytes that are not valid text in the expected encoding, a field of another type, a value longer than its column): the data, not the program",
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 14: invalid continuation byte",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::{assert_categories, match_catalog};
    use super::*;

    #[test]
    fn the_same_failure_in_other_programs_words() {
        assert_categories(&[
            (
                "ERROR 8175 (HY000): Your query has been cancelled due to exceeding the allowed memory limit for a single SQL query.",
                Resource,
            ),
            (
                "Usage Manager Memory Limit reached. Producer stopped to prevent flooding queue://q",
                Resource,
            ),
            (
                "org.apache.pulsar.client.api.PulsarClientException$ProducerBlockedQuotaExceededError: Cannot create producer on topic with backlog quota exceeded",
                Resource,
            ),
            (
                "Dropping data because sending_queue is full. Try increasing queue_size.",
                Resource,
            ),
            (
                "Query 20261201_110214_00911_p2q7r failed: Query exceeded the maximum execution time limit of 1.00h",
                Timeout,
            ),
            ("Fatal: wrong password or no key found", Authentication),
            ("ORA-28000: The account is locked.", Authentication),
            (
                "com.couchbase.client.core.error.AuthenticationFailureException: bucket",
                Authentication,
            ),
            (
                "pq: user app does not have CREATE privilege on database ledger",
                Permission,
            ),
            (
                "botocore.errorfactory.QueueDoesNotExist: An error occurred (AWS.SimpleQueueService.NonExistentQueue)",
                Configuration,
            ),
            (
                "org.apache.pulsar.client.api.PulsarClientException$TopicDoesNotExistException: Topic persistent://a/b/c does not exist",
                Configuration,
            ),
            ("npm error Missing script: \"start\"", Configuration),
            (
                "make: *** No rule to make target 'install'.  Stop.",
                Configuration,
            ),
            (
                "src/tls.h:3:10: fatal error: openssl/ssl.h: No such file or directory",
                Dependency,
            ),
            (
                "PackagesNotFoundError: The following packages are not available from current channels:",
                Dependency,
            ),
            ("java.net.UnknownHostException: repo.example.org", Network),
            (
                "TransactionCanceledException: Transaction cancelled [None, TransactionConflict]",
                Database,
            ),
            // Versions and installations that do not fit.
            (
                "mysqldump: Couldn't execute 'SHOW VARIABLES': server version mismatch (8.4 > 8.0)",
                Dependency,
            ),
            (
                "error: This project requires Node.js version >=20.11 (found 18.19.0)",
                Dependency,
            ),
            (
                "Unable to load shared library 'libSkiaSharp' or one of its dependencies.",
                Dependency,
            ),
            (
                "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory",
                Dependency,
            ),
            (
                "Can't locate DBD/Pg.pm in @INC (you may need to install the DBD::Pg module)",
                Dependency,
            ),
            (
                "error: failed to prepare transaction (could not satisfy dependencies)",
                Dependency,
            ),
            (
                "W: GPG error: https://repo.example.org stable InRelease: The following signatures were invalid: EXPKEYSIG 1A2B3C4D",
                Configuration,
            ),
            (
                "standard_init_linux.go:228: exec user process caused: exec format error",
                Configuration,
            ),
            // Settings missing or wrong.
            (
                "start.sh: line 3: REDIS_URL: parameter null or not set",
                Configuration,
            ),
            (
                "SRCFG00014: The config property app.api.key is required but it could not be found in any config source",
                Configuration,
            ),
            (
                "LOG:  invalid value for parameter \"max_connections\": \"lots\"",
                Configuration,
            ),
            (
                "The Deployment \"web\" is invalid: spec.template.spec.containers[0].image: Required value",
                Configuration,
            ),
            (
                "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector.",
                Configuration,
            ),
            // Capacity of the host or the platform.
            (
                "[FATAL] failed to allocate memory for the page cache",
                Resource,
            ),
            (
                "InsufficientInstanceCapacity: We currently do not have sufficient m5.large capacity in the Availability Zone you requested",
                Resource,
            ),
            (
                "org.apache.kafka.common.KafkaException: Failed to acquire lock on file .lock in /data/kafka",
                Resource,
            ),
            // The database's own state, a file's own mode.
            (
                "ERROR:  could not read block 12 in file \"base/16384/16412\": read only 0 of 8192 bytes",
                Database,
            ),
            (
                "FATAL:  data directory \"/var/lib/pgsql/data\" has invalid permissions",
                Permission,
            ),
        ]);
    }

    #[test]
    fn look_alikes_that_are_not_these_failures() {
        for text in [
            "memory limit: 512Mi",
            "queue depth 0, buffer 12% used",
            "No rule to make target 'src/x.o', needed by 'app'.  Stop.",
            "Error: failed to load /etc/app/app.toml: Permission denied (os error 13)",
            "NOTICE:  relation \"orders\" already exists, skipping",
            "INFO no proxy is configured, connecting directly",
            "ERROR: Unable to lock database: Permission denied",
            "Requires: python3 >= 3.9, openssl-libs",
            "WARN Failed to load native library: lz4-java, falling back to pure Java",
            "Package 'libfoo-dev' is not installed, so not removed",
            "level=warn msg=\"smtp has not been configured, alert emails disabled\"",
            "HTTP 400 Bad Request: invalid value for field 'email'",
            "Note (Code 1050): Table 'sessions' already exists",
            "RuntimeWarning: numpy.ndarray size changed, may indicate binary incompatibility",
            "DHCPDISCOVER from 3c:52:82:1a:2b:3c via eth1: network 10.20.0.0/22: no free leases",
            "HTTP 413: Request body exceeds the maximum size limit",
        ] {
            let hit = match_catalog(text).map(|p| p.name);
            assert!(
                !GENERAL.iter().any(|rule| Some(rule.name) == hit),
                "{text}: {hit:?}"
            );
        }
    }
}
