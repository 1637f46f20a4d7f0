"""Load scenarios for `make load` (RELIABILITY.md §7). Run through bench/load.py.

Providers browse Customers and Indirect resellers (filters, search, pages), add
customers through the wizard and send partnership requests; resellers browse their
dashboard and lists. Overall mix of iterations: 80 % browsing, 15 % wizard, 5 % request.

Environment (set by bench/load.py):
  LOAD_RUN_ID        unique label; wizard domains, sign-in domains and invitation
                     addresses carry it
  LOAD_OUT           directory for <run id>.json (counters and per-step statistics)
  LOAD_PROVIDERS     number of seeded provider logins (load-provider-<n>@scale.example)
  LOAD_RESELLERS     number of seeded reseller logins
  LOAD_PASSWORD      their password (seed_scale prints it)
  LOAD_SHAPE         "steps" for the step load; anything else: -u/-r/-t from the command line
  LOAD_STEPS         user counts of the step load (default 5,10,20,40,80)
  LOAD_STEP_SECONDS  length of each step (default 60)
  LOAD_P95_FAIL_MS   with it, the run fails when the overall p95 exceeds it
  LOAD_WAIT          think time "min,max" in seconds (default 0,0: no think time)
"""

import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from datetime import date
from html import unescape
from pathlib import Path

from locust import HttpUser, LoadTestShape, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.forms import post_form

