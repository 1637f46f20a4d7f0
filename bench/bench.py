"""`make bench`: the performance budgets of issue 8, measured at scale, as ratios.

1. A dedicated database (BENCH_DATABASE_URL, default portal_bench), migrated, seeded once
   with `seed_scale --providers 3 --resellers 5000 --customers 1000000
   --subscriptions 3000000 --small 1000` (reused when it is already there) and analyzed.
   Provider 2 has 998,000 customers; providers 1 and 3 have 1,000 each.
2. In this process, through Django's test client (the whole request: middleware,
   sessions, views, templates, SQL on the real PostgreSQL), medians over BENCH_REPEAT runs
   taken in turns so drift hits both sides alike:
   - flat: each page for the big provider / the same page for the small one, and the
     Subscriptions page for a big reseller of the big provider / a small reseller of a
     small one (<= 1.3);
   - lean: each list page / its 25 rows in a plain template loop (bench/plain.py) (<= 2);
   - EXPLAIN of every query of those pages for the big provider and the big reseller: no
     Seq Scan of a tenant table;
   - Submit of Add new customer with three subscriptions, and a license change, for the
     big provider: median and p95;
   - 1,000 partnership requests through a real Celery worker to a local SMTP server,
     against a plain loop of Django's mail API sending the same 1,000 messages.
3. A table of figures; bench/out/bench.json. Exit status 0 only when every budget holds.

Knobs: BENCH_DATABASE_URL, BENCH_BROKER_URL (redis db 8), BENCH_CACHE_URL (redis db 9),
BENCH_REPEAT (15), BENCH_ORDERS (20), BENCH_LICENSE_CHANGES (30), BENCH_EMAILS (1000),
BENCH_SKIP (comma list of: flat, lean, explain, orders, email).
"""

import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.db.models import Count, Q  # noqa: E402

from bench.forms import post_form  # noqa: E402
from bench.load import BIN, OUT, Stack, ensure_database, free_port, machine, wait_for  # noqa: E402

