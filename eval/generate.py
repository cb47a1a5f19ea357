#!/usr/bin/env python3
"""Writes eval/corpus.jsonl: labelled failure cases for `medic eval`.

The templates below were written for this corpus from what the named tools
print when they fail. Each template is filled in several times with varied
hosts, ports, ids and timestamps, and wrapped in noise lines of its kind
(some noise carries words like "timeout=" or "retry" the way real logs do).
The output is deterministic: `python3 eval/generate.py > eval/corpus.jsonl`.
The labels say what a person reading the log would call the root cause, not
what the rules happen to recognise.
"""

import json
import random
import re

R = random.Random(20261126)

REMEDY = {
    "network": "reconnect",
    "api": "retry-request",
    "rate_limit": "back-off",
    "authentication": "refresh-credentials",
    "resource": "free-resources",
    "database": "reconnect-db",
    "validation": "quarantine-input",
    "timeout": "raise-timeout",
    "configuration": "reload-config",
    "dependency": "wait-for-upstream",
    "permission": "fix-permissions",
    "unknown": "page",
}

HOSTS = ["db-1.internal", "pg-primary.prod", "10.0.3.17", "cache-2", "api.stripe.com",
         "auth.example.org", "registry.npmjs.org", "files.pythonhosted.org", "web-03",
         "mq.internal", "172.18.0.4", "orders.svc.cluster.local", "ldap.corp", "s3.eu-west-1.amazonaws.com"]
SVCS = ["orders", "payments", "checkout", "billing", "inventory", "search", "notifier", "ingest"]
USERS = ["deploy", "app", "svc_orders", "ci-bot", "postgres", "www-data"]
DBS = ["orders", "shop", "billing", "analytics"]
PATHS = ["/var/lib/app/data", "/etc/app/config.yaml", "/srv/uploads", "/var/log/app/app.log",
         "/home/runner/work/app/target", "/opt/app/cache"]
ENDPOINTS = ["/v1/charges", "/api/orders", "/api/v2/users/{id}", "/graphql", "/v1/search", "/upload"]


def vals():
    n = R.randint(1, 59)
    return {
        "ts": f"2026-11-{R.randint(1, 25):02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{n:02d}.{R.randint(0, 999):03d}Z",
        "host": R.choice(HOSTS),
        "port": R.choice([5432, 3306, 6379, 443, 8080, 9092, 5672, 27017, 8443]),
        "ip": f"10.{R.randint(0, 9)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
        "id": "%08x" % R.getrandbits(32),
        "svc": R.choice(SVCS),
        "user": R.choice(USERS),
        "db": R.choice(DBS),
        "n": n,
        "big": R.randint(100, 9000),
        "path": R.choice(PATHS),
        "ep": R.choice(ENDPOINTS).replace("{id}", str(R.randint(1, 99999))),
        "ms": R.randint(2, 900),
        "job": R.randint(1000, 99999),
    }


