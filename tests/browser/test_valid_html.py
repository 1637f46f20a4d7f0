"""Valid HTML (issue 19): the W3C Nu Html Checker (vnu-jar from npm, run with Java) finds
0 errors on the portal's pages, per role. The pages are saved first and checked in ONE
vnu run (it is slow to start).

Not yet every page the accessibility sweep visits (tests/browser/test_accessibility.py):
the signed-in pages of each role and the confirmation pages of issue 19.
"""

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.browser.test_polish import shop  # noqa: F401
from tests.factories import SubscriptionFactory

VNU = (
    Path(__file__).resolve().parents[2] / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
)


def test_pages_have_no_html_errors(world, shop, client_for, tmp_path):  # noqa: F811
    if not VNU.exists():
        pytest.fail(f"{VNU} is missing: run `npm ci` in the project root.")
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java is required for the Nu Html Checker (see STACK.md).")
    p1 = {"org_slug": world.provider.slug}
    r1 = {"org_slug": world.reseller.slug}
    new = shop["new"]
    # Expired ten days ago (the Renew button, its confirmation page) and a closed one.
    today = timezone.localdate()
    with unscoped("valid HTML data"):
        expired, closed = (
            SubscriptionFactory(
                customer=shop["customer"],
                offer=new.offer,
                status=Subscription.Status.EXPIRED,
                auto_renew=False,
                start_date=today - datetime.timedelta(days=365 + days),
                renewal_date=today - datetime.timedelta(days=days),
            )
            for days in (10, 100)
        )
    pages = {
        world.provider_admin: [
            reverse("dashboard", kwargs=p1),
            reverse("partners:reseller-list", kwargs=p1),
            reverse("partners:request-create", kwargs=p1),
            reverse("customers:list", kwargs=p1),
            reverse("customers:detail", kwargs={**p1, "pk": shop["customer"].pk}),
            reverse("customers:reseller", kwargs={**p1, "pk": shop["customer"].pk}),
            reverse("subscriptions:list", kwargs=p1),
            reverse("subscriptions:detail", kwargs={**p1, "pk": new.pk}),
            reverse("subscriptions:detail", kwargs={**p1, "pk": shop["old"].pk}),
            reverse("subscriptions:detail", kwargs={**p1, "pk": shop["cancelled"].pk}),
            reverse("subscriptions:cancel", kwargs={**p1, "pk": new.pk}),
            reverse("subscriptions:cancel", kwargs={**p1, "pk": shop["old"].pk}),
            reverse("subscriptions:detail", kwargs={**p1, "pk": expired.pk}),
            reverse("subscriptions:renew", kwargs={**p1, "pk": expired.pk}),
            reverse("subscriptions:renew", kwargs={**p1, "pk": closed.pk}),
            reverse("activity", kwargs=p1),
            reverse("team:list", kwargs=p1),
            reverse("team:invite", kwargs=p1),
        ],
        world.reseller_admin: [
            reverse("dashboard", kwargs=r1),
            reverse("partners:provider-list", kwargs=r1),
            reverse("customers:list", kwargs=r1),
            reverse("subscriptions:list", kwargs=r1),
            reverse("subscriptions:detail", kwargs={**r1, "pk": new.pk}),
            reverse("subscriptions:detail", kwargs={**r1, "pk": expired.pk}),
            reverse("subscriptions:renew", kwargs={**r1, "pk": expired.pk}),
        ],
        None: [reverse("home"), reverse("account_login"), reverse("account_signup")],
    }
    files = []
    for user, urls in pages.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            path = tmp_path / f"page{len(files)}.html"
            path.write_bytes(response.content)
            files.append((path, url))
    result = subprocess.run(  # noqa: S603
        [java, "-jar", str(VNU), "--errors-only", *(str(p) for p, _ in files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stderr + result.stdout
    for path, url in files:
        report = report.replace(path.as_uri(), url).replace(str(path), url)
    assert result.returncode == 0, report
