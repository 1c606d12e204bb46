"""Runs a list of hvac calls against one Vault address and prints their results as JSON.

Used by test/e2e/real-clients.test.ts, which runs it once against Envoy and once against Vault.

    python hvac_calls.py '{"url": "http://127.0.0.1:8100", "token": "hvs.…",
                           "calls": [{"op": "kv2_read", "mount": "secret", "path": "app/one"}]}'

Prints one JSON object: {"hvac": version, "results": [...]}, one result per call, in order:
{"ok": true, "response": <what hvac returned>, "status": N, "headers": {"x-cache": …, "age": …}}
or {"ok": false, "error": <exception class>, "status": N, "errors": [...]} when hvac raised.
`status`/`headers` are those of the call's last HTTP response, seen through a requests response hook
(hvac itself returns only the parsed body).
"""

import importlib.metadata
import json
import sys
import time

import hvac
import hvac.exceptions
import requests

SEEN_HEADERS = ("x-cache", "age", "content-type")


def call(client, spec):
    op = spec["op"]
    if op == "kv2_read":
        return client.secrets.kv.v2.read_secret_version(
            path=spec["path"], mount_point=spec.get("mount", "secret"), raise_on_deleted_version=True
        )
    if op == "kv2_write":
        return client.secrets.kv.v2.create_or_update_secret(
            path=spec["path"], secret=spec["data"], mount_point=spec.get("mount", "secret")
        )
    if op == "kv1_read":
        return client.secrets.kv.v1.read_secret(path=spec["path"], mount_point=spec["mount"])
    if op == "lookup_self":
        return client.auth.token.lookup_self()
    if op == "sleep":  # between two calls, so that a cached answer's Age is at least 1
        time.sleep(spec["seconds"])
        return None
    if op == "approle_login":
        return client.auth.approle.login(
            role_id=spec["role_id"], secret_id=spec["secret_id"], use_token=False,
            mount_point=spec.get("mount", "approle"),
        )
    raise ValueError(f"unknown op {op!r}")


def main():
    args = json.loads(sys.argv[1])
    last = {}

    def remember(response, *_args, **_kwargs):
        last["status"] = response.status_code
        last["headers"] = {h: response.headers[h] for h in SEEN_HEADERS if h in response.headers}

    session = requests.Session()
    session.hooks["response"].append(remember)
    client = hvac.Client(url=args["url"], token=args.get("token"), session=session, timeout=30)

    results = []
    for spec in args["calls"]:
        last.clear()
        try:
            response = call(client, spec)
            results.append({"ok": True, "response": response, **last})
        except hvac.exceptions.VaultError as err:
            results.append({"ok": False, "error": type(err).__name__, "errors": err.errors, **last})
    print(json.dumps({"hvac": importlib.metadata.version("hvac"), "results": results}))


if __name__ == "__main__":
    main()
