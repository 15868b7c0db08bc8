#!/usr/bin/env python3
"""
Entry point of the dbt Container Apps job started by durable-pipelines.

  1. reads the Snowflake credentials from Key Vault (KEY_VAULT_URL) with the job's managed identity
     into environment variables, unless they are already set (e.g. as Container Apps secret refs);
  2. runs `dbt <args>` (the execution's args; `run` when none) in the project baked into the image;
  3. uploads target/run_results.json to DP_RESULTS_URL (a blob URL chosen by the app per run, step
     and attempt) with the managed identity;
  4. exits with dbt's exit code.

Standard library only: the identity endpoint, Key Vault and Blob Storage are plain REST calls, so
the image holds nothing but dbt and this file, and no credential is ever written to disk.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PROJECT_DIR = os.environ.get("DBT_PROJECT_DIR", "/app/project")
PROFILES_DIR = os.environ.get("DBT_PROFILES_DIR", "/app/profiles")
STORAGE_RESOURCE = "https://storage.azure.com/"
VAULT_RESOURCE = "https://vault.azure.net"
BLOB_API_VERSION = "2023-11-03"
KEY_VAULT_API_VERSION = "7.4"

# env var = Key Vault secret name; the seed pipeline's names. Override with DBT_SECRET_ENV.
DEFAULT_SECRET_ENV = ",".join(
    [
        "SNOWFLAKE_ACCOUNT=snowflake-account",
        "SNOWFLAKE_USER=snowflake-user",
        "SNOWFLAKE_PRIVATE_KEY=snowflake-private-key",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=snowflake-private-key-passphrase",
        "SNOWFLAKE_WAREHOUSE=snowflake-warehouse",
        "SNOWFLAKE_DATABASE=snowflake-database",
        "SNOWFLAKE_SCHEMA=snowflake-schema",
        "SNOWFLAKE_ROLE=snowflake-role",
    ]
)

# Exit code when the job could not even start dbt (credentials unreadable): no run_results.json
# is uploaded, so the app treats the execution as failed before dbt ran and retries it.
EXIT_SETUP_FAILED = 3


def log(message, **fields):
    """One JSON line on stderr, picked up by the Container Apps log stream."""
    print(json.dumps({"msg": message, **fields}), file=sys.stderr, flush=True)


class HttpStatusError(Exception):
    def __init__(self, status, detail):
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


def request(req, attempts=4):
    """urlopen with retries on 429, 5xx and network errors (1 s, 2 s, 4 s, or Retry-After)."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")[:300]
            retryable = error.code == 429 or error.code >= 500
            if not retryable or attempt == attempts:
                raise HttpStatusError(error.code, body) from None
            wait = error.headers.get("Retry-After")
            time.sleep(int(wait) if wait and wait.isdigit() else 2 ** (attempt - 1))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if attempt == attempts:
                raise
            log("request failed; retrying", error=str(getattr(error, "reason", error)))
            time.sleep(2 ** (attempt - 1))
    raise AssertionError("unreachable")


def managed_identity_token(resource):
    """A token from Container Apps' identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER), else IMDS."""
    client_id = os.environ.get("AZURE_CLIENT_ID")
    endpoint = os.environ.get("IDENTITY_ENDPOINT")
    secret_header = os.environ.get("IDENTITY_HEADER")
    if endpoint and secret_header:
        params = {"resource": resource, "api-version": "2019-08-01"}
        if client_id:
            params["client_id"] = client_id
        req = urllib.request.Request(f"{endpoint}?{urllib.parse.urlencode(params)}", headers={"X-IDENTITY-HEADER": secret_header})
    else:
        params = {"resource": resource, "api-version": "2018-02-01"}
        if client_id:
            params["client_id"] = client_id
        url = f"http://169.254.169.254/metadata/identity/oauth2/token?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, headers={"Metadata": "true"})
    _, body = request(req)
    return json.loads(body)["access_token"]


def load_secrets_from_key_vault():
    """Fills the Snowflake variables the profile reads from Key Vault; set variables win."""
    vault = os.environ.get("KEY_VAULT_URL", "").rstrip("/")
    if not vault:
        return
    wanted = []
    for pair in os.environ.get("DBT_SECRET_ENV", DEFAULT_SECRET_ENV).split(","):
        name, _, secret = pair.strip().partition("=")
        if name and secret and not os.environ.get(name):
            wanted.append((name, secret))
    if not wanted:
        return
    token = managed_identity_token(VAULT_RESOURCE)
    loaded = []
    for name, secret in wanted:
        url = f"{vault}/secrets/{urllib.parse.quote(secret)}?api-version={KEY_VAULT_API_VERSION}"
        try:
            _, body = request(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}))
        except HttpStatusError as error:
            if error.status == 404:
                continue  # optional secrets (role, passphrase) may not exist
            raise
        os.environ[name] = json.loads(body)["value"]
        loaded.append(name)
    log("read Snowflake settings from Key Vault", variables=loaded)


def upload_run_results(path, url):
    with open(path, "rb") as handle:
        data = handle.read()
    headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": BLOB_API_VERSION, "Content-Type": "application/json"}
    if "sig=" not in urllib.parse.urlsplit(url).query:
        headers["Authorization"] = f"Bearer {managed_identity_token(STORAGE_RESOURCE)}"
    request(urllib.request.Request(url, data=data, method="PUT", headers=headers))
    safe_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(query=""))
    log("uploaded run_results.json", blob=safe_url, bytes=len(data))


def run_dbt(args):
    """Runs dbt, passing SIGTERM/SIGINT on so a stopped execution cancels its Snowflake queries."""
    env = {**os.environ, "DBT_PROJECT_DIR": PROJECT_DIR, "DBT_PROFILES_DIR": PROFILES_DIR}
    child = subprocess.Popen(["dbt", *args], cwd=PROJECT_DIR, env=env)

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return child.wait()


def main(argv):
    args = argv[1:] or ["run"]
    results = os.path.join(PROJECT_DIR, os.environ.get("DBT_TARGET_PATH", "target"), "run_results.json")
    # A results file left by an earlier run in the image must never be reported as this run's.
    if os.path.exists(results):
        os.remove(results)
    try:
        load_secrets_from_key_vault()
    except Exception as error:  # noqa: BLE001 - any failure here means dbt cannot connect
        log("could not read the Snowflake settings from Key Vault", error=str(error))
        return EXIT_SETUP_FAILED

    log("running dbt", args=args, run=os.environ.get("DP_RUN_ID"), step=os.environ.get("DP_STEP_ID"), attempt=os.environ.get("DP_ATTEMPT"))
    code = run_dbt(args)
    log("dbt finished", exit_code=code)

    url = os.environ.get("DP_RESULTS_URL")
    if not url:
        log("DP_RESULTS_URL is not set; run_results.json not uploaded")
    elif not os.path.exists(results):
        log("dbt wrote no run_results.json; nothing to upload")
    else:
        try:
            upload_run_results(results, url)
        except Exception as error:  # noqa: BLE001 - dbt's own exit code still tells the outcome
            log("could not upload run_results.json", error=str(error))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