NOISE = {
    "service-log": [
        "{ts} INFO  {svc}: listening on 0.0.0.0:{port}",
        "{ts} INFO  http: GET /healthz 200 {ms}ms",
        "{ts} DEBUG worker-{n} picked job {id}",
        "{ts} INFO  {svc}: starting version 1.{n}.3 (commit {id})",
        "{ts} INFO  pool: max_connections=20 idle_timeout=30s",
        "{ts} INFO  http: POST {ep} 201 {ms}ms",
        "{ts} DEBUG cache hit ratio 0.{n}",
        "{ts} INFO  scheduler: next run in {n}s",
        "{ts} WARN  slow request: GET {ep} took {big}ms",
        "{ts} INFO  retry policy: attempts=3 backoff=exponential",
    ],
    "ci-log": [
        "##[group]Run actions/checkout@v4",
        "##[endgroup]",
        "   Compiling serde v1.0.{n}",
        "   Compiling {svc} v0.{n}.0 (/home/runner/work/{svc}/{svc})",
        "Step {n}/12 : RUN pip install -r requirements.txt",
        " ---> Using cache",
        "added {big} packages, and audited {big} packages in {n}s",
        "Collecting requests==2.31.0",
        "$ make test",
        "Running with gitlab-runner 16.{n}.0 (abc{n}de)",
        "Job timeout: 1h, set by project",
        "Getting source from Git repository",
    ],
    "ansible": [
        "PLAY [{svc} servers] ***********************************************************",
        "TASK [Gathering Facts] *********************************************************",
        "ok: [{host}]",
        "TASK [common : install base packages] ******************************************",
        "changed: [{host}]",
        "TASK [app : render config] *****************************************************",
        "skipping: [{host}]",
        "ok: [web-0{n}]",
    ],
    "http": [
        "* Connected to {host} ({ip}) port 443",
        "> GET {ep} HTTP/1.1",
        "> Host: {host}",
        "> User-Agent: curl/8.5.0",
        "> Accept: */*",
        "< Content-Type: application/json",
        "< Date: Thu, 26 Nov 2026 08:{n:02d}:00 GMT",
        "< X-Request-Id: {id}",
    ],
}

