#!/usr/bin/env python3
"""
Entry point of the dbt Container Apps job started by durable-pipelines.

  0. writes {"execution": <CONTAINER_APP_JOB_EXECUTION_NAME>} to DP_STARTED_URL: the app finds the
     execution of an attempt by this blob when a start is delivered twice, or when ARM's start
     operation ended without naming it (Container Apps sets CONTAINER_APP_JOB_EXECUTION_NAME in a
     job's replicas: learn.microsoft.com "Manage environment variables on Azure Container Apps");
  1. when DBT_PROJECT_URL is set, downloads the dbt project (a .tar or .tar.gz blob) with the job's
     managed identity and unpacks it into a fresh directory: the job then runs the public dbt image
     (ghcr.io/dbt-labs/dbt-snowflake) with this file as `python -c`, and no registry of ours is
     needed. Otherwise the project baked into the image (DBT_PROJECT_DIR) is used;
  2. reads the Snowflake credentials from Key Vault (KEY_VAULT_URL) with the job's managed identity
     into environment variables, unless they are already set (e.g. as Container Apps secret refs);
  3. runs `dbt <args>` (the execution's args; `run` when none) in the project;
  4. uploads target/run_results.json to DP_RESULTS_URL (a blob URL chosen by the app per run, step
     and attempt) with the managed identity;
  5. exits with dbt's exit code.

Standard library only, one file: the identity endpoint, Key Vault and Blob Storage are plain REST
calls, so the script runs in any image that has Python and dbt, and no credential is ever written
to disk. It supports Python 3.8+ (the public dbt images ship 3.10/3.11).
"""
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
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

# Exit code when the job could not even start dbt (project or credentials unreadable): no
# run_results.json is uploaded, so the app treats the execution as failed before dbt ran and
# retries it.
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


def blob_headers(url):
    """Bearer token from the managed identity, unless the URL carries its own SAS."""
    headers = {"x-ms-version": BLOB_API_VERSION}
    if "sig=" not in urllib.parse.urlsplit(url).query:
        headers["Authorization"] = f"Bearer {managed_identity_token(STORAGE_RESOURCE)}"
    return headers


def without_query(url):
    """The URL as it may be logged: a SAS in the query is a credential."""
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(query=""))


def safe_members(archive, target):
    """Members that unpack inside target as plain files and directories; anything else refuses the
    archive (tarfile's own `filter="data"` exists only from Python 3.11.4/3.10.12)."""
    root = os.path.realpath(target)
    for member in archive.getmembers():
        path = os.path.realpath(os.path.join(root, member.name))
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"project archive entry {member.name!r} is not a plain file or directory")
        if os.path.commonpath([root, path]) != root:
            raise ValueError(f"project archive entry {member.name!r} points outside the project")
        yield member


def fetch_project(url):
    """Downloads and unpacks the project archive; returns the directory holding dbt_project.yml."""
    _, data = request(urllib.request.Request(url, headers=blob_headers(url)))
    target = tempfile.mkdtemp(prefix="dbt-project-")
    archive_path = os.path.join(target, ".project-archive")
    with open(archive_path, "wb") as handle:
        handle.write(data)
    with tarfile.open(archive_path, mode="r:*") as archive:
        archive.extractall(os.path.join(target, "project"), members=list(safe_members(archive, os.path.join(target, "project"))))
    os.remove(archive_path)
    project = os.path.join(target, "project")
    # `tar -C my-project .` and `tar my-project/` both work: descend into a single top folder.
    entries = [e for e in os.listdir(project) if e not in (".", "..")]
    if not os.path.exists(os.path.join(project, "dbt_project.yml")) and len(entries) == 1:
        project = os.path.join(project, entries[0])
    if not os.path.exists(os.path.join(project, "dbt_project.yml")):
        raise ValueError("the project archive has no dbt_project.yml at its top")
    log("fetched the dbt project", blob=without_query(url), bytes=len(data))
    return project


def profiles_dir_for(project):
    """The image's profiles directory when it has a profiles.yml, else the project's own."""
    if os.path.exists(os.path.join(PROFILES_DIR, "profiles.yml")):
        return PROFILES_DIR
    return project


def install_packages(project, profiles):
    """`dbt deps` when the project names packages but the archive did not bring dbt_packages/."""
    wants = any(os.path.exists(os.path.join(project, f)) for f in ("packages.yml", "dependencies.yml"))
    if not wants or os.path.isdir(os.path.join(project, "dbt_packages")):
        return 0
    log("installing dbt packages (dbt deps)")
    env = {**os.environ, "DBT_PROJECT_DIR": project, "DBT_PROFILES_DIR": profiles}
    return subprocess.call(["dbt", "deps"], cwd=project, env=env)


def announce_execution():
    """Names this execution next to the attempt's results, before anything that can fail."""
    url = os.environ.get("DP_STARTED_URL")
    name = os.environ.get("CONTAINER_APP_JOB_EXECUTION_NAME")
    if not url or not name:
        return
    headers = {**blob_headers(url), "x-ms-blob-type": "BlockBlob", "Content-Type": "application/json"}
    try:
        request(urllib.request.Request(url, data=json.dumps({"execution": name}).encode(), method="PUT", headers=headers))
        log("announced the execution", execution=name, blob=without_query(url))
    except Exception as error:  # noqa: BLE001 - the app also noted the start; dbt still runs
        log("could not announce the execution", error=str(error))


def upload_run_results(path, url):
    with open(path, "rb") as handle:
        data = handle.read()
    headers = {**blob_headers(url), "x-ms-blob-type": "BlockBlob", "Content-Type": "application/json"}
    request(urllib.request.Request(url, data=data, method="PUT", headers=headers))
    log("uploaded run_results.json", blob=without_query(url), bytes=len(data))


def run_dbt(args, project, profiles):
    """Runs dbt, passing SIGTERM/SIGINT on so a stopped execution cancels its Snowflake queries."""
    env = {**os.environ, "DBT_PROJECT_DIR": project, "DBT_PROFILES_DIR": profiles}
    child = subprocess.Popen(["dbt", *args], cwd=project, env=env)

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return child.wait()


def main(argv):
    # `python entrypoint.py run …` and `python -c "<this file>" run …` both leave dbt's args at [1:].
    args = argv[1:] or ["run"]
    announce_execution()
    project = PROJECT_DIR
    project_url = os.environ.get("DBT_PROJECT_URL")
    if project_url:
        try:
            project = fetch_project(project_url)
        except Exception as error:  # noqa: BLE001 - without a project there is nothing to run
            log("could not fetch the dbt project", blob=without_query(project_url), error=str(error))
            return EXIT_SETUP_FAILED
    profiles = profiles_dir_for(project)
    results = os.path.join(project, os.environ.get("DBT_TARGET_PATH", "target"), "run_results.json")
    # A results file left by an earlier run in the image must never be reported as this run's.
    if os.path.exists(results):
        os.remove(results)
    try:
        load_secrets_from_key_vault()
    except Exception as error:  # noqa: BLE001 - any failure here means dbt cannot connect
        log("could not read the Snowflake settings from Key Vault", error=str(error))
        return EXIT_SETUP_FAILED

    if install_packages(project, profiles) != 0:
        log("dbt deps failed")
        return EXIT_SETUP_FAILED

    log("running dbt", args=args, run=os.environ.get("DP_RUN_ID"), step=os.environ.get("DP_STEP_ID"), attempt=os.environ.get("DP_ATTEMPT"))
    code = run_dbt(args, project, profiles)
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
