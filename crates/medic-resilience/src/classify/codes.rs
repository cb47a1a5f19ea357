//! Documented enumerations: gRPC's canonical status codes, exception class
//! names by what they mean, errno names, Kubernetes event reasons, Envoy's
//! response flags and HAProxy's termination states, systemd's exit statuses,
//! IIS's sub-statuses, and the error numbers of databases (SQLSTATE, Oracle,
//! SQL Server, TiDB), AMQP's reply codes, OAuth's and Okta's error codes,
//! Windows' logon statuses, IKE's notify types, Ceph's health checks, Squid's
//! result codes and the cloud load balancers' log fields.
//!
//! Each rule covers a whole published list rather than one wording, so a
//! program the catalog has never seen is still understood when it prints
//! a name from one of these lists. Where a code says only *where* a call
//! failed, not *why*, it is left out on purpose and the text around it
//! decides: gRPC's `UNAVAILABLE`, `UNKNOWN`, `INTERNAL`, `CANCELLED`,
//! `ABORTED`, `FAILED_PRECONDITION`, `NOT_FOUND`, `ALREADY_EXISTS`,
//! `DATA_LOSS` and `UNIMPLEMENTED`; Kubernetes' `CrashLoopBackOff` (the
//! container's own logs say why it crashed).
//!
//! Tried after the families and tools (whose program-specific wording
//! knows better, e.g. a database's `ServerSelectionTimeoutError`) and
//! before the messages that name no cause and the general catalog.

use super::category::Category::{
    Authentication, Configuration, Database, Dependency, Permission, RateLimit, Resource, Timeout,
    Validation,
};
use super::families::{FamilyRule, rule};

/// How gRPC clients print a canonical code: Go's `code = PermissionDenied`,
/// Java's `StatusRuntimeException: PERMISSION_DENIED:`, Python's
/// `StatusCode.PERMISSION_DENIED`.
macro_rules! grpc {
    ($code:literal) => {
        concat!(
            r"(?:\bcode = |status(?:runtime)?exception: |statuscode\.)",
            $code,
            r"\b"
        )
    };
}

