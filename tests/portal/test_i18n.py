"""English and Simplified Chinese: the catalog is complete and fresh, and each person
gets their language (profile, else browser), emails included."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from partners.models import Partnership
from partners.services.partnerships import accept_partnership, request_partnership
from portal.models import OutboundEmail
from portal.scoping import unscoped

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def msgids(po: Path) -> set[str]:
    """The msgids of a .po file (a small reader: enough for catalogs makemessages writes)."""
    ids, current, in_id = set(), [], False
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current, in_id = [line[6:].strip()[1:-1]], True
        elif line.startswith('"') and in_id:
            current.append(line.strip()[1:-1])
        else:
            if in_id and "".join(current):
                ids.add("".join(current))
            in_id = False
    return ids


def test_every_string_has_a_chinese_translation():
    for option in ("--untranslated", "--only-fuzzy"):
        result = subprocess.run(  # noqa: S603
            ["msgattrib", option, "--no-obsolete", str(PO)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        )
        assert "msgid" not in result.stdout, f"{option}:\n{result.stdout[:3000]}"


def test_the_compiled_catalog_matches_its_source(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(  # noqa: S603
        ["msgfmt", "--check-format", "-o", str(compiled), str(PO)],  # noqa: S607
        check=True,
    )
    assert compiled.read_bytes() == MO.read_bytes(), "run: python manage.py compilemessages"


def test_the_catalog_covers_every_marked_string(tmp_path):
    """Extract the strings afresh from a copy of the code; the committed catalog must
    hold exactly those (a new string without a translation fails here)."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.mo")
    for name in ("portal", "partners", "customers", "subscriptions", "templates", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": "sqlite:///:memory:"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = msgids(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    committed = msgids(PO)
    assert fresh - committed == set(), "new strings: run makemessages and translate them"
    assert committed - fresh == set(), "obsolete strings: run makemessages --no-obsolete"


@pytest.mark.django_db
def test_pages_follow_the_browser_language(world, client_for):
    client = client_for(world.provider_admin)
    url = reverse("dashboard", kwargs={"org_slug": world.provider.slug})
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "间接经销商" in chinese and 'lang="zh-hans"' in chinese
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Indirect resellers" in english


@pytest.mark.django_db
def test_a_chosen_language_wins_over_the_browser(world, client_for):
    world.provider_admin.language = "zh-hans"
    world.provider_admin.save()
    client = client_for(world.provider_admin)
    page = client.get(
        reverse("partners:reseller-list", kwargs={"org_slug": world.provider.slug}),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "请求建立合作关系" in page


@pytest.mark.django_db
def test_the_switcher_remembers_the_choice_on_the_profile(world, client_for):
    client = client_for(world.provider_sales)
    page = client.get(reverse("dashboard", kwargs={"org_slug": world.provider.slug}))
    assert 'name="language"' in page.content.decode()
    response = client.post(reverse("set-language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    world.provider_sales.refresh_from_db()
    assert world.provider_sales.language == "zh-hans"
    follow = client.get(reverse("dashboard", kwargs={"org_slug": world.provider.slug}))
    assert "仪表板" in follow.content.decode() or "间接经销商" in follow.content.decode()
    # Bad input changes nothing.
    client.post(reverse("set-language"), {"language": "xx", "next": "/"})
    world.provider_sales.refresh_from_db()
    assert world.provider_sales.language == "zh-hans"


@pytest.mark.django_db
def test_emails_are_written_in_the_recipients_language(world):
    world.provider_admin.language = "zh-hans"
    world.provider_admin.save()
    with unscoped("test setup"):
        request, _ = request_partnership(
            provider=world.provider, actor=world.provider_admin, email=world.reseller_admin.email
        )
        accept_partnership(request=request, reseller=world.reseller, actor=world.reseller_admin)
        assert Partnership.objects.filter(provider=world.provider).exists()
    notice = OutboundEmail.objects.get(to=world.provider_admin.email)
    assert world.reseller.name in notice.subject
    assert "合作" in notice.subject or "接受" in notice.subject