RUN_ID = os.environ.get("LOAD_RUN_ID", f"lt{uuid.uuid4().hex[:8]}")
OUT = Path(os.environ.get("LOAD_OUT", Path(__file__).parent / "out"))
PROVIDERS = int(os.environ.get("LOAD_PROVIDERS", "1"))
RESELLERS = int(os.environ.get("LOAD_RESELLERS", "50"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "scale-load-2026")
STEPS = [int(n) for n in os.environ.get("LOAD_STEPS", "5,10,20,40,80").split(",")]
STEP_SECONDS = float(os.environ.get("LOAD_STEP_SECONDS", "60"))
P95_FAIL_MS = float(os.environ.get("LOAD_P95_FAIL_MS", "0") or 0)
WAIT = [float(x) for x in os.environ.get("LOAD_WAIT", "0,0").split(",")]
SEARCH_WORDS = ["alpine", "cedar", "nova", "labs", "systems", "zen", "river", "c12", "gmbh"]

# Writes the run made (the process is single: gevent greenlets, no locking needed).
COUNTERS = {
    "orders": 0,
    "subscriptions": 0,
    "partnership_sends": 0,
    "logins": 0,
    "task_errors": 0,
}
STEP_RESULTS: list[dict] = []
_logins = {"provider": itertools.count(), "reseller": itertools.count()}


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(*WAIT)
    kind = ""

    def on_start(self):
        n = next(_logins[self.kind]) % (PROVIDERS if self.kind == "provider" else RESELLERS)
        self.email = f"load-{self.kind}-{n + 1}@scale.example"
        self.uid = uuid.uuid4().hex[:8]
        self.seq = itertools.count(1)
        page = self.client.get("/accounts/login/", name="login page")
        token = post_form(page.text, "password")["fields"]["csrfmiddlewaretoken"]
        with self.client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": self.email, "password": PASSWORD},
            name="login",
            catch_response=True,
        ) as response:
            match = re.search(r"/orgs/([a-z0-9-]+)/", response.url)
            if response.status_code != 200 or not match:
                response.failure(f"login as {self.email} ended at {response.url}")
                raise RuntimeError("login failed")
            self.base = f"/orgs/{match.group(1)}"
            COUNTERS["logins"] += 1

    def page(self, path: str, name: str, expect: str = "") -> str:
        """GET a page; a redirect to the login page or a missing marker is a failure."""
        with self.client.get(self.base + path, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/accounts/login/" in response.url:
                response.failure(f"{response.status_code} at {response.url}")
            elif expect and expect not in response.text:
                response.failure(f"{expect!r} missing")
            return response.text


class ProviderUser(PortalUser):
    """Weights give, with two providers per reseller user, 80/15/5 overall."""

    weight = 2
    kind = "provider"

    @task(60)
    def customers(self):
        page = random.randint(1, 40)  # noqa: S311
        html = self.page(f"/customers/?page={page}", "provider customers ?page", "<table")
        ids = re.findall(r"/customers/(\d+)/\"", html)
        if ids and random.random() < 0.5:  # noqa: S311
            self.page(f"/customers/{random.choice(ids)}/", "provider customer detail")  # noqa: S311

    @task(30)
    def customers_search(self):
        q = random.choice(SEARCH_WORDS)  # noqa: S311
        self.page(f"/customers/?q={q}&sort=company_name", "provider customers ?q")

    @task(20)
    def customers_by_reseller(self):
        self.page("/customers/?reseller=none&page=2", "provider customers ?reseller")

    @task(20)
    def resellers(self):
        query = random.choice(["", "?page=2", "?q=re", "?q=8000"])  # noqa: S311
        self.page(f"/resellers/{query}", "provider resellers", "<table")

    @task(10)
    def dashboard(self):
        self.page("/", "provider dashboard")

    @task(45)
    def new_customer(self):
        """Add new customer → Next: Subscriptions → Next: Review → Submit."""
        url = f"{self.base}/customers/new/"
        html = self.client.get(url, name="wizard open").text
        form = post_form(html, "current_step")
        n = next(self.seq)
        domain = f"u{self.uid}-{n}.{RUN_ID}.load.scale.example"
        # The sign-in domain is unique portal-wide (the domain's first label alone would
        # repeat from one run to the next): the run's label goes in it too.
        prefix = re.sub(r"[^a-z0-9-]", "-", f"u{self.uid}-{n}-{RUN_ID}".lower())[:63].strip("-")
        resellers = [v for v in form["options"].get("details-reseller", []) if v]
        details = {
            "company_name": f"Load Customer {self.uid} {n}",
            "domain": domain,
            "sign_in_prefix": prefix,
            "language": "en",
            "country": "US",
            "city": "Seattle",
            "street": "1 Load Street",
            "postal_code": "98052",
            "contact_first_name": "Lou",
            "contact_last_name": "Load",
            "contact_email": f"lou@{domain}",
            "contact_phone": "+1 425 555 0100",
            "agreement_accepted_on": date.today().isoformat(),  # noqa: DTZ011
            "agreement_accepted_by_name": "Lou Load",
            "agreement_accepted_by_email": f"lou@{domain}",
            "agreement_attested": "on",
            "reseller": random.choice(resellers) if resellers and random.random() < 0.4 else "",  # noqa: S311
        }
        data = {**form["fields"], **{f"details-{k}": v for k, v in details.items()}}
        html = self._step(url, data, "wizard details → subscriptions", "subscriptions-offer_")
        if html is None:
            return
        form = post_form(html, "current_step")
        offers = [k for k in form["fields"] if k.startswith("subscriptions-offer_")]
        maxima = dict(re.findall(r'name="(subscriptions-offer_\d+)"[^>]*max="(\d+)"', html))
        chosen = random.sample(offers, k=min(len(offers), random.randint(1, 2)))  # noqa: S311
        lines = {k: ("1" if maxima.get(k) == "1" else "5") for k in chosen}
        html = self._step(url, {**form["fields"], **lines}, "wizard subscriptions → review",
                          "review-idempotency_key")  # fmt: skip
        if html is None:
            return
        form = post_form(html, "review-idempotency_key")
        with self.client.post(
            url, data=form["fields"], name="wizard submit", allow_redirects=False,
            catch_response=True,
        ) as response:  # fmt: skip
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/setup-info/" not in location:
                response.failure(f"Submit answered {response.status_code} {location}")
                return
        COUNTERS["orders"] += 1
        COUNTERS["subscriptions"] += len(lines)
        self.client.get(location, name="wizard setup info")

    def _step(self, url: str, data: dict, name: str, expect: str) -> str | None:
        with self.client.post(url, data=data, name=name, catch_response=True) as response:
            if response.status_code != 200 or expect not in response.text:
                errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text, re.S)
                response.failure(f"{name}: {response.status_code} {errors[:2]}")
                return None
            return response.text

    @task(15)
    def request_partnership(self):
        """Request a partnership → (draft email) → Send."""
        html = self.page("/resellers/request/", "partnership form")
        form = post_form(html, "contact_name")
        email = f"invite-{self.uid}-{next(self.seq)}@{RUN_ID}.invite.scale.example"
        with self.client.post(
            f"{self.base}/resellers/request/",
            data={**form["fields"], "email": email, "contact_name": "Load Reseller"},
            name="partnership request",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "/send/" not in response.text:
                response.failure(f"no draft: {response.status_code}")
                return
        draft = post_form(response.text, "token")
        with self.client.post(
            unescape(draft["action"]),
            data=draft["fields"],
            name="partnership send",
            allow_redirects=False,
            catch_response=True,
        ) as sent:
            if sent.status_code != 302 or not sent.headers.get("Location", "").endswith(
                "/resellers/"
            ):
                sent.failure(f"Send answered {sent.status_code}")
                return
        COUNTERS["partnership_sends"] += 1


class ResellerUser(PortalUser):
    weight = 1
    kind = "reseller"

    @task
    def dashboard(self):
        self.page("/", "reseller dashboard")

    @task
    def customers(self):
        self.page("/customers/", "reseller customers", "<table")

    @task
    def providers(self):
        self.page("/providers/", "reseller providers")

    @task
    def subscriptions(self):
        self.page("/subscriptions/", "reseller subscriptions")


def snapshot(stats, label: str, users: int, seconds: float) -> dict:
    total = stats.total

    def figures(entry) -> dict:
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": round(entry.num_requests / seconds, 2) if seconds else 0.0,
            "p50": entry.get_response_time_percentile(0.50) or 0,
            "p95": entry.get_response_time_percentile(0.95) or 0,
            "p99": entry.get_response_time_percentile(0.99) or 0,
        }

    return {
        "scenario": label,
        "users": users,
        "seconds": round(seconds, 1),
        **figures(total),
        "by_name": {name: figures(entry) for (name, _method), entry in stats.entries.items()},
    }