/// The rules, tried after the tools.
pub(crate) const CODES: &[FamilyRule] = &[
    // --- gRPC canonical status codes (grpc/doc/statuscodes.md) ---
    rule(
        "grpc_unauthenticated",
        grpc!("unauthenticated"),
        Authentication,
        false,
        "gRPC UNAUTHENTICATED: the call carried no valid credentials",
        "rpc error: code = Unauthenticated desc = invalid token",
    ),
    rule(
        "grpc_permission_denied",
        grpc!("permission_?denied"),
        Permission,
        false,
        "gRPC PERMISSION_DENIED: the caller is known but not allowed",
        "io.grpc.StatusRuntimeException: PERMISSION_DENIED: caller \"svc-reporting\" is not allowed to call ledger.v1.Ledger/Transfer",
    ),
    rule(
        "quota_per_period",
        r"quota exceeded for quota metric [ -~]* per (?:second|minute|hour|day|100 seconds)",
        RateLimit,
        true,
        "a quota counted per second, minute or day (Google APIs' RESOURCE_EXHAUSTED): waiting for the window fixes it",
        "rpc error: code = ResourceExhausted desc = Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'",
    ),
    rule(
        "grpc_resource_exhausted",
        grpc!("resource_?exhausted"),
        Resource,
        true,
        "gRPC RESOURCE_EXHAUSTED: a quota or a size limit ran out",
        "rpc error: code = ResourceExhausted desc = grpc: received message larger than max (8388608 vs. 4194304)",
    ),
    rule(
        "grpc_deadline_exceeded",
        grpc!("deadline_?exceeded"),
        Timeout,
        true,
        "gRPC DEADLINE_EXCEEDED: the call ran past its deadline",
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
    ),
    rule(
        "grpc_invalid_argument",
        concat!(grpc!("invalid_?argument"), "|", grpc!("out_?of_?range")),
        Validation,
        false,
        "gRPC INVALID_ARGUMENT or OUT_OF_RANGE: the request itself is wrong, whatever the server's state",
        "io.grpc.StatusRuntimeException: INVALID_ARGUMENT: amount must be positive",
    ),
    // --- exception and error class names, by what they mean ---
    rule(
        "memory_error_class",
        r"std::bad_alloc|outofdirectmemoryerror|outofmemoryexception|_arraymemoryerror|\bmemoryerror: unable to allocate|unable to allocate [0-9.]+ [kmgtp]i?b for an array|array buffer allocation failed|cannot allocate [0-9]+ bytes of memory|failed to allocate [0-9]+ byte\(s\) of direct memory|oom_reaper: reaped process",
        Resource,
        true,
        "an allocation failed or the kernel reaped the process (C++ `bad_alloc`, Netty's direct memory, .NET's OutOfMemory, numpy, V8's array buffers, the BEAM's heap, the kernel's OOM reaper): memory ran out",
        "terminate called after throwing an instance of 'std::bad_alloc'",
    ),
    rule(
        "timeout_error_class",
        r"(?:timeout|timedout)(?:exception|error)\b|\btimelimitexceeded\b|airflowtasktimeout|maxtimemsexpired|operation exceeded time limit",
        Timeout,
        true,
        "an exception named for a timeout (`*TimeoutException`, `*TimeoutError`, Celery's `TimeLimitExceeded`, Airflow's `AirflowTaskTimeout`, MongoDB's `MaxTimeMSExpired`): the operation ran past its limit",
        "celery.exceptions.TimeLimitExceeded: TimeLimitExceeded(300,)",
    ),
    rule(
        "throttling_class",
        r"provisionedthroughputexceeded(?:exception)?\b|\brequestlimitexceeded\b|\bthrottlingexception\b|\brequestthrottledexception\b|\btoomanyrequestsexception\b",
        RateLimit,
        true,
        "an exception named for throttling (AWS's `ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`, `TooManyRequestsException`): the request rate, slow down",
        "botocore.errorfactory.ProvisionedThroughputExceededException: An error occurred (ProvisionedThroughputExceededException) when calling the PutItem operation: The level of configured provisioned throughput for the table was exceeded.",
    ),
    rule(
        "broker_setup_class",
        r"\binvalid(?:replicationfactor|partitions|configuration|requiredacks)exception\b|replication factor: [0-9]+ larger than available brokers",
        Configuration,
        false,
        "Kafka's `InvalidReplicationFactorException`, `InvalidPartitionsException`, `InvalidConfigurationException`: the topic's or client's settings do not fit the cluster",
        "org.apache.kafka.common.errors.InvalidReplicationFactorException: Replication factor: 3 larger than available brokers: 2.",
    ),
    rule(
        "access_denied_class",
        r"accessdenied(?:exception|error)\b|\b[a-z.]*permissiondenied(?:exception|error)\b|authorizationexception\b|\bnotauthorizedexception\b|\bforbiddenexception\b",
        Permission,
        false,
        "an exception named for a refused permission (`AccessDeniedException`, `*PermissionDeniedError`, `AuthorizationException`): the caller is not allowed",
        "software.amazon.awssdk.services.s3.model.S3Exception: AccessDeniedException: User is not authorized to perform: s3:PutObject",
    ),
    rule(
        "authentication_class",
        r"authenticationexception\b|\bauthenticationerror\b|\bunauthenticatedexception\b|\binvalidcredentials(?:exception|error)\b",
        Authentication,
        false,
        "an exception named for a failed authentication (`*AuthenticationException`, `AuthenticationError`): the credentials",
        "javax.naming.AuthenticationException: simple bind failed: ldap.corp:636",
    ),
    // --- errno names (POSIX, as Node and Go print them) ---
    rule(
        "errno_resource",
        r"\b(?:enospc|edquot|emfile|enfile|enomem)\b",
        Resource,
        true,
        "errno ENOSPC, EDQUOT, EMFILE, ENFILE or ENOMEM: space, quota, file descriptors or memory ran out",
        "Error: EMFILE: too many open files, open '/app/data/cache.json'",
    ),
    rule(
        "errno_permission",
        r"\b(?:eacces|eperm)\b",
        Permission,
        false,
        "errno EACCES or EPERM: the operating system refused the operation to this user",
        "Error: EACCES: permission denied, open '/var/log/app/out.log'",
    ),
    // --- Kubernetes event reasons ---
    // Before the sandbox rule: a pod that got no address because the pool
    // is empty is capacity, not a broken network plugin.
    rule(
        "ip_addresses_exhausted",
        r"failed to assign an ip address|no (?:available|free) ip addresses|insufficientfreeaddressesinsubnet|ip(?:am)? (?:pool|range|addresses) (?:is |are )?(?:exhausted|full)|\brange is full\b",
        Resource,
        true,
        "the network plugin or the cloud has no IP address left to give (an IPAM pool, a subnet's free addresses): capacity, not a broken network",
        "  Warning  FailedCreatePodSandBox  31s  kubelet  Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"c41d\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container",
    ),
    rule(
        "k8s_no_endpoints",
        r"no endpoints available for service",
        Dependency,
        true,
        "Kubernetes found no ready pod behind the service it had to call (a webhook, an aggregated API): that service's pods, not the caller, whatever timeout its URL names",
        "Error from server (InternalError): Internal error occurred: failed calling webhook \"validate.nginx.ingress.kubernetes.io\": failed to call webhook: Post \"https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s\": no endpoints available for service \"ingress-nginx-controller-admission\"",
    ),
    rule(
        "k8s_sandbox_network",
        r"failedcreatepodsandbox|failed to setup network for sandbox|networkpluginnotready|cni plugin not initialized",
        Dependency,
        true,
        "the node's network plugin (CNI: Calico, Cilium, Flannel) could not give the pod a network: that node component, not the pod",
        "  Warning  FailedCreatePodSandBox  2m  kubelet  Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"4a1f\": plugin type=\"calico\" failed (add)",
    ),
    rule(
        "k8s_volume_attach",
        r"multi-attach error for volume|failedattachvolume|volume is already exclusively attached",
        Resource,
        true,
        "the volume is held by another node (Multi-Attach): it frees when that pod goes, or the volume must allow more than one",
        "  Warning  FailedAttachVolume  2m  attachdetach-controller  Multi-Attach error for volume \"pvc-7a1c\" Volume is already exclusively attached to one node and can't be attached to another",
    ),
    // --- proxies' own codes ---
    rule(
        "envoy_flag_overflow",
        r#"" [0-9]{3} (?:uo|om) |\{overflow\}"#,
        Resource,
        true,
        "Envoy's UO and OM flags: the upstream's circuit breaker (max connections, requests or pending) overflowed, or Envoy's own overload manager shed the request",
        r#"[2026-12-01T10:02:11.532Z] "GET /api/cart HTTP/2" 503 UO upstream_reset_before_response_started{overflow} 0 81 0 - "10.0.3.4""#,
    ),
    rule(
        "envoy_flag_no_route",
        r#"" [0-9]{3} (?:nr|nc) |\broute_not_found\b|\bcluster_not_found\b"#,
        Configuration,
        false,
        "Envoy's NR and NC flags: no route in its configuration matches the request, or the route names a cluster that does not exist",
        r#"[2026-12-01T10:05:40.218Z] "POST /checkout/v3 HTTP/1.1" 404 NR route_not_found 512 0 0 - "10.0.7.19""#,
    ),
    rule(
        "envoy_flag_denied",
        r#"" [0-9]{3} uaex |\bext_authz_denied\b|\brbac_access_denied"#,
        Permission,
        false,
        "Envoy's UAEX flag or RBAC filter: an authorization policy refused the request",
        r#"[2026-12-01T10:07:03.004Z] "DELETE /v1/users/812 HTTP/1.1" 403 UAEX ext_authz_denied 0 0 2 - "10.0.2.2""#,
    ),
    rule(
        "envoy_upstream_connect",
        r"upstream connect error or disconnect/reset before headers",
        Dependency,
        true,
        "Envoy (and Istio's sidecars) could not get an answer from the upstream service, whatever socket error it names: the service behind it",
        "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused",
    ),
    rule(
        "envoy_flag_timeout",
        r#"" [0-9]{3} (?:ut|dt|si|umsdr)\b"#,
        Timeout,
        true,
        "Envoy's UT, DT, SI and UMSDR flags: the upstream request, the stream's duration or its idle time ran past a timeout",
        r#"[2026-12-01T10:01:32.118Z] "POST /v1/export HTTP/2" 408 UMSDR 2048 0 300002 - "10.4.0.8" "grpc-go/1.59.0""#,
    ),
    rule(
        "envoy_flag_upstream",
        r#"" [0-9]{3} (?:uh|uf|uc|ur|urx|upe|lh)\b"#,
        Dependency,
        true,
        "Envoy's UH, UF, UC, UR, URX, UPE and LH flags: no healthy upstream, a failed or reset upstream connection, an upstream protocol error: the service behind the proxy",
        r#"[2026-12-01T11:14:09.441Z] "GET /stock/4411 HTTP/1.1" 502 UPE 0 87 3 - "10.4.1.2" "okhttp/4.12.0""#,
    ),
    // HAProxy's termination state: `P` the proxy cut the session, `H`/`D`
    // while reading the server's headers or data (it was invalid).
    rule(
        "haproxy_response_blocked",
        r"[45][0-9]{2} [0-9]+ [!-~]+ [!-~]+ (?-i:P[HD])-- ",
        Dependency,
        true,
        "HAProxy's PH/PD termination states: the proxy blocked the server's response because it was invalid (bad headers, a broken body): the server behind it",
        "Dec  1 12:03:17 lb-3 haproxy[811]: 203.0.113.55:33011 [01/Dec/2026:12:03:17.411] fe_web be_app/app2 0/0/1/12/13 502 210 - - PH-- 21/21/4/1/0 0/0 \"GET /cart HTTP/1.1\"",
    ),
    // --- cloud load balancers' log fields ---
    rule(
        "lb_target_failed",
        r#"\bapp/[!-~]+ [!-~]+ [!-~]+ [0-9.]+ -1 -1 50[23] - |"statusdetails":"(?:failed_to_connect_to_backend|failed_to_pick_backend|backend_connection_closed_before_data_sent_to_client)"|\b(?:tcp|udp)_[a-z_]+/50[23] |\berr_connect_fail\b"#,
        Dependency,
        true,
        "the load balancer or cache reached no answer from its target (an ALB entry with no target time, GCP's `failed_to_connect_to_backend`, Squid's `TCP_MISS/503`): the service behind it",
        "h2 2026-12-01T10:14:03.221145Z app/web-alb/50dc6c495c0c9188 203.0.113.7:52114 10.0.3.21:8080 0.001 -1 -1 502 - 213 291 \"GET https://shop.example.com:443/ HTTP/2.0\"",
    ),
    rule(
        "lb_target_timeout",
        r#"\bapp/[!-~]+ [!-~]+ [!-~]+ [0-9.]+ [0-9.]+ -1 504 - |"statusdetails":"backend_timeout"|\b(?:tcp|udp)_[a-z_]+/504 |\berr_read_timeout\b"#,
        Timeout,
        true,
        "the load balancer or cache waited for its target longer than its timeout (an ALB 504 after the target's time, GCP's `backend_timeout`, Squid's `/504`)",
        "https 2026-12-01T11:20:40.004Z app/api-alb/7a1f2c3d 198.51.100.9:40112 10.0.5.5:9000 0.000 60.001 -1 504 - 512 0 \"POST https://api.example.com:443/v1/reports HTTP/1.1\"",
    ),
    rule(
        "proxy_cache_denied",
        r"\btcp_denied(?:_reply)?/[0-9]{3}\b|\berr_access_denied\b",
        Permission,
        false,
        "Squid's TCP_DENIED and ERR_ACCESS_DENIED: an access rule of the proxy refused the request",
        "1765101119.441      0 10.8.2.44 TCP_DENIED/403 3911 CONNECT pypi.org:443 - HIER_NONE/- text/html",
    ),
    // --- systemd exit statuses (systemd.exec(5), "Process Exit Codes") ---
    rule(
        "systemd_setup_status",
        r"status=(?:216/group|233/runtime_directory|238/state_directory|239/cache_directory|240/logs_directory|241/configuration_directory|243/credentials|245/bpf)\b|failed to set up credentials",
        Configuration,
        false,
        "systemd could not set the unit up before running it (its group, directories or credentials): the unit's settings",
        "Dec  1 11:05:41 vault-proxy systemd[1]: tokensync.service: Main process exited, code=exited, status=243/CREDENTIALS",
    ),
    // --- IIS sub-statuses ---
    rule(
        "iis_substatus_config",
        r"http error (?:500\.19|404\.3|403\.14|500\.22|500\.23)\b",
        Configuration,
        false,
        "IIS's 500.19, 500.22/23, 404.3 and 403.14 name a web.config, handler or MIME mapping the site's configuration gets wrong",
        "HTTP Error 500.19 - Internal Server Error",
    ),
    rule(
        "iis_substatus_module",
        r"http error (?:500\.21|500\.31|502\.5|500\.30)\b",
        Dependency,
        false,
        "IIS's 500.21, 500.30/31 and 502.5: a module or the ASP.NET Core runtime the site needs is missing or failed to start",
        "HTTP Error 500.21 - Internal Server Error",
    ),
    // --- database error numbers ---
    rule(
        "sqlstate_privilege",
        r"sqlstate[ :=\[]{0,3}42501\b|\bora-(?:01031|01045|01950)\b|\b(?:msg|error:?) (?:229|230|262|297|300|916)\b,",
        Permission,
        false,
        "SQLSTATE 42501, Oracle's ORA-01031/01045/01950 and SQL Server's 229, 230, 262, 300, 916: the login is known and lacks a privilege on the object",
        "Msg 229, Level 14, State 5, Line 1",
    ),
    rule(
        "sqlstate_login",
        r"sqlstate[ :=\[]{0,3}28(?:000|p01)\b|\bora-(?:01017|28000|28001|01005)\b",
        Authentication,
        false,
        "SQLSTATE 28000/28P01 and Oracle's ORA-01017 (wrong user name or password), ORA-28000 (locked account), ORA-28001 (expired password): the credentials",
        "ORA-01017: invalid username/password; logon denied",
    ),
    rule(
        "database_space_or_memory",
        r"sqlstate[ :=\[]{0,3}53[12]00\b|\bora-(?:01652|01653|01654|01688|01691|01536|00257|04031|30036|19809|19815)\b|\b(?:msg|error:?) (?:1101|1105|9002|701)\b,|the transaction log for database '[ -&(-~]+' is full|\berror (?:8004|8175) \(hy000\)|transaction is too large",
        Resource,
        true,
        "the database ran out of space or memory (SQLSTATE 53100/53200, Oracle's unable-to-extend and archiver errors, SQL Server's full transaction log or filegroup, TiDB's transaction size and memory quota): free or add space, not a bad statement",
        "cx_Oracle.DatabaseError: ORA-01653: unable to extend table APP.EVENTS by 8192 in tablespace USERS",
    ),
    rule(
        "database_missing_for_login",
        r#"\b(?:msg|error:?) 4060\b,|cannot open database "[ !#-~]+" requested by the login"#,
        Configuration,
        false,
        "SQL Server's 4060: the connection string names a database the server does not have (or the login may not see): the setting, not the password",
        "Microsoft.Data.SqlClient.SqlException (0x80131904): Cannot open database \"Billing2\" requested by the login. The login failed.",
    ),
    rule(
        "sqlstate_data",
        r"sqlstate[ :=\[]{0,3}22(?:001|003|007|008|021|023|p02|p05)\b|\b(?:msg|error:?) (?:2628|8152)\b,",
        Validation,
        false,
        "SQLSTATE class 22 (data exceptions: truncation, out of range, bad dates, invalid text) and SQL Server's truncation errors: the input does not fit the column",
        "pq: integer out of range (SQLSTATE 22003)",
    ),
    rule(
        "database_transient_codes",
        r"\berror (?:900[1-7]|8022|8028) \(hy000\)|sqlstate[ :=\[]{0,3}40003\b",
        Database,
        true,
        "TiDB's 9001-9007 (PD or TiKV timeouts, busy stores, unavailable regions) and SQLSTATE 40003 (statement completion unknown): the database cluster, usually transient",
        "ERROR 9005 (HY000): Region is unavailable",
    ),
    // --- AMQP 0-9-1 reply codes ---
    rule(
        "amqp_connection_forced",
        r"\bconnection_forced\b",
        Dependency,
        true,
        "AMQP's 320 CONNECTION_FORCED: the broker closed the connection on purpose (a shutdown, an operator): the broker must come back",
        "amqp connection closed: CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
    ),
    rule(
        "amqp_resource",
        r"\b(?:resource_locked|resource_error)\b",
        Resource,
        true,
        "AMQP's 405 RESOURCE_LOCKED and 506 RESOURCE_ERROR: a queue held exclusively by another connection, or the broker out of a resource",
        "ERROR: channel exception RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'jobs' in vhost '/'",
    ),
    // --- OAuth 2.0 (RFC 6749/6750), Keycloak's event errors, Okta's codes ---
    rule(
        "identity_login_error",
        r#"\b(?:invalid_user_credentials|invalid_client_credentials|user_temporarily_disabled|expired_code)\b|error="user_(?:not_found|disabled)"|\be00000(?:04|11)\b"#,
        Authentication,
        false,
        "an identity provider refused the login (Keycloak's `invalid_user_credentials`, `user_disabled`, Okta's E0000004 and E0000011): the credentials",
        "type=\"LOGIN_ERROR\", realmId=\"acme\", clientId=\"web\", error=\"invalid_user_credentials\", auth_method=\"openid-connect\"",
    ),
    rule(
        "identity_client_setup",
        r"\b(?:invalid_redirect_uri|redirect_uri_mismatch|unsupported_grant_type|unsupported_response_type)\b",
        Configuration,
        false,
        "OAuth's and Keycloak's redirect and grant errors: the client's registration does not match what it sends (a redirect URI, a grant type)",
        "type=\"LOGIN_ERROR\", realmId=\"acme\", clientId=\"admin\", error=\"invalid_redirect_uri\", redirect_uri=\"https://admin.example.com/cb\"",
    ),
    rule(
        "identity_not_permitted",
        r"\binsufficient_scope\b|\be00000(?:06|15)\b",
        Permission,
        false,
        "OAuth's `insufficient_scope` and Okta's E0000006/E0000015: the caller is known and may not do this",
        "{\"errorCode\":\"E0000006\",\"errorSummary\":\"You do not have permission to perform the requested action\"}",
    ),
    rule(
        "identity_rate_limited",
        r"\be0000047\b",
        RateLimit,
        true,
        "Okta's E0000047: the API call exceeded the rate limit",
        "{\"errorCode\":\"E0000047\",\"errorSummary\":\"API call exceeded rate limit due to too many requests.\"}",
    ),
    // --- Windows logon statuses (NTSTATUS) and the service manager ---
    rule(
        "windows_logon_failure",
        r"\b0xc000006[a-f]\b|\b0xc00000(?:64|70|71|72)\b|\b0xc0000234\b|did not start due to a logon failure|an account failed to log on",
        Authentication,
        false,
        "Windows' logon statuses (0xC000006D logon failure, 0xC000006A bad password, 0xC0000064 no such user, 0xC0000234 locked out, ...) and a service that could not log on: the account's credentials",
        "Description:   The Sync Agent service failed to start due to the following error: The service did not start due to a logon failure.",
    ),
    // --- IKE notify types (RFC 7296) and OpenVPN's control messages ---
    rule(
        "vpn_auth_failed",
        r"\bauth_failed\b|\bauthentication_failed notify\b|received authentication_failed",
        Authentication,
        false,
        "the VPN peer refused our credentials (IKE's AUTHENTICATION_FAILED notify, OpenVPN's AUTH_FAILED)",
        "Dec  1 12:44:01 fw-1 charon: 12[IKE] received AUTHENTICATION_FAILED notify error",
    ),
    rule(
        "vpn_proposal",
        r"\b(?:no_proposal_chosen|ts_unacceptable|invalid_ke_payload)\b",
        Configuration,
        false,
        "IKE's NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE and INVALID_KE_PAYLOAD: the two ends' settings (ciphers, traffic selectors, groups) do not match",
        "Dec  1 13:02:12 fw-2 charon: 07[CFG] no IKE config found for 198.51.100.9...203.0.113.4, sending NO_PROPOSAL_CHOSEN",
    ),
    // --- Ceph health checks ---
    rule(
        "clock_out_of_sync",
        r"\bmon_clock_skew\b|clock skew detected on|clock synchronization error: this node is more than",
        Configuration,
        false,
        "the node's clock is too far from its peers' (Ceph's MON_CLOCK_SKEW, CockroachDB's maximum offset): the host's time synchronisation",
        "F261201 09:44:02.118331 1 server/server.go:1322 [n2] clock synchronization error: this node is more than 500ms away from at least half of the known nodes (1 of 3 are within the offset)",
    ),
    rule(
        "ceph_full",
        r"\b(?:osd_full|pool_full|osd_backfillfull)\b|[0-9]+ full osd\(s\)|\bosd\.[0-9]+ is full",
        Resource,
        true,
        "Ceph's OSD_FULL, POOL_FULL and OSD_BACKFILLFULL: the cluster's storage is full",
        "[ERR] OSD_FULL: 1 full osd(s)",
    ),
    rule(
        "ceph_unavailable",
        r"\b(?:pg_availability|mon_down|osd_down|mds_all_down)\b|reduced data availability: [0-9]+ pgs? (?:inactive|down|incomplete|stale)",
        Dependency,
        true,
        "Ceph's PG_AVAILABILITY, MON_DOWN, OSD_DOWN: placement groups or daemons are down, so the storage cannot serve",
        "    Reduced data availability: 12 pgs inactive, 12 pgs down",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::match_catalog;
    use super::*;

    #[test]
    fn every_form_of_a_grpc_code_is_read() {
        for text in [
            "rpc error: code = PermissionDenied desc = missing scope",
            "io.grpc.StatusRuntimeException: PERMISSION_DENIED: no",
            "grpc._channel._InactiveRpcError: status = StatusCode.PERMISSION_DENIED",
        ] {
            let hit = match_catalog(text).map(|p| p.assessment.category);
            assert_eq!(hit, Some(Permission), "{text}");
        }
    }
}
