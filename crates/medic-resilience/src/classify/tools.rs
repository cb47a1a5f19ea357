//! Infrastructure tools and stores beyond the families of `families.rs`:
//! secret stores and service registries (Vault, Consul, etcd), provisioning
//! (Terraform, Ansible), git, cron, directories and mail (LDAP, SMTP,
//! postfix), ClickHouse and SQLite, cloud SDKs' credentials, ACME, kubectl,
//! Docker and Traefik.
//!
//! Same shape and same standing as the families (tried right after them,
//! before a status code found in the same line): each rule is the tool's
//! own wording, with a fixture the tests check.

use super::category::Category::{
    Authentication, Configuration, Database, Dependency, Network, Permission, RateLimit, Resource,
    Timeout, Validation,
};
use super::families::{FamilyRule, rule};

/// The tools' rules, most specific first.
pub(crate) const TOOLS: &[FamilyRule] = &[
    // --- who we are, and what we may do ---
    rule(
        "cloud_credentials_missing",
        r"nocredentialserror|unable to locate credentials|defaultcredentialserror|could not automatically determine credentials|you do not currently have an active account selected|no valid credential sources|missing client token|invalid (?:role (?:or secret )?|secret )id\b|http basic: access denied|run 'az login'|provided password or token is incorrect",
        Authentication,
        false,
        "no credentials were found or they were refused (AWS SDKs and Terraform's provider, Google's ADC and gcloud, Vault's AppRole): supply them",
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    ),
    rule(
        "directory_login_failed",
        r"ldap_bind: invalid credentials|invalid credentials \(49\)|ldap: error code 49\b|\binvalidcredentials\b|acceptsecuritycontext error, data 52e|\(authentication_failed\)|password is incorrect, or there is no user|could not read (?:username|password) for '|terminal prompts disabled|expired password for user",
        Authentication,
        false,
        "LDAP's result 49, git asking for a login it cannot prompt for, PAM's expired password: the credentials",
        "ldap_bind: Invalid credentials (49)",
    ),
    rule(
        "acl_token_unknown",
        r"\bacl not found\b",
        Authentication,
        false,
        "Consul knows no ACL token by the id it was given (`ACL not found`): a wrong or deleted token, which new credentials fix",
        "[ERROR] agent.client: RPC failed to server: method=Catalog.Register server=10.0.2.5:8300 error=\"rpc error making call: ACL not found\"",
    ),
    rule(
        "tool_access_denied",
        r"insufficient access \(50\)|ldap: error code 50\b|blocked by acls|does not have authorization to perform action|authorizationfailed\b|not enough privileges|\(access_denied\)|relay(?:ing)? (?:access )?denied|relay not permitted|\bnot writable\b",
        Permission,
        false,
        "known, but not allowed (LDAP's result 50, Consul ACLs, Azure RBAC, ClickHouse grants): a grant or policy fixes it",
        "[ERROR] agent: Coordinate update blocked by ACLs: accessorID=anonymous",
    ),
    // --- ACME: the rate limit first, then challenges that fail ---
    rule(
        "acme_rate_limited",
        r"urn:ietf:params:acme:error:ratelimited|too many certificates (?:already )?issued",
        RateLimit,
        true,
        "the ACME CA (Let's Encrypt) refuses more certificates for now: wait out its window",
        "HTTP 429 urn:ietf:params:acme:error:rateLimited - too many certificates already issued for this exact set of domains",
    ),
    rule(
        "acme_challenge_failed",
        r"urn:ietf:params:acme:error:(?:unauthorized|connection|dns|caa|incorrectresponse|tls|rejectedidentifier)|unable to obtain acme certificate|could not get certificate from issuer",
        Configuration,
        false,
        "the CA could not validate the domain (DNS, the challenge path, a CAA record): the setup around the name, not the proxy",
        "acme: error: 403 :: urn:ietf:params:acme:error:unauthorized :: Invalid response from http://shop.example.com/.well-known/acme-challenge/x",
    ),
    // --- provisioning and scheduling: the files a person wrote ---
    rule(
        "terraform_config",
        r#"error: (?:missing required argument|unsupported argument|unsupported block type|reference to undeclared (?:input variable|resource|local value)|invalid reference|no value for required variable|invalid value for (?:input )?variable|missing required provider|argument or block definition required)|an argument named "[ -~]+" is not expected here|input variable with the name "[ -~]+" has not been declared"#,
        Configuration,
        false,
        "Terraform rejected the configuration a person wrote (a missing or unknown argument, an undeclared variable)",
        "Error: Reference to undeclared input variable",
    ),
    rule(
        "terraform_providers",
        r"failed to install provider|does not have a provider named|could not retrieve the list of available versions for provider|inconsistent dependency lock file",
        Dependency,
        false,
        "Terraform cannot get the providers the configuration needs: a name, a version or the lock file",
        "Could not retrieve the list of available versions for provider hashicorp/gogle: provider registry registry.terraform.io does not have a provider named registry.terraform.io/hashicorp/gogle",
    ),
    rule(
        "state_or_lock_held",
        r"error acquiring the state lock|state blob is already locked",
        Resource,
        true,
        "another run holds Terraform's state lock: wait for it, or release a stale one",
        "Error: Error acquiring the state lock",
    ),
    rule(
        "ansible_setup",
        r"error! the role '[ -~]+' was not found|couldn't resolve module/action|error! couldn't find (?:role|collection)",
        Dependency,
        false,
        "Ansible cannot find a role, module or collection the playbook uses: install it (ansible-galaxy) or fix its name",
        "ERROR! the role 'acme.common' was not found in /etc/ansible/roles:/root/.ansible/roles",
    ),
    rule(
        "cron_or_unit_syntax",
        r"\(cron\) bad (?:minute|hour|day-of-month|month|day-of-week|command|time specifier)|errors? in crontab file|unknown (?:key name|section name|lvalue) '[ -~]+' in section|required key [a-z_][a-z0-9_]* missing value|\) (?:bad file mode|wrong file owner|wrong inode info) \(",
        Configuration,
        false,
        "a schedule, unit file or env spec a person wrote is wrong (cron's own complaints, a crontab cron refuses for its mode or owner, systemd's unknown keys, envconfig's required keys)",
        "Dec  1 03:00:01 web-1 cron[812]: (CRON) bad minute (/etc/cron.d/backup)",
    ),
    rule(
        "git_ref_or_repo",
        r"fatal: not a git repository|fatal: repository '[ -~]+' not found|couldn't find remote ref|pathspec '[ -~]+' did not match any file|fatal: invalid refspec",
        Configuration,
        false,
        "git was pointed at a ref or directory that is not there: a name in the job or its working directory",
        "fatal: couldn't find remote ref refs/heads/feature-x",
    ),
    rule(
        "container_or_proxy_config",
        r"no such container: |no such image: |invalid reference format|failed to read dockerfile|failed to compute cache key|field not found, node: |cannot be linked automatically with multiple services|the service [!-~]+ does not exist|middleware [!-~]+ does not exist|uses a non-existent (?:resolver|service|middleware)",
        Configuration,
        false,
        "Docker and Traefik name something the configuration got wrong (a container, an image reference, a Dockerfile, a router)",
        "docker: Error response from daemon: invalid reference format.",
    ),
    rule(
        "cloud_resource_missing",
        r"\(nosuchbucket\)|the specified bucket does not exist|\(resourcenotfoundexception\)|parameternotfound",
        Configuration,
        false,
        "the cloud account has no bucket, secret, table or parameter of that name: the name in the configuration, or the resource, is missing",
        "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist",
    ),
    rule(
        "kubectl_not_found",
        r"error from server \(notfound\)",
        Configuration,
        false,
        "the Kubernetes API has no object of that name: the manifest, namespace or name is wrong",
        "Error from server (NotFound): deployments.apps \"shop-api\" not found",
    ),
    rule(
        "command_not_found",
        r": command not found|\bsh: [0-9]+: [ -~]+: not found",
        Dependency,
        false,
        "the shell found no such program: a tool missing from the image or host (or a wrong path)",
        "/entrypoint.sh: line 4: psql: command not found",
    ),
    // --- stores and registries: their own state ---
    rule(
        "clickhouse_state",
        r"\((?:memory_limit_exceeded|not_enough_space|too_many_simultaneous_queries)\)|database space exceeded|mvcc: database space",
        Resource,
        false,
        "ClickHouse's or etcd's own limits (memory, disk, parts, queries, the etcd quota): more of it, or less load",
        "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 14.20 GiB, maximum: 14.10 GiB. (MEMORY_LIMIT_EXCEEDED)",
    ),
    rule(
        "clickhouse_timeout",
        r"\((?:timeout_exceeded|socket_timeout)\)",
        Timeout,
        true,
        "ClickHouse gave up on a query or a socket within its configured time",
        "Code: 159. DB::Exception: Timeout exceeded: elapsed 300.0 seconds, maximum: 300. (TIMEOUT_EXCEEDED)",
    ),
    rule(
        "sqlite_file",
        r"attempt to write a readonly database|sqlite_readonly",
        Permission,
        false,
        "SQLite may not write its file (the file's or directory's mode, a read-only mount)",
        "sqlite3.OperationalError: attempt to write a readonly database",
    ),
    rule(
        "sqlite_path",
        r"unable to open database file|sqlite_cantopen",
        Configuration,
        false,
        "SQLite cannot open the path it was given: a wrong path or a missing directory",
        "sqlite3.OperationalError: unable to open database file",
    ),
    rule(
        "store_errors",
        r"\bdb::exception\b|\(too_many_parts\)|sqlite_corrupt|database disk image is malformed",
        Database,
        false,
        "ClickHouse's and SQLite's other errors are the database's own (a table with too many parts is its merge backlog, not a host limit)",
        "Code: 47. DB::Exception: Missing columns: 'usr_id' while processing query. (UNKNOWN_IDENTIFIER)",
    ),
    rule(
        "coordinator_down",
        r"vault is sealed|no cluster leader|etcdserver: no leader|raft: no leader",
        Dependency,
        true,
        "the coordination service (Vault, Consul, etcd) is up but cannot serve: sealed, or no leader elected",
        "* Vault is sealed",
    ),
    // --- mail: an address that does not exist ---
    rule(
        "mail_recipient_unknown",
        r"dsn=5\.1\.[0-9]\b|\b55[03][ -]5\.1\.[0-9]\b|user unknown in [a-z ]+ table|recipient address rejected: user unknown",
        Validation,
        false,
        "the receiving server says the address does not exist (enhanced status 5.1.x, `User unknown`): the address is wrong, and resending will bounce again",
        "Dec  4 09:15:02 mx-1 postfix/smtp[4412]: 4TgQ: to=<kim@example.net>, relay=mx.example.net[198.51.100.7]:25, dsn=5.1.1, status=bounced (host mx.example.net[198.51.100.7] said: 550 5.1.1 <kim@example.net>: Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command))",
    ),
    // --- reaching them ---
    rule(
        "tool_unreachable",
        r"\bunreachable! =>|can't contact ldap server|smtpserverdisconnected|smtpconnecterror|npm (?:err!|error) (?:code )?(?:etimedout|econnreset|econnrefused|enotfound|eai_again)|npm (?:err!|error) network |couldn't get address for|status=deferred \(connect to [ -~]+: (?:connection timed out|connection refused|no route to host|network is unreachable)\)",
        Network,
        true,
        "Ansible's UNREACHABLE, LDAP's -1, smtplib's disconnects, postfix deferring mail it could not connect to the MX for, npm's network codes, dig's failed lookups: the path to the host",
        "fatal: [web-3]: UNREACHABLE! => {\"changed\": false, \"msg\": \"Failed to connect to the host via ssh: ssh: connect to host 10.0.0.13 port 22: Connection timed out\", \"unreachable\": true}",
    ),
];