# (category, kind, lines). `{...}` placeholders come from vals().
T = [
    # --- network
    ("network", "service-log", ["{ts} ERROR {svc}: dial tcp {ip}:{port}: connect: connection refused"]),
    ("network", "service-log", ["{ts} ERROR redis: Error 111 connecting to {host}:6379. Connection refused."]),
    ("network", "service-log", ["{ts} WARN  upstream {host}: read: connection reset by peer", "{ts} ERROR request {id} failed after 3 attempts"]),
    ("network", "service-log", ["{ts} ERROR java.net.UnknownHostException: {host}: Name or service not known", "\tat java.base/java.net.InetAddress.getAllByName0(InetAddress.java:1534)"]),
    ("network", "service-log", ["{ts} ERROR kafka: [Producer clientId=producer-1] Connection to node -1 ({host}/{ip}:9092) could not be established. Broker may not be available."]),
    ("network", "ci-log", ["fatal: unable to access 'https://github.com/acme/{svc}.git/': Could not resolve host: github.com"]),
    ("network", "ci-log", ["npm ERR! code ECONNRESET", "npm ERR! network aborted", "npm ERR! network This is a problem related to network connectivity."]),
    ("network", "ci-log", ["WARNING: Retrying (Retry(total=4, connect=None, read=None)) after connection broken by 'NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 101] Network is unreachable')': /simple/requests/"]),
    ("network", "ansible", ["fatal: [{host}]: UNREACHABLE! => {{\"changed\": false, \"msg\": \"Failed to connect to the host via ssh: ssh: connect to host {host} port 22: No route to host\", \"unreachable\": true}}"]),
    ("network", "ansible", ["fatal: [{host}]: UNREACHABLE! => {{\"changed\": false, \"msg\": \"Failed to connect to the host via ssh: ssh: Could not resolve hostname {host}: Name or service not known\", \"unreachable\": true}}"]),
    ("network", "http", ["curl: (7) Failed to connect to {host} port {port} after {ms} ms: Couldn't connect to server"]),
    ("network", "http", ["curl: (6) Could not resolve host: {host}"]),
    ("network", "http", ["curl: (56) Recv failure: Connection reset by peer"]),
    # --- api
    ("api", "http", ["< HTTP/1.1 500 Internal Server Error", "{{\"error\":\"internal_error\",\"message\":\"An unexpected error occurred\",\"request_id\":\"{id}\"}}"]),
    ("api", "http", ["< HTTP/2 500", "{{\"type\":\"api_error\",\"message\":\"Something went wrong on our end.\"}}"]),
    ("api", "service-log", ["{ts} ERROR client: POST https://{host}{ep} returned 500 Internal Server Error", "{ts} ERROR order {id} not submitted"]),
    ("api", "service-log", ["{ts} ERROR requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url: https://{host}{ep}"]),
    ("api", "ci-log", ["Error: HttpError: Server Error", "    at /home/runner/work/_actions/actions/github-script/v7/dist/index.js:{big}:21", "  status: 500,"]),
    ("api", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"content\": \"\", \"msg\": \"Status code was 500 and not [200]: HTTP Error 500: Internal Server Error\", \"status\": 500, \"url\": \"https://{host}{ep}\"}}"]),
    # --- rate_limit
    ("rate_limit", "http", ["< HTTP/1.1 429 Too Many Requests", "< Retry-After: {n}", "{{\"error\":\"rate_limited\",\"message\":\"Too many requests\"}}"]),
    ("rate_limit", "http", ["< HTTP/2 403", "< x-ratelimit-remaining: 0", "{{\"message\":\"API rate limit exceeded for {ip}. (But here's the good news: Authenticated requests get a higher rate limit.)\"}}"]),
    ("rate_limit", "service-log", ["{ts} WARN  stripe: request {id} throttled: 429 Too Many Requests, retrying in {n}s", "{ts} ERROR payment {id} gave up after 5 attempts"]),
    ("rate_limit", "service-log", ["{ts} ERROR botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the PutItem operation (reached max retries: 4): Rate exceeded"]),
    ("rate_limit", "ci-log", ["toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"]),
    ("rate_limit", "ci-log", ["Error: API rate limit exceeded for installation ID {job}."]),
    ("rate_limit", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Status code was 429 and not [200]: HTTP Error 429: Too Many Requests\", \"status\": 429}}"]),
    ("rate_limit", "service-log", ["{ts} ERROR openai: Error code: 429 - You exceeded your current quota, please check your plan and billing details."]),
    # --- authentication
    ("authentication", "http", ["< HTTP/1.1 401 Unauthorized", "< WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"The access token expired\""]),
    ("authentication", "service-log", ["{ts} FATAL password authentication failed for user \"{user}\""]),
    ("authentication", "service-log", ["{ts} ERROR jwt: token is expired by {n}m{n}s", "{ts} WARN  rejecting request {id} to {ep}"]),
    ("authentication", "service-log", ["{ts} ERROR smtp: 535 5.7.8 Authentication credentials invalid"]),
    ("authentication", "ci-log", ["Error response from daemon: Get \"https://ghcr.io/v2/\": denied: unauthorized: authentication required"]),
    ("authentication", "ci-log", ["remote: Invalid username or password.", "fatal: Authentication failed for 'https://github.com/acme/{svc}.git/'"]),
    ("authentication", "ci-log", ["npm ERR! code E401", "npm ERR! Unable to authenticate, your authentication token seems to be invalid."]),
    ("authentication", "ansible", ["fatal: [{host}]: UNREACHABLE! => {{\"changed\": false, \"msg\": \"Failed to connect to the host via ssh: {user}@{host}: Permission denied (publickey,password).\", \"unreachable\": true}}"]),
    ("authentication", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Status code was 401 and not [200]: HTTP Error 401: Unauthorized\", \"status\": 401}}"]),
    # --- resource
    ("resource", "service-log", ["{ts} ERROR java.lang.OutOfMemoryError: Java heap space", "\tat java.util.Arrays.copyOf(Arrays.java:3332)"]),
    ("resource", "service-log", ["{ts} ERROR write {path}/segment-{n}.log: no space left on device"]),
    ("resource", "service-log", ["{ts} ERROR accept tcp 0.0.0.0:{port}: accept4: too many open files; retrying in 5ms"]),
    ("resource", "service-log", ["[{big}.{n}] Out of memory: Killed process {big} ({svc}) total-vm:{big}kB, anon-rss:{big}kB"]),
    ("resource", "ci-log", ["fatal error: runtime: out of memory", "", "runtime stack:", "runtime.throw({{0x1a2b3c, 0x16}})"]),
    ("resource", "ci-log", ["error: could not compile `{svc}` (lib)", "", "Caused by:", "  process didn't exit successfully: `rustc --crate-name {svc}` (signal: 9, SIGKILL: kill)", "note: this may be caused by the system running out of memory"]),
    ("resource", "ci-log", ["ERROR: failed to solve: failed to copy files: write /var/lib/docker/tmp/buildkit-mount{n}/app.tar: no space left on device"]),
    ("resource", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Could not write to {path}: [Errno 28] No space left on device\"}}"]),
    ("resource", "http", ["< HTTP/1.1 507 Insufficient Storage", "{{\"error\":\"quota\",\"message\":\"disk quota exceeded\"}}"]),
    # --- database
    ("database", "service-log", ["{ts} ERROR pq: duplicate key value violates unique constraint \"{db}_pkey\"", "{ts} DETAIL: Key (id)=({big}) already exists."]),
    ("database", "service-log", ["{ts} ERROR deadlock detected", "{ts} DETAIL: Process {big} waits for ShareLock on transaction {big}; blocked by process {big}."]),
    ("database", "service-log", ["{ts} ERROR sqlalchemy.exc.OperationalError: (psycopg2.errors.UndefinedTable) relation \"{db}_items\" does not exist"]),
    ("database", "service-log", ["{ts} ERROR Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"]),
    ("database", "service-log", ["{ts} FATAL sorry, too many clients already"]),
    ("database", "service-log", ["{ts} ERROR sqlite3.OperationalError: database is locked"]),
    ("database", "ci-log", ["django.db.utils.ProgrammingError: column \"{db}_order.status\" does not exist", "LINE 1: SELECT \"{db}_order\".\"status\" FROM \"{db}_order\""]),
    ("database", "ci-log", ["Error: P3009", "migrate found failed migrations in the target database, new migrations will not be applied."]),
    ("database", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Database query failed: ERROR:  syntax error at or near \\\"GRANTT\\\"\"}}"]),
    ("database", "http", ["< HTTP/1.1 500 Internal Server Error", "{{\"error\":\"SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry '{big}' for key 'PRIMARY'\"}}"]),
    # --- validation
    ("validation", "http", ["< HTTP/1.1 400 Bad Request", "{{\"error\":\"invalid_request\",\"message\":\"field 'email' must be a valid email address\"}}"]),
    ("validation", "http", ["< HTTP/1.1 422 Unprocessable Entity", "{{\"errors\":[{{\"field\":\"quantity\",\"message\":\"must be greater than 0\"}}]}}"]),
    ("validation", "service-log", ["{ts} ERROR json: cannot unmarshal string into Go struct field Order.amount of type int64"]),
    ("validation", "service-log", ["{ts} ERROR pydantic_core._pydantic_core.ValidationError: 1 validation error for Order", "price", "  Input should be a valid number [type=float_parsing, input_value='abc', input_type=str]"]),
    ("validation", "service-log", ["{ts} ERROR rejected message {id}: schema validation failed: missing required property 'customer_id'"]),
    ("validation", "ci-log", ["SyntaxError: Unexpected token '}}' in JSON at position {big}", "    at JSON.parse (<anonymous>)"]),
    ("validation", "ci-log", ["error: invalid value 'fast' for '--profile <PROFILE>'", "  [possible values: dev, release]"]),
    ("validation", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"value of state must be one of: present, absent, latest, got: installed\"}}"]),
    ("validation", "service-log", ["{ts} WARN  bad request from {ip}: invalid UTF-8 in header 'X-Customer'"]),
    # --- timeout
    ("timeout", "service-log", ["{ts} ERROR context deadline exceeded while calling {host}:{port}"]),
    ("timeout", "service-log", ["{ts} ERROR requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=10)"]),
    ("timeout", "service-log", ["{ts} ERROR ERROR: canceling statement due to statement timeout", "{ts} STATEMENT: SELECT * FROM {db}_events WHERE ..."]),
    ("timeout", "service-log", ["{ts} ERROR java.net.SocketTimeoutException: Read timed out", "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)"]),
    ("timeout", "ci-log", ["ERROR: Job failed: execution took longer than 1h0m0s seconds"]),
    ("timeout", "ci-log", ["  ● orders › creates an order", "    thrown: \"Exceeded timeout of 5000 ms for a test.\""]),
    ("timeout", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"elapsed\": 300, \"msg\": \"Timeout when waiting for {host}:{port}\"}}"]),
    ("timeout", "http", ["< HTTP/1.1 504 Gateway Timeout", "<html><body><h1>504 Gateway Time-out</h1></body></html>"]),
    ("timeout", "http", ["curl: (28) Operation timed out after 30001 milliseconds with 0 bytes received"]),
    # --- configuration
    ("configuration", "service-log", ["{ts} FATAL config: required environment variable DATABASE_URL is not set"]),
    ("configuration", "service-log", ["{ts} ERROR x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\")"]),
    ("configuration", "service-log", ["{ts} ERROR could not load config {path}: yaml: line {n}: mapping values are not allowed in this context"]),
    ("configuration", "service-log", ["{ts} ERROR ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)"]),
    ("configuration", "ci-log", ["Error: Input required and not supplied: token"]),
    ("configuration", "ci-log", ["error: failed to parse manifest at `/home/runner/work/{svc}/Cargo.toml`", "", "Caused by:", "  unknown feature `tls-rustls` in dependency `reqwest`"]),
    ("configuration", "ansible", ["fatal: [{host}]: FAILED! => {{\"msg\": \"The task includes an option with an undefined variable. The error was: 'db_password' is undefined\"}}"]),
    ("configuration", "ansible", ["ERROR! Syntax Error while loading YAML.", "  did not find expected key", "The error appears to be in '/home/{user}/playbooks/site.yml': line {n}, column 3"]),
    ("configuration", "http", ["curl: (60) SSL certificate problem: unable to get local issuer certificate"]),
    # --- dependency
    ("dependency", "http", ["< HTTP/1.1 503 Service Unavailable", "< Retry-After: 30", "upstream connect error or disconnect/reset before headers. reset reason: connection failure"]),
    ("dependency", "http", ["< HTTP/1.1 502 Bad Gateway", "<html><head><title>502 Bad Gateway</title></head><body><center>nginx/1.25.3</center></body></html>"]),
    ("dependency", "service-log", ["{ts} ERROR {svc}: upstream inventory returned 503 Service Unavailable", "{ts} ERROR order {id}: cannot reserve stock"]),
    ("dependency", "service-log", ["{ts} ERROR grpc: code = Unavailable desc = name resolver error: produced zero addresses"]),
    ("dependency", "service-log", ["{ts} WARN  circuit breaker 'payments' is OPEN; failing fast", "{ts} ERROR checkout {id}: payments service unavailable"]),
    ("dependency", "ci-log", ["npm ERR! code E503", "npm ERR! 503 Service Unavailable - GET https://registry.npmjs.org/left-pad"]),
    ("dependency", "ci-log", ["E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/c/curl/curl_8.5.0_amd64.deb  503  Service Unavailable [IP: 185.125.190.{n} 80]"]),
    ("dependency", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Status code was 502 and not [200]: HTTP Error 502: Bad Gateway\", \"status\": 502}}"]),
    # --- permission
    ("permission", "service-log", ["{ts} ERROR open {path}: permission denied"]),
    ("permission", "service-log", ["{ts} ERROR PermissionError: [Errno 13] Permission denied: '{path}'"]),
    ("permission", "service-log", ["{ts} ERROR pq: permission denied for table {db}_orders"]),
    ("permission", "http", ["< HTTP/1.1 403 Forbidden", "{{\"error\":\"forbidden\",\"message\":\"You do not have access to this resource\"}}"]),
    ("permission", "http", ["< HTTP/1.1 403 Forbidden", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>{id}</RequestId></Error>"]),
    ("permission", "ci-log", ["remote: Permission to acme/{svc}.git denied to {user}.", "fatal: unable to access 'https://github.com/acme/{svc}.git/': The requested URL returned error: 403"]),
    ("permission", "ci-log", ["Error: An error occurred (AccessDeniedException) when calling the UpdateFunctionCode operation: User: arn:aws:iam::{big}:user/{user} is not authorized to perform: lambda:UpdateFunctionCode"]),
    ("permission", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Missing sudo password\"}}"]),
    ("permission", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"Could not replace file: /etc/nginx/nginx.conf: [Errno 1] Operation not permitted\"}}"]),
    # --- unknown: nothing a reader could classify from the text alone
    ("unknown", "service-log", ["{ts} ERROR {svc}: unexpected state 7 in reconcile loop for {id}"]),
    ("unknown", "service-log", ["{ts} ERROR worker-{n} exited with status 3"]),
    ("unknown", "ci-log", ["Process completed with exit code 1."]),
    ("unknown", "ci-log", ["make: *** [Makefile:{n}: test] Error 2"]),
    ("unknown", "ansible", ["fatal: [{host}]: FAILED! => {{\"changed\": true, \"cmd\": [\"/opt/app/bin/migrate\"], \"rc\": 1, \"stderr\": \"\", \"stdout\": \"\"}}"]),
    ("unknown", "http", ["< HTTP/1.1 418 I'm a teapot"]),
    ("unknown", "service-log", ["{ts} ERROR panicked at src/ledger.rs:{n}:5: assertion `left == right` failed"]),
]

