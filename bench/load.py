"""`make load`: the load test of RELIABILITY.md §7, end to end, on loopback.

1. A dedicated database (LOAD_DATABASE_URL), migrated and seeded with seed_scale
   (1 provider, 10,000 customers, 50,000 subscriptions, LOAD_RESELLERS resellers).
2. gunicorn (DEBUG=False), a Celery worker on its own queue, an SMTP sink.
3. locust, headless: the step load (5 → 10 → 20 → 40 → 80 users), then a fixed run at
   the step with the highest request rate held with no errors and p95 ≤ LOAD_P95_MS.
4. Checks: orders placed = orders stored, the outbox drains to SENT = sends and the SMTP
   sink received them, nothing stuck, no 5xx in the access log. A table of figures.

Knobs (environment): LOAD_DURATION (fixed run, default 2m), LOAD_STEP_SECONDS (60),
LOAD_STEPS (5,10,20,40,80), LOAD_USERS (skip the choice), LOAD_SKIP_STEPS=1,
LOAD_P95_MS (2300), LOAD_WORKERS (3), LOAD_THREADS (4), LOAD_RESELLERS (50),
LOAD_CUSTOMERS (10000), LOAD_SUBSCRIPTIONS (50000), LOAD_WAIT ("0,0").
Exit status: 0 only when every check passed.
"""

import contextlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
ENV = os.environ.get