#[cfg(test)]
mod tests {
    use super::super::patterns::match_catalog;
    use super::*;

    #[test]
    fn tools_say_it_their_way() {
        use super::super::category::Category;
        let cases: &[(&str, Category)] = &[
            (
                "Error making API request.\n\nURL: PUT https://vault:8200/v1/auth/approle/login\nCode: 400. Errors:\n\n* invalid role or secret ID",
                Authentication,
            ),
            (
                "Unexpected response code: 403 (ACL not found)",
                Authentication,
            ),
            ("agent: Coordinate update blocked by ACLs", Permission),
            (
                "time=\"2026-12-01T10:22:31Z\" level=error msg=\"the service \\\"billing@file\\\" does not exist\" entryPointName=websecure routerName=billing@docker",
                Configuration,
            ),
            (
                "level=error msg=\"middleware \\\"auth@file\\\" does not exist\" routerName=api@docker",
                Configuration,
            ),
            (
                "Dec  4 00:01:01 bastion crond[1022]: (root) BAD FILE MODE (/etc/cron.d/cleanup)",
                Configuration,
            ),
            (
                "Dec  4 00:01:01 bastion crond[1022]: (root) WRONG FILE OWNER (/etc/cron.d/cleanup)",
                Configuration,
            ),
            (
                "Code: 252. DB::Exception: Too many parts (312). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)",
                Database,
            ),
            (
                "postfix/smtp[22107]: 4TgK1: to=<ap@example.net>, relay=none, delay=31, dsn=4.4.1, status=deferred (connect to mx1.example.net[203.0.113.25]:25: Connection timed out)",
                Network,
            ),
            (
                "smtplib.SMTPRecipientsRefused: {'nobody@example.net': (550, b'5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in virtual mailbox table')}",
                Validation,
            ),
        ];
        for (text, category) in cases {
            // A block may span lines: the first line a rule recognises decides.
            let got = text
                .lines()
                .find_map(|line| {
                    match_catalog(line).filter(|p| p.assessment.category != Category::Unknown)
                })
                .map(|p| p.assessment.category);
            assert_eq!(got, Some(*category), "{text}");
        }
    }
}
