"""Reuse check against the stand-in (`cargo xtask contract`): the Python client
that openapi-python-client generates from openapi.yaml lists every
CoworkerTimePass page by page from a running `nexudus serve`, retrying the
answers a real tenant gets too (409 throttled, with Retry-After; 503), and
checks that it saw the expected number of distinct records, each once.

Usage: list_all.py --base-url URL --client-dir DIR --package NAME
                   --email E --password P --expect N
"""

import argparse
import importlib
import sys
import time

import httpx

MAX_ATTEMPTS = 20
MAX_PAGES = 10_000


def sign_in(base_url: str, email: str, password: str) -> str:
    """The bearer token: the token endpoint takes form-encoded bodies only."""
    form = {"grant_type": "password", "username": email, "password": password}
    for _ in range(MAX_ATTEMPTS):
        answer = httpx.post(f"{base_url}/api/token", data=form, timeout=30)
        if answer.status_code == 200:
            return answer.json()["access_token"]
        if answer.status_code not in (409, 429, 503):
            sys.exit(f"sign-in refused: {answer.status_code} {answer.text}")
        time.sleep(wait_of(answer.headers))
    sys.exit("sign-in kept failing")


def wait_of(headers) -> float:
    """Seconds to wait: Retry-After when the server sends one, else a short pause."""
    try:
        return max(float(headers.get("retry-after", "0.2")), 0.1)
    except ValueError:
        return 0.5


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--base-url", "--client-dir", "--package", "--email", "--password"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--expect", type=int, required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.client_dir)
    client_mod = importlib.import_module(args.package)
    listing = importlib.import_module(
        f"{args.package}.api.coworker_time_pass.list_coworker_time_passes"
    )

    token = sign_in(args.base_url, args.email, args.password)
    client = client_mod.AuthenticatedClient(base_url=args.base_url, token=token, timeout=30.0)
    seen: list[int] = []
    retries = 0
    page = 1
    while page <= MAX_PAGES:
        for _ in range(MAX_ATTEMPTS):
            answer = listing.sync_detailed(client=client, page=page, size=100)
            if answer.status_code == 200 and answer.parsed is not None:
                break
            if answer.status_code not in (409, 429, 503):
                sys.exit(f"page {page}: unexpected {answer.status_code}: {answer.content[:200]!r}")
            retries += 1
            time.sleep(wait_of(answer.headers))
        else:
            sys.exit(f"page {page}: still failing after {MAX_ATTEMPTS} attempts")
        parsed = answer.parsed
        seen.extend(record.id for record in parsed.records)
        if not parsed.has_next_page:
            break
        page += 1
    distinct = len(set(seen))
    print(f"python: {len(seen)} records on {page} pages, {distinct} distinct, {retries} retries")
    if len(seen) != args.expect or distinct != args.expect:
        sys.exit(f"expected {args.expect} distinct records, each once")


if __name__ == "__main__":
    main()