# Failures that follow from the root cause, appended after it in hard cases.
CONSEQUENCE = {
    "service-log": ["{ts} ERROR request {id} failed: 500 Internal Server Error", "{ts} WARN  health check failed, marking instance unhealthy"],
    "ci-log": ["Error: Process completed with exit code 1.", "ERROR: Job failed: exit code 1"],
    "ansible": ["PLAY RECAP *********************************************************************",
                "{host}                 : ok=3    changed=1    unreachable=0    failed=1    skipped=0"],
    "http": ["* Connection #0 to host {host} left intact"],
}


def fill(line, v):
    return line.format(**v)


def case(category, kind, lines, variant):
    v = vals()
    noise = NOISE[kind]
    before = [R.choice(noise) for _ in range(R.randint(0, 2) if variant == 0 else R.randint(3, 8))]
    after = []
    if variant >= 1:
        after += [R.choice(noise) for _ in range(R.randint(0, 3))]
    if variant == 2:
        after += CONSEQUENCE[kind]
    if kind == "http" and not any(l.startswith("curl:") for l in lines):
        # A response: request lines, then the status and body.
        before = [l for l in before if l.startswith(("*", ">"))]
        after = [l for l in after if l.startswith("<")]
    out = []
    base = R.randint(0, 3000)
    t = base
    for l in before + lines + after:
        t += R.randint(0, 2)
        v["ts"] = f"{v['ts'][:14]}{t // 60 % 60:02d}:{t % 60:02d}.{R.randint(0, 999):03d}Z"
        out.append(fill(l, v))
    return "\n".join(out)


DB_CLIENT = re.compile(r"ERROR redis: |connect to \S+ port (?:5432|3306|6379|27017) ")


def main():
    out = []
    for i, (category, kind, lines) in enumerate(T):
        for variant in range(3):
            text = case(category, kind, lines, variant)
            # Issue 17: a database client that cannot reach its server (named
            # by its driver or port) is `database`, even when the socket says
            # refused. The id keeps the template's first label.
            label = "database" if category == "network" and DB_CLIENT.search(text) else category
            out.append({
                "id": f"{category}-{kind}-{i:03d}-{variant}",
                "kind": kind,
                "text": text,
                "category": label,
                "remedy": REMEDY[label],
            })
    for c in out:
        print(json.dumps(c, ensure_ascii=False))


if __name__ == "__main__":
    main()