if os.environ.get("LOAD_SHAPE") == "steps":

    class StepLoad(LoadTestShape):
        """5 → 10 → 20 → 40 → 80 users; statistics are kept (and reset) per step."""

        step = -1
        step_started = 0.0

        def tick(self):
            index = int(self.get_run_time() // STEP_SECONDS)
            if index != self.step:
                self.close_step()
                self.step, self.step_started = index, time.monotonic()
            if index >= len(STEPS):
                return None
            users = STEPS[index]
            return users, max(1, users // 5)

        def close_step(self):
            if 0 <= self.step < len(STEPS):
                seconds = time.monotonic() - self.step_started
                stats = self.runner.stats
                STEP_RESULTS.append(snapshot(stats, "step", STEPS[self.step], seconds))
                stats.reset_all()


@events.user_error.add_listener
def _task_error(user_instance, exception, tb, **kwargs):
    # An exception in a task (a page without the expected form) is no request failure
    # in locust's statistics; it still fails the run.
    COUNTERS["task_errors"] += 1


@events.test_start.add_listener
def _started(environment, **kwargs):
    environment.started_at = time.monotonic()


@events.quitting.add_listener
def _quitting(environment, **kwargs):
    stats = environment.stats
    shape = environment.shape_class
    if shape is not None:
        shape.close_step()
        shape.step = len(STEPS)
        overall_failures = sum(step["failures"] for step in STEP_RESULTS)
        p95 = None
    else:
        seconds = time.monotonic() - getattr(environment, "started_at", time.monotonic())
        users = environment.parsed_options.num_users if environment.parsed_options else 0
        STEP_RESULTS.append(snapshot(stats, "fixed", users, seconds))
        overall_failures = stats.total.num_failures
        p95 = stats.total.get_response_time_percentile(0.95)
    failed = overall_failures > 0 or COUNTERS["task_errors"] > 0
    if P95_FAIL_MS and p95 is not None and p95 > P95_FAIL_MS:
        failed = True
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{RUN_ID}.json").write_text(
        json.dumps(
            {"run_id": RUN_ID, "counters": COUNTERS, "results": STEP_RESULTS, "failed": failed},
            indent=2,
        )
    )
    environment.process_exit_code = 1 if failed else 0
