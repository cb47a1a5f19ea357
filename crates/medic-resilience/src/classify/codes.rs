//! Documented enumerations: gRPC's canonical status codes, exception class
//! names by what they mean, errno names, Kubernetes event reasons, Envoy's
//! response flags, systemd's exit statuses and IIS's sub-statuses.
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
    Authentication, Configuration, Dependency, Permission, RateLimit, Resource, Timeout, Validation,
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
        r#"" [0-9]{3} uo |\{overflow\}"#,
        Resource,
        true,
        "Envoy's UO flag: the upstream's circuit breaker (max connections, requests or pending) overflowed",
        r#"[2026-12-01T10:02:11.532Z] "GET /api/cart HTTP/2" 503 UO upstream_reset_before_response_started{overflow} 0 81 0 - "10.0.3.4""#,
    ),
    rule(
        "envoy_flag_no_route",
        r#"" [0-9]{3} nr |\broute_not_found\b"#,
        Configuration,
        false,
        "Envoy's NR flag: no route in its configuration matches the request",
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
