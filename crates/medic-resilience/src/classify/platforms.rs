//! Platforms beyond issue 17's list: message brokers (Kafka, NATS,
//! ZooKeeper), job runners (Celery, Airflow, Spark/YARN, Nomad, Jenkins),
//! Kerberos, NFS, volume managers and object stores, and the container
//! runtimes' own setup errors, each in the program's own words.
//!
//! These are tried first of all the narrow lists: each names its program's
//! message exactly, so where a broad family rule also matches (ZooKeeper's
//! `Too many connections from /10.0.7.42 - max is 60` is not a database's
//! connection limit), the program's meaning wins.

use super::category::Category::{
    Authentication, Configuration, Database, Dependency, Network, Permission, Resource, Timeout,
};
use super::families::{FamilyRule, rule};

/// The rules, tried before the families.
pub(crate) const PLATFORMS: &[FamilyRule] = &[
    // --- brokers and coordination ---
    rule(
        "coordination_session_expired",
        r"sessionexpiredexception|keepererrorcode = session expired|missed heartbeats from (?:client|server)",
        Timeout,
        true,
        "ZooKeeper expired the session, or RabbitMQ missed heartbeats: the peer went quiet for longer than the agreed timeout",
        "org.apache.zookeeper.KeeperException$SessionExpiredException: KeeperErrorCode = Session expired for /hbase/rs",
    ),
    rule(
        "coordination_client_limit",
        r"too many connections from /?[0-9a-f.:]+ - max is [0-9]+|pooler error: no more connections allowed|\(max_client_conn\)",
        Resource,
        true,
        "ZooKeeper's per-host `maxClientCnxns` or PgBouncer's `max_client_conn` was reached: a connection limit of the broker or pooler, not the database behind it",
        "2026-12-01 09:40:12,004 [myid:3] - WARN  [NIOServerCxnFactory.AcceptThread:0.0.0.0/0.0.0.0:2181:NIOServerCnxnFactory$AcceptThread@290] - Too many connections from /10.0.7.42 - max is 60",
    ),
    rule(
        "broker_unreachable",
        r"nobrokersavailable|no servers available for connection|bootstrap broker [ -~]+ disconnected|cannot contact any kdc for realm|nfs: server [ -~]+ not responding",
        Network,
        true,
        "the client reached none of the brokers or servers it knows (Kafka, NATS, a Kerberos KDC, an NFS server): the path to them, or them being down",
        "kafka.errors.NoBrokersAvailable: NoBrokersAvailable",
    ),
    // A log or telemetry shipper names its sink (Elasticsearch on 9200)
    // while it retries: the sink is the service that must come back, not
    // a database the shipper uses.
    rule(
        "shipper_sink_unreachable",
        r"failed to flush the buffer|exporting failed\. will retry|attempted to resurrect connection to dead es instance",
        Dependency,
        true,
        "a log or telemetry shipper (Fluentd, the OpenTelemetry Collector, Logstash) could not deliver to its sink and keeps retrying: the sink must come back, whatever socket error it names",
        "2026-12-01 09:41:02 +0000 [warn]: #0 failed to flush the buffer. retry_times=4 next_retry_time=2026-12-01 09:41:19 +0000 chunk=\"60f1c2a3b4d5e6f7\" error_class=Errno::ECONNREFUSED error=\"Connection refused - connect(2) for \\\"es.logging.svc\\\" port 9200\"",
    ),
    rule(
        "broker_permission",
        r"permissions violation for (?:publish|subscribe)|resource not accessible by (?:integration|personal access token)|^denied: requested access to the resource is denied",
        Permission,
        false,
        "the broker or API knows the account and refuses it this subject, repository or resource (NATS permissions, a GitHub token's scopes, a registry push): a grant fixes it",
        "nats: Permissions Violation for Publish to \"billing.invoices.created\"",
    ),
    rule(
        "broker_slow_consumer",
        r"slow consumer detected",
        Resource,
        true,
        "NATS dropped a consumer that could not keep up with its pending bytes: the consumer's capacity, not a timeout",
        "[1] 2026/12/01 10:05:09.331102 [INF] 10.0.3.15:40112 - cid:301 - Slow Consumer Detected: WriteDeadline of 10s exceeded with 4312 chunks of 67108864 total bytes.",
    ),
    // --- job runners: killed for memory, or waiting for a place to run ---
    rule(
        "job_killed_for_memory",
        r"killed by yarn for exceeding (?:physical|virtual) memory|exited with 'signal 9 \(sigkill\)'|worker exited prematurely: signal 9|return code negsignal\.sigkill|dimension \x22memory\x22 exhausted|resources exhausted on [0-9]+ nodes?",
        Resource,
        true,
        "the scheduler killed the task (SIGKILL, YARN's memory check) or found no node with the memory to place it: memory, not the task's code",
        "26/12/01 04:12:09 WARN YarnAllocator: Container killed by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used.",
    ),
    rule(
        "service_not_ready",
        r"server not initialized yet|name ?node is in safe mode|safemodeexception|service entered failfast|no backend connection|backend fetch failed|still waiting to schedule task|there are no nodes with the label|error during connect: [ -~]*(?:pipe|docker\.sock)",
        Dependency,
        true,
        "the service the job needs is up but not serving (MinIO initialising, HDFS in safe mode, Linkerd failing fast, a Varnish backend, a Jenkins agent offline, the Docker engine not started): waiting or starting it fixes it",
        "org.apache.hadoop.hdfs.server.namenode.SafeModeException: Cannot create file/tmp/staging/job.xml. Name node is in safe mode.",
    ),
    rule(
        "job_setup",
        r"the conn_id `[a-z0-9_.-]+` isn't defined|did not resolve to an alias and no unqualified-search registries|systemd cgroup flag passed|cgroup driver [ -~]*(?:does not match|misconfigur)|unit [ -~]+ is masked|is not valid yet \(invalid for another|optionsvalidationexception|^validating [ -~]+\.ya?ml: |(?:failed|unable) to parse [ -~]*(?:config|\.toml\b|\.ya?ml\b|\.ini\b)|the related configuration data for the page is invalid|limit of total fields \[[0-9]+\] has been exceeded|got a packet bigger than 'max_allowed_packet'|\bmoved [0-9]+ [0-9a-z.-]+:[0-9]+",
        Configuration,
        false,
        "a setting a person wrote is missing or wrong (an Airflow connection, podman's registries, the cgroup driver, a masked unit, the clock apt trusts, .NET options, a compose or TOML file, IIS's web.config, an index's field limit, MySQL's `max_allowed_packet`, a client that is not cluster-aware for Redis' MOVED)",
        "airflow.exceptions.AirflowNotFoundException: The conn_id `warehouse_snowflake` isn't defined",
    ),
    rule(
        "download_not_found",
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+ error 404: not found\.|the requested url returned error: 404",
        Configuration,
        false,
        "wget or curl fetched a URL that names nothing (404): the URL or version in the script is wrong, and fetching it again fails the same way",
        "2026-12-01 06:00:02 ERROR 404: Not Found.",
    ),
    // --- identity ---
    rule(
        "kerberos_clock",
        r"clock skew too great|krb_ap_err_skew|remote host identification has changed|host key verification failed|id token issued by a different provider",
        Configuration,
        false,
        "Kerberos refuses a clock too far off, ssh a changed host key, OIDC a token from another issuer: the host's or client's setup, not the password",
        "kinit: Clock skew too great while getting initial credentials",
    ),
    rule(
        "kerberos_credentials",
        r"gss initiate failed|no valid credentials provided|failed to find any kerberos tgt|preauthentication failed|:bad decrypt:|could not find private key from",
        Authentication,
        false,
        "no valid Kerberos ticket, or a wrong pass phrase for a key: the credentials",
        "javax.security.sasl.SaslException: GSS initiate failed [Caused by GSSException: No valid credentials provided (Mechanism level: Failed to find any Kerberos tgt)]",
    ),
    rule(
        "files_not_writable",
        r"authentication refused: bad ownership or modes|giving the web server write access|\bis not writ(?:e)?able\b",
        Permission,
        false,
        "the process may not use a file or directory for its owner or mode (sshd's StrictModes, a web server's data directory): a permission fix",
        "Dec  1 09:40:02 web-2 sshd[4412]: Authentication refused: bad ownership or modes for directory /home/deploy/.ssh",
    ),
    // --- storage ---
    rule(
        "storage_full",
        r"insufficient free space: [0-9]+ extents needed|\bout of space\b|wrote only [0-9]+ of [0-9]+ bytes|\) index full, reach max htree level|minimum free drive threshold|too large archive",
        Resource,
        false,
        "a volume group, pool, drive set, directory index or artifact quota has no room left (LVM, ZFS, tar's short write, ext4's full directory index, MinIO, GitLab's artifact size): more space, or less data",
        "  Insufficient free space: 10240 extents needed, but only 2047 available",
    ),
    rule(
        "nfs_stale",
        r"stale (?:nfs )?file handle|\bestale\b",
        Dependency,
        true,
        "the NFS server no longer knows the file the client holds (an export changed or the server restarted): remounting fixes it",
        "stat /mnt/shared/reports/2026-12.csv: stale NFS file handle",
    ),
    rule(
        "oracle_unreachable",
        r"the network adapter could not establish the connection|\bora-125(?:41|14|43|37)\b|\bora-12170\b",
        Database,
        true,
        "the Oracle listener could not be reached or knows no such service (ORA-125xx): the database is what is down",
        "java.sql.SQLRecoverableException: IO Error: The Network Adapter could not establish the connection",
    ),
];