ENV = os.environ.get
DATABASE_URL = ENV("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
BROKER_URL = ENV("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
REPEAT = int(ENV("BENCH_REPEAT", "15"))
ORDERS = int(ENV("BENCH_ORDERS", "20"))
LICENSE_CHANGES = int(ENV("BENCH_LICENSE_CHANGES", "30"))
EMAILS = int(ENV("BENCH_EMAILS", "1000"))
SKIP = set(filter(None, ENV("BENCH_SKIP", "").split(",")))
SEED = {
    "providers": 3,
    "resellers": 5000,
    "customers": 1_000_000,
    "subscriptions": 3_000_000,
    "small": 1000,
}
FLAT_BUDGET, LEAN_BUDGET = 1.3, 2.0
SMALL, BIG, MAILER = "scale-provider-1", "scale-provider-2", "scale-provider-3"
SMALL_TABLE = 1000  # rows; see small_tables()
SEARCH = "Harbor"  # one of seed_scale's name words: about 1 company name in 37


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def environment(smtp_port: int) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_QUEUE": "bench",
        "CACHE_URL": ENV("BENCH_CACHE_URL", "redis://127.0.0.1:6379/9"),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DEBUG": "false",
        "SECRET_KEY": ENV("SECRET_KEY", "insecure-bench-key-only-for-make-bench-0123456789"),
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "RATE_LIMITS": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own venv's python)
        [BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def prepare(env: dict) -> dict:
    """Migrate, seed (only when the data set is missing), analyze, collect static files."""
    ensure_database(DATABASE_URL)
    log("migrate")
    manage(env, "migrate", "--no-input", "-v0")
    seed_file = OUT / "bench-seed.json"
    started = time.monotonic()
    log("seed_scale (reuses the data set when it is there; about 8 minutes when not)")
    output = manage(env, "seed_scale", "--force", *[f"--{k}={v}" for k, v in SEED.items()])
    loaded = re.search(r"Loaded ([\d,]+) rows in ([\d.]+) s \(([\d,]+) rows/s\)", output)
    if loaded:
        seed = {
            "rows": int(loaded[1].replace(",", "")),
            "seconds": float(loaded[2]),
            "rows_per_second": int(loaded[3].replace(",", "")),
            "on": date.today().isoformat(),  # noqa: DTZ011
        }
        seed_file.write_text(json.dumps(seed))
    else:
        seed = json.loads(seed_file.read_text()) if seed_file.exists() else {}
        seed["reused_in_seconds"] = round(time.monotonic() - started, 1)
    log("ANALYZE, collectstatic")
    analyze = "from django.db import connection; connection.cursor().execute('ANALYZE')"
    manage(env, "shell", "-c", analyze)
    manage(env, "collectstatic", "--no-input", "-v0")
    return seed


# ---------------------------------------------------------------------------------------
# Measurements, in this process
# ---------------------------------------------------------------------------------------
def login(email: str):
    from django.test import Client

    from portal.models import User
    from portal.scoping import unscoped

    client = Client()
    with unscoped("the benchmark logs in its users"):
        client.force_login(User.objects.get(email=email))
    return client


def timed_get(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed * 1000


def medians(pairs: dict[str, tuple], repeat: int) -> dict[str, float]:
    """Every (client, url) of `pairs` once per round, `repeat` rounds; median ms of each."""
    samples = {name: [] for name in pairs}
    for client, url in pairs.values():
        timed_get(client, url)  # warm: templates, connections, the cached counts
    for _ in range(repeat):
        for name, (client, url) in pairs.items():
            samples[name].append(timed_get(client, url))
    return {name: statistics.median(values) for name, values in samples.items()}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class World:
    def __init__(self):
        from customers.models import Customer
        from portal.scoping import unscoped
        from subscriptions.models import Subscription

        self.small, self.big = (
            login("load-provider-1@scale.example"),
            login("load-provider-2@scale.example"),
        )
        self.clients = {SMALL: self.small, BIG: self.big}
        self.customer, self.reseller = {}, {}
        # The reseller side of the Subscriptions page: the big provider's reseller with
        # the most customers, and the small provider's with the most renewing soon.
        self.small_reseller, self.big_reseller = self.reseller_slugs()
        for slug in (self.small_reseller, self.big_reseller):
            self.clients[slug] = login(f"load-reseller-{slug.rsplit('-', 1)[1]}@scale.example")
        self.label = {
            SMALL: "small provider",
            BIG: "big provider",
            self.small_reseller: "small reseller",
            self.big_reseller: "big reseller",
        }
        with unscoped("the benchmark picks its sample rows"):
            for slug in (SMALL, BIG):
                delegated = (
                    Customer.objects.filter(provider__slug=slug)
                    .exclude(reseller=None)
                    .order_by("pk")
                )
                self.reseller[slug] = delegated.values_list("reseller_id", flat=True).first()
                self.customer[slug] = (
                    Subscription.objects.filter(customer__provider__slug=slug)
                    .order_by("customer_id")
                    .values_list("customer_id", flat=True)
                    .first()
                )
        self.last = {slug: self.last_full_pages(slug) for slug in (SMALL, BIG)}

    @staticmethod
    def reseller_slugs() -> tuple[str, str]:
        """(small, big): the small provider's reseller with the most subscriptions renewing
        within 30 days (a full first page with the filter too, where the seed has one) and
        the big provider's reseller with the most delegated customers."""
        from django.utils import timezone

        from customers.models import Customer
        from partners.models import Organization
        from portal.scoping import unscoped
        from subscriptions.models import Subscription
        from subscriptions.selectors import renews_within_q

        with unscoped("the benchmark picks its resellers"):
            renewing = Subscription.objects.filter(
                renews_within_q(today=timezone.localdate(), days=30),
                customer__provider__slug=SMALL,
                customer__reseller__isnull=False,
            )
            small = (
                renewing.values("customer__reseller")
                .annotate(n=Count("pk"))
                .order_by("-n", "customer__reseller")
                .values_list("customer__reseller", flat=True)
                .first()
            )
            big = (
                Customer.objects.filter(provider__slug=BIG, reseller__isnull=False)
                .values("reseller")
                .annotate(n=Count("pk"))
                .order_by("-n", "reseller")
                .values_list("reseller", flat=True)
                .first()
            )
            slugs = dict(Organization.objects.filter(pk__in=[small, big]).values_list("pk", "slug"))
        return slugs[small], slugs[big]

    @staticmethod
    def last_full_pages(slug: str) -> dict[str, int]:
        """The last page of each list that holds a full page of rows: the very last page
        may hold 1 row for one provider and 24 for the other, which would compare the
        cost of rows instead of the cost of reaching the end of the list."""
        from customers.models import Customer
        from partners.models import AuditEvent, Organization, Partnership
        from portal.scoping import unscoped

        def last_full(count: int, per_page: int) -> int:
            return max(1, count // per_page)

        with unscoped("the benchmark sizes its lists"):
            org = Organization.objects.get(slug=slug)
            customers = Customer.objects.filter(provider=org)
            search = customers.filter(
                Q(company_name__icontains=SEARCH) | Q(domain__icontains=SEARCH)
            )
            return {
                "resellers": last_full(
                    Partnership.objects.filter(provider=org, ended_at=None).count(), 25
                ),
                "customers": last_full(customers.count(), 25),
                "search": last_full(search.count(), 25),
                "activity": last_full(
                    AuditEvent.objects.filter(AuditEvent.visible_to(org)).count(), 50
                ),
            }

    def pages(self, slug: str) -> dict[str, str]:
        base, last = f"/orgs/{slug}", self.last[slug]
        return {
            "Indirect resellers": f"{base}/resellers/",
            "Indirect resellers, last page": f"{base}/resellers/?page={last['resellers']}",
            "Customers": f"{base}/customers/",
            "Customers, last page": f"{base}/customers/?page={last['customers']}",
            "Customers, reseller filter": f"{base}/customers/?reseller={self.reseller[slug]}",
            "Customers, search": f"{base}/customers/?q={SEARCH}",
            "Customers, search, last page": f"{base}/customers/?q={SEARCH}&page={last['search']}",
            "A customer's Subscriptions": f"{base}/customers/{self.customer[slug]}/",
            "Activity": f"{base}/activity/",
            "Activity, last page": f"{base}/activity/?page={last['activity']}",
            **self.subscription_pages(slug),
        }

    @staticmethod
    def subscription_pages(slug: str) -> dict[str, str]:
        base = f"/orgs/{slug}/subscriptions/"
        return {
            "Subscriptions": base,
            "Subscriptions, renews in 30 days": f"{base}?renews_within=30",
        }

    def sides(self):
        """(what, small org, big org, its pages): the providers' pages, then the resellers'."""
        yield "", SMALL, BIG, self.pages
        yield "Reseller's ", self.small_reseller, self.big_reseller, self.subscription_pages

    def plain(self, slug: str) -> dict[str, tuple[str, str]]:
        """List page → (the page, its plain-loop baseline)."""
        base = f"/orgs/{slug}"
        subscriptions = {  # the same query string: the same filter
            name: (url, f"{base}/bench-plain/subscriptions/" + "".join(url.partition("?")[1:]))
            for name, url in self.subscription_pages(slug).items()
        }
        if slug not in (SMALL, BIG):
            return subscriptions
        pages = self.pages(slug)
        return {
            "Indirect resellers": (pages["Indirect resellers"], f"{base}/bench-plain/resellers/"),
            "Customers": (pages["Customers"], f"{base}/bench-plain/customers/"),
            "A customer's Subscriptions": (
                pages["A customer's Subscriptions"],
                f"{base}/bench-plain/customers/{self.customer[slug]}/",
            ),
            # Activity shows 50 a page: compared at 25, the plain loop's count.
            "Activity": (f"{pages['Activity']}?per_page=25", f"{base}/bench-plain/activity/"),
            **subscriptions,
        }


def flat(world: World) -> list[dict]:
    pairs = {}
    for side, small_slug, big_slug, pages in world.sides():
        small, big = pages(small_slug), pages(big_slug)
        for name in small:
            pairs[(side + name, "small")] = (world.clients[small_slug], small[name])
            pairs[(side + name, "big")] = (world.clients[big_slug], big[name])
    got = medians(pairs, REPEAT)
    rows = []
    for name in dict.fromkeys(name for name, _ in pairs):
        ratio = got[(name, "big")] / got[(name, "small")]
        rows.append(
            {
                "page": name,
                "small_ms": round(got[(name, "small")], 1),
                "big_ms": round(got[(name, "big")], 1),
                "ratio": round(ratio, 2),
                "ok": ratio <= FLAT_BUDGET,
            }
        )
    return rows


def lean(world: World) -> list[dict]:
    rows = []
    for slug in (BIG, SMALL, world.big_reseller, world.small_reseller):
        client = world.clients[slug]
        pairs = {}
        for name, (page, plain) in world.plain(slug).items():
            pairs[(name, "page")] = (client, page)
            pairs[(name, "plain")] = (client, plain)
        got = medians(pairs, REPEAT)
        for name in world.plain(slug):
            ratio = got[(name, "page")] / got[(name, "plain")]
            rows.append(
                {
                    "page": name,
                    "org": world.label[slug],
                    "slug": slug,
                    "page_ms": round(got[(name, "page")], 1),
                    "plain_ms": round(got[(name, "plain")], 1),
                    "ratio": round(ratio, 2),
                    "ok": ratio <= LEAN_BUDGET,
                }
            )
    return rows


def tenant_tables() -> set[str]:
    from django.apps import apps

    from portal.scoping import ScopedManager

    return {
        model._meta.db_table
        for model in apps.get_models()
        if isinstance(model._default_manager, ScopedManager)
    }


def small_tables(tables: set[str]) -> set[str]:
    """Tenant tables of fewer than SMALL_TABLE rows: reading one whole is what PostgreSQL
    should do, and no such table is "at scale"."""
    from django.db import connection

    small = set()
    with connection.cursor() as cursor:
        for table in tables:
            name = connection.ops.quote_name(table)  # our models' tables, not input
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT %s) t", [SMALL_TABLE])  # noqa: S608
            if cursor.fetchone()[0] < SMALL_TABLE:
                small.add(table)
    return small


def seq_scans(plan: dict, tables: set[str]):
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in tables:
        yield plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from seq_scans(child, tables)


def explain(world: World) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tables, rows = tenant_tables(), []
    exempt = small_tables(tables)
    tables -= exempt
    pages = [(world.big, name, url) for name, url in world.pages(BIG).items()]
    reseller = world.clients[world.big_reseller]
    pages += [
        (reseller, f"Reseller's {name}", url)
        for name, url in world.subscription_pages(world.big_reseller).items()
    ]
    for client, name, url in pages:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        scans, selects, offending = [], 0, []
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.startswith("DECLARE"):
                sql = sql[sql.index(" FOR ") + len(" FOR ") :]
            if not sql.startswith("SELECT"):
                continue
            selects += 1
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            found = sorted(set(seq_scans(plan[0]["Plan"], tables)))
            if found:
                scans += found
                offending.append({"tables": found, "sql": sql[:2000]})
        rows.append(
            {
                "page": name,
                "queries": len(captured.captured_queries),
                "selects": selects,
                "seq_scans": sorted(set(scans)),
                "offending": offending,
                "small_tables": sorted(exempt),
                "ok": not scans,
            }
        )
    return rows


def orders(world: World) -> dict:
    """Add new customer → Next: Subscriptions → Next: Review → Submit, for the big provider;
    the Submit's time. Then license changes of one of its subscriptions."""
    from portal.scoping import unscoped
    from subscriptions.models import Subscription

    client, url = world.big, f"/orgs/{BIG}/customers/new/"
    run = f"{int(time.time())}"
    submits = []
    for n in range(ORDERS):
        form = post_form(client.get(url).content.decode(), "current_step")
        domain = f"bench-{run}-{n}.orders.scale.example"
        details = {
            "company_name": f"Bench Customer {run} {n}",
            "domain": domain,
            "language": "en",
            "country": "US",
            "city": "Seattle",
            "street": "1 Bench Street",
            "postal_code": "98052",
            "contact_first_name": "Ben",
            "contact_last_name": "Bench",
            "contact_email": f"ben@{domain}",
            "contact_phone": "+1 425 555 0100",
            "agreement_accepted_on": date.today().isoformat(),  # noqa: DTZ011
            "agreement_accepted_by_name": "Ben Bench",
            "agreement_accepted_by_email": f"ben@{domain}",
            "agreement_attested": "on",
            "reseller": "",
        }
        data = {**form["fields"], **{f"details-{k}": v for k, v in details.items()}}
        html = client.post(url, data).content.decode()
        form = post_form(html, "current_step")
        maxima = dict(re.findall(r'name="(subscriptions-offer_\d+)"[^>]*max="(\d+)"', html))
        offers = sorted(k for k in form["fields"] if k.startswith("subscriptions-offer_"))[:3]
        lines = {k: ("1" if maxima.get(k) == "1" else "5") for k in offers}
        html = client.post(url, {**form["fields"], **lines}).content.decode()
        form = post_form(html, "review-idempotency_key")
        started = time.perf_counter()
        response = client.post(url, form["fields"])
        submits.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302 or "/setup-info/" not in response["Location"]:
            raise SystemExit(f"Submit answered {response.status_code}")
    with unscoped("the benchmark picks a subscription"):
        subscription = (
            Subscription.objects.filter(
                customer__provider__slug=BIG, status=Subscription.Status.ACTIVE
            )
            .order_by("pk")
            .first()
        )
    detail_url = f"/orgs/{BIG}/subscriptions/{subscription.pk}/"
    licenses_url = f"{detail_url}licenses/"
    changes = []
    for _ in range(LICENSE_CHANGES):
        form = post_form(client.get(detail_url).content.decode(), "quantity")
        fields = {**form["fields"], "quantity": str(int(form["fields"]["quantity"]) + 1)}
        started = time.perf_counter()
        response = client.post(licenses_url, fields)
        changes.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302:
            raise SystemExit(f"license change answered {response.status_code}")
    return {
        "submit": {"n": ORDERS, "median_ms": statistics.median(submits), "p95_ms": p95(submits)},
        "licenses": {
            "n": LICENSE_CHANGES,
            "median_ms": statistics.median(changes),
            "p95_ms": p95(changes),
        },
    }


def received(sink_log: Path, marker: str) -> list[float]:
    return [
        float(line.split(" ", 1)[0])
        for line in sink_log.read_text().splitlines()
        if line.endswith(marker)
    ]


def email(env: dict, stack: Stack, sink_log: Path) -> dict:
    """1,000 partnership requests queued by the portal's own services (the worker not yet
    running), then a real Celery worker (-c 2) delivers them; the rate is first to last
    message at the SMTP server. Then a plain loop sends the same messages."""
    from django.core.mail import EmailMultiAlternatives
    from django.db import transaction

    from partners.models import Organization
    from partners.services.partnerships import (
        draft_message,
        request_partnership,
        send_partnership_request,
    )
    from portal.models import OutboundEmail, User
    from portal.scoping import org_scope, unscoped

    run = f"{int(time.time())}"
    marker = f"@{run}.mail.scale.example"
    with unscoped("the benchmark's sender"):
        provider = Organization.objects.get(slug=MAILER)
        actor = User.objects.get(email="load-provider-3@scale.example")
    started = time.perf_counter()
    ids = []
    for n in range(EMAILS):
        with transaction.atomic(), org_scope(provider):
            request, token = request_partnership(
                provider=provider, actor=actor, email=f"reseller-{n}{marker}", contact_name="Bench"
            )
            subject, body = draft_message(request, token)
            sent, _ = send_partnership_request(
                provider=provider, actor=actor, request=request, token=token, subject=subject,
                body=body,
            )  # fmt: skip
            ids.append(sent.pk)
    queued_s = time.perf_counter() - started
    log(f"{EMAILS} requests queued in {queued_s:.1f} s; starting the worker")
    stack.start(
        "bench-worker",
        [BIN / "celery", "-A", "portal", "worker", "-Q", "bench", "-c", "2", "-n",
         f"bench-{run}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        env,
    )  # fmt: skip

    def all_received():
        stack.check_alive()
        return len(received(sink_log, marker)) >= EMAILS

    wait_for(f"{EMAILS} messages at the SMTP server", all_received, 600, 0.2)
    times = received(sink_log, marker)
    with unscoped("counting the outbox"):
        sent_rows = OutboundEmail.objects.filter(pk__in=ids, status="sent").count()
    worker_rate = (len(times) - 1) / (max(times) - min(times))

    with unscoped("the plain loop sends the same messages"):
        messages = list(OutboundEmail.objects.filter(pk__in=ids).order_by("pk"))
    plain_marker = marker.replace(".mail.", ".plain.")
    started = time.perf_counter()
    for message in messages:
        plain = EmailMultiAlternatives(
            message.subject,
            message.body_text,
            to=[message.to.replace(marker, plain_marker)],
        )
        plain.attach_alternative(message.body_html, "text/html")
        plain.send()
    plain_s = time.perf_counter() - started
    plain_times = received(sink_log, plain_marker)
    plain_rate = (len(plain_times) - 1) / (max(plain_times) - min(plain_times))
    return {
        "messages": EMAILS,
        "queued_seconds": round(queued_s, 1),
        "received_by_worker": len(times),
        "outbox_sent": sent_rows,
        "worker_per_second": round(worker_rate, 1),
        "plain_per_second": round(plain_rate, 1),
        "plain_seconds": round(plain_s, 1),
        "ratio": round(worker_rate / plain_rate, 2),
        "ok": len(times) == EMAILS and sent_rows == EMAILS,
    }


# ---------------------------------------------------------------------------------------
def report(results: dict) -> str:
    lines = [f"Seed: {results['seed']}", ""]
    if "flat" in results:
        lines += [
            "Flat (big provider 998,000 customers / small 1,000; the big provider's busiest"
            " reseller / the small one's; budget <= 1.3)",
            f"{'page':44} {'small ms':>9} {'big ms':>9} {'ratio':>6}",
        ]
        for r in results["flat"]:
            flag = "" if r["ok"] else "  OVER"
            lines.append(
                f"{r['page']:44} {r['small_ms']:9.1f} {r['big_ms']:9.1f} {r['ratio']:6.2f}{flag}"
            )
        lines.append("")
    if "lean" in results:
        lines += [
            "Lean (list page / the same 25 rows in a plain template loop; budget <= 2)",
            f"{'page':34} {'org':15} {'page ms':>8} {'plain ms':>9} {'ratio':>6}",
        ]
        for r in results["lean"]:
            flag = "" if r["ok"] else "  OVER"
            lines.append(
                f"{r['page']:34} {r['org']:15} {r['page_ms']:8.1f} {r['plain_ms']:9.1f}"
                f" {r['ratio']:6.2f}{flag}"
            )
        lines.append("")
    if "explain" in results:
        small = ", ".join(results["explain"][0]["small_tables"]) if results["explain"] else ""
        lines += [
            "EXPLAIN, big provider: sequential scans of tenant tables (budget: none)",
            f"(tables under {SMALL_TABLE:,} rows not counted: {small or 'none'})",
        ]
        for r in results["explain"]:
            scans = ", ".join(r["seq_scans"]) or "none"
            lines.append(f"{r['page']:44} {r['queries']:3} queries  seq scans: {scans}")
        lines.append("")
    if "orders" in results:
        o = results["orders"]
        lines += [
            "Writes, big provider (server time)",
            f"Submit, new customer + 3 subscriptions: median {o['submit']['median_ms']:.0f} ms,"
            f" p95 {o['submit']['p95_ms']:.0f} ms (n={o['submit']['n']})",
            f"License change: median {o['licenses']['median_ms']:.0f} ms,"
            f" p95 {o['licenses']['p95_ms']:.0f} ms (n={o['licenses']['n']})",
            "",
        ]
    if "email" in results:
        e = results["email"]
        lines += [
            f"Email: {e['messages']} partnership requests; Celery worker (-c 2) "
            f"{e['worker_per_second']} msg/s, plain loop of Django's mail API "
            f"{e['plain_per_second']} msg/s, ratio {e['ratio']}; "
            f"delivered {e['received_by_worker']}, outbox SENT {e['outbox_sent']}",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    smtp_port = free_port()
    env = environment(smtp_port)
    results = {"machine": machine(), "repeat": REPEAT, "seed": prepare(env)}
    os.environ.update(env)
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.urls"  # the portal's URLs and the plain baselines
    sink_log = OUT / "bench-smtp.log"
    sink_log.write_text("")
    stack = Stack()
    try:
        stack.start(
            "bench-smtp",
            [BIN / "python", "bench/smtp_sink.py", "--port", str(smtp_port), "--log", sink_log],
            env,
        )
        world = World()
        for part, run in (("flat", flat), ("lean", lean), ("explain", explain)):
            if part not in SKIP:
                log(part)
                results[part] = run(world)
        if "orders" not in SKIP:
            log("orders and license changes")
            results["orders"] = orders(world)
        if "email" not in SKIP:
            log("email throughput")
            results["email"] = email(env, stack, sink_log)
    finally:
        stack.stop()
    (OUT / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    print(report(results))
    failed = [
        f"{part}: {row['page']}"
        for part in ("flat", "lean", "explain")
        for row in results.get(part, [])
        if not row["ok"]
    ]
    if "email" in results and not results["email"]["ok"]:
        failed.append("email: not every message was delivered")
    print("Budgets: " + ("all hold" if not failed else "OVER: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
