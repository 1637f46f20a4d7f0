"""The browser journey once in Simplified Chinese, with the program's own vocabulary."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from partners.models import Partnership
from portal.scoping import unscoped
from tests.factories import OfferFactory


@pytest.fixture
def chinese_page(browser, live_server, world):
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        OfferFactory(name="Business Basic")
    client = Client()
    client.force_login(world.provider_admin)
    context = browser.new_context(locale="zh-CN")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    yield page
    context.close()


def test_a_provider_works_in_chinese(live_server, chinese_page: Page, world, screenshot):
    page = chinese_page
    page.goto(f"{live_server.url}/orgs/{world.provider.slug}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    nav = page.get_by_role("navigation", name="仪表板")
    nav.get_by_role("link", name="间接经销商").click()
    page.get_by_role("link", name="请求建立合作关系").first.click()
    page.locator("input[name=email]").fill("owner@newreseller.example")
    page.locator("form.card button[type=submit]").click()
    for name in ("在电子邮件中打开", "完成"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="复制到剪贴板")).to_be_visible()
    screenshot("draft")

    nav.get_by_role("link", name="客户").click()
    page.get_by_role("link", name="添加新客户").first.click()
    expect(page.get_by_role("button", name="下一步: 订阅")).to_be_visible()
    expect(page.get_by_role("button", name="取消")).to_be_visible()
    screenshot("wizard")