DATABASE_URL = ENV("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_load")
BROKER_URL = ENV("LOAD_BROKER_URL", "redis://127.0.0.1:6379/7")
WORKERS, THREADS = int(ENV("LOAD_WORKERS", "3")), int(ENV("LOAD_THREADS", "4"))
# The first measured baseline (docs/reliability.md, T7.4): p95 of the whole mix at the
# step that held the highest rate, 2 cores shared with locust. The fixed run fails past
# 1.2 x this (a regression of more than 20 %). The mix includes the password hashing of
# every login and new customer: Argon2id since issue 14 (about 0.03 s of CPU per hash,
# against PBKDF2's 0.37 s when this baseline was measured; docs/performance.md).
P95_MS = float(ENV("LOAD_P95_MS", "2300"))
SEED = {
    "providers": 1,
    "resellers": int(ENV("LOAD_RESELLERS", "50")),
    "customers": int(ENV("LOAD_CUSTOMERS", "10000")),
    "subscriptions": int(ENV("LOAD_SUBSCRIPTIONS", "50000")),
}
DRAIN_SECONDS = float(ENV("LOAD_DRAIN_SECONDS", "120"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Stack:
    """The processes of the run; stopped (by their own process group) on exit."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        out = (OUT / f"{name}.log").open("w")
        proc = subprocess.Popen(  # noqa: S603 (our own venv's programs)
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited ({proc.returncode}); see bench/out/{name}.log")


def wait_for(what: str, predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def manage(env: dict, *args: str) -> None:
    subprocess.run([BIN / "python", "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def ensure_database(url: str = DATABASE_URL) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"load average before the run {load[0]:.2f}"
    )


def run_locust(env: dict, host: str, run_id: str, extra: list[str], shape: str) -> dict:
    env = {**env, "LOAD_RUN_ID": run_id, "LOAD_OUT": str(OUT), "LOAD_SHAPE": shape}
    args = [
        BIN / "locust",
        "-f",
        ROOT / "bench" / "locustfile.py",
        "--headless",
        "--host",
        host,
        "--only-summary",
        "--csv",
        OUT / run_id,
        "--html",
        OUT / f"{run_id}.html",
        "--loglevel",
        "WARNING",
        # Users finish the iteration they are in: a Submit cut off mid-flight would be
        # stored but never counted as placed.
        "--stop-timeout",
        "60",
        *extra,
    ]
    log(f"locust {run_id}: {' '.join(map(str, extra)) or shape}")
    code = subprocess.run(args, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
    result = json.loads((OUT / f"{run_id}.json").read_text())
    result["exit_code"] = code
    return result


def db_checks(run_id: str, counters: dict) -> list[tuple[str, bool, str]]:
    """Writes placed by locust against rows stored: equal, or the run lost/duplicated some."""
    domains = f"%.{run_id}.load.scale.example"
    invites = f"%@{run_id}.invite.scale.example"
    checks = []
    with psycopg.connect(DATABASE_URL, autocommit=True) as c:
        one = lambda q, *a: c.execute(q, a).fetchone()[0]  # noqa: E731
        customers = one("SELECT count(*) FROM customers_customer WHERE domain LIKE %s", domains)
        orders = one(
            "SELECT count(*) FROM subscriptions_order o JOIN customers_customer c "
            "ON c.id = o.customer_id WHERE c.domain LIKE %s",
            domains,
        )
        subs = one(
            "SELECT count(*) FROM subscriptions_subscription s JOIN customers_customer c "
            "ON c.id = s.customer_id WHERE c.domain LIKE %s",
            domains,
        )
        placed, lines = counters["orders"], counters["subscriptions"]
        checks.append(
            (
                "orders placed = orders stored",
                placed == orders == customers,
                f"{placed} placed, {orders} orders / {customers} customers stored",
            )
        )
        checks.append(
            ("subscriptions ordered = stored", lines == subs, f"{lines} ordered, {subs} stored")
        )

        def outbox():
            rows = c.execute(
                'SELECT status, count(*) FROM portal_outboundemail WHERE "to" LIKE %s '
                "GROUP BY status",
                [invites],
            ).fetchall()
            return dict(rows)

        sends = counters["partnership_sends"]
        started = time.monotonic()
        with contextlib.suppress(SystemExit):  # a timeout shows up in the check below
            wait_for("the outbox to drain", lambda: outbox().get("sent", 0) >= sends, DRAIN_SECONDS)
        drained_in = time.monotonic() - started
        statuses = outbox()
        checks.append(
            (
                "outbox drains to SENT = sends",
                statuses.get("sent", 0) == sends and sum(statuses.values()) == sends,
                f"{sends} sent by users, outbox {statuses or '{}'}, drained in {drained_in:.1f} s",
            )
        )
        received = sum(
            1
            for line in (OUT / "smtp.log").read_text().splitlines()
            if line.endswith(f"@{run_id}.invite.scale.example")
        )
        checks.append(("SMTP sink received = sends", received == sends, f"{received} received"))
    return checks


def global_checks(access_log: Path) -> list[tuple[str, bool, str]]:
    with psycopg.connect(DATABASE_URL, autocommit=True) as c:
        stuck = c.execute(
            "SELECT count(*) FROM portal_outboundemail WHERE status IN ('queued', 'inflight') "
            "AND created_at < now() - interval '5 minutes'"
        ).fetchone()[0]
        failed = c.execute(
            "SELECT count(*) FROM portal_outboundemail WHERE status = 'failed' "
            "AND \"to\" LIKE '%%.invite.scale.example'"
        ).fetchone()[0]
    statuses = [line.split(" ")[0] for line in access_log.read_text().splitlines() if line]
    five = sum(1 for s in statuses if s.startswith("5"))
    worker_log = (OUT / "worker.log").read_text()
    task_failures = len(re.findall(r" (ERROR|CRITICAL) |raised unexpected", worker_log))
    return [
        ("0 outbox rows QUEUED/INFLIGHT > 5 min", stuck == 0, f"{stuck} rows"),
        ("0 FAILED load emails", failed == 0, f"{failed} rows"),
        ("0 Celery task failures", task_failures == 0, f"{task_failures} in worker.log"),
        ("0 5xx in gunicorn access log", five == 0, f"{five} of {len(statuses)} requests"),
    ]


def table(results: list[dict]) -> str:
    head = "| scenario | users | duration | requests | req/s | p50 ms | p95 ms | p99 ms | errors |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows = [("all requests", r), *sorted(r["by_name"].items())]
        for name, f in rows:
            rate = f["failures"] / f["requests"] if f["requests"] else 0
            lines.append(
                f"| {r['scenario']}: {name} | {r['users']} | {r['seconds']:.0f} s | "
                f"{f['requests']} | {f['rps']:.1f} | {f['p50']:.0f} | {f['p95']:.0f} | "
                f"{f['p99']:.0f} | {rate:.2%} |"
            )
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    started, spec = time.monotonic(), machine()
    base = f"lt{time.strftime('%m%d%H%M')}{secrets.token_hex(2)}"
    http_port, smtp_port = free_port(), free_port()
    host = f"http://127.0.0.1:{http_port}"
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_QUEUE": f"load-{base}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SECRET_KEY": ENV("SECRET_KEY", "load-test-only-" + secrets.token_hex(24)),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": host,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "RATE_LIMITS": "false",
        "LOG_LEVEL": "WARNING",
        "LOAD_PROVIDERS": "1",
        "LOAD_RESELLERS": str(SEED["resellers"]),
    }
    ensure_database()
    log("migrate, seed_scale, collectstatic")
    manage(env, "migrate", "--no-input", "-v0")
    seed = [f"--{k}={v}" for k, v in SEED.items()]
    manage(env, "seed_scale", "--force", *seed)
    manage(env, "collectstatic", "--no-input", "-v0")
    (OUT / "smtp.log").write_text("")
    access_log = OUT / "access.log"
    access_log.write_text("")
    stack = Stack()
    try:
        stack.start(
            "smtp", [BIN / "python", "bench/smtp_sink.py", "--port", str(smtp_port),
                     "--log", OUT / "smtp.log"], env,
        )  # fmt: skip
        stack.start(
            "worker",
            [BIN / "celery", "-A", "portal", "worker", "-Q", env["CELERY_QUEUE"], "-c", "2",
             "-n", f"{base}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            env,
        )  # fmt: skip
        stack.start(
            "gunicorn",
            [BIN / "gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi",
             "-b", f"127.0.0.1:{http_port}",
             "--workers", str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread",
             "--access-logfile", access_log, "--access-logformat", '%(s)s %(M)s "%(r)s"',
             "--log-level", "warning"],
            env,
        )  # fmt: skip

        def healthy():
            stack.check_alive()
            try:
                with urllib.request.urlopen(f"{host}/healthz", timeout=2) as r:  # noqa: S310
                    return r.status == 200
            except OSError:
                return False

        wait_for("gunicorn /healthz", healthy, 60)
        log(f"gunicorn {WORKERS} workers x {THREADS} threads at {host}")

        results, checks = [], []
        users = int(ENV("LOAD_USERS", "0"))
        if ENV("LOAD_SKIP_STEPS") != "1":
            run = run_locust(env, host, f"{base}s", [], "steps")
            results += run["results"]
            checks.append(
                ("step load: 0 errors", run["exit_code"] == 0, f"exit {run['exit_code']}")
            )
            checks += db_checks(run["run_id"], run["counters"])
            held = [r for r in run["results"] if r["failures"] == 0 and r["p95"] <= P95_MS]
            best = max(held, key=lambda r: (round(r["rps"], 1), -r["users"]), default=None)
            capacity = best["users"] if best else 0
            log(
                f"highest rate held with 0 errors and p95 <= {P95_MS:.0f} ms: "
                + (f"{best['rps']:.1f} req/s at {capacity} users" if best else "none")
            )
            users = users or capacity or min(r["users"] for r in run["results"])
        users = users or 10
        duration = ENV("LOAD_DURATION", "2m")
        run = run_locust(
            {**env, "LOAD_P95_FAIL_MS": str(P95_MS * 1.2)},
            host,
            f"{base}f",
            ["-u", str(users), "-r", str(max(1, users // 5)), "-t", duration],
            "fixed",
        )
        results += run["results"]
        checks.append(
            (
                f"fixed run: 0 errors, p95 <= {P95_MS * 1.2:.0f} ms",
                run["exit_code"] == 0,
                f"exit {run['exit_code']}",
            )
        )
        checks += db_checks(run["run_id"], run["counters"])
        stack.check_alive()
        checks += global_checks(access_log)
    finally:
        stack.stop()

    print()
    print(table(results))
    print()
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print()
    print(f"machine: {spec}")
    print(f"gunicorn: {WORKERS} workers x {THREADS} threads (gthread); Celery worker -c 2")
    print(f"data: {SEED}; think time LOAD_WAIT={ENV('LOAD_WAIT', '0,0')}")
    print(f"output: {OUT} (csv, html, json, logs); total {time.monotonic() - started:.0f} s")
    return 0 if all(ok for _name, ok, _detail in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
