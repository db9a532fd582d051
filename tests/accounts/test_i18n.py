from pathlib import Path

from django.test import Client
from django_tenants.utils import tenant_context

from accounts.modules import Role
from tests.support import ROOT, client_for, make_user


def test_staff_site_speaks_simplified_chinese_for_a_chinese_user(alpha):
    user = make_user(alpha, role=Role.OWNER)
    with tenant_context(alpha):
        user.language = "zh-hans"
        user.save()
    page = client_for(alpha, user).get("/")
    html = page.content.decode()
    assert page["Content-Language"] == "zh-hans"
    assert "您好" in html and "订单" in html and "退出登录" in html
    assert "Sign out" not in html


def test_public_site_follows_the_browser_language(db):
    page = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get("/signup/")
    assert "创建商家账户" in page.content.decode()
    assert "Create your seller account" in Client(HTTP_HOST="localhost").get("/signup/").content.decode()


def test_every_message_is_translated_and_compiled():
    po = (ROOT / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    mo = Path(ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo")
    entries = po.split("\n\n")[1:]
    untranslated = [e for e in entries if 'msgstr ""' in e and e.rstrip().endswith('msgstr ""') and "#~" not in e]
    assert untranslated == []
    assert "fuzzy" not in po.split("\n\n", 1)[1]
    # The compiled catalogue is current: every message of the .po is in the .mo.
    import gettext
    import re

    with mo.open("rb") as fh:
        compiled = set(gettext.GNUTranslations(fh)._catalog)

    def unquote(block: str) -> str:
        return "".join(re.findall(r'"(.*)"', block)).encode().decode("unicode_escape").encode("latin-1").decode()

    msgids = set()
    for entry in entries:
        match = re.search(r'^msgid ((?:".*"\n?)+)msgstr', entry, re.M)
        if match:
            text = unquote(match.group(1))
            context = re.search(r'^msgctxt ((?:".*"\n?)+)msgid', entry, re.M)
            if context:  # pgettext: the catalogue key is "context\x04message"
                text = unquote(context.group(1)) + "\x04" + text
            if text:
                msgids.add(text)
    assert msgids - compiled == set()


def test_times_are_shown_in_the_users_time_zone(alpha):
    user = make_user(alpha, role=Role.ANALYST)
    with tenant_context(alpha):
        user.time_zone = "Asia/Shanghai"
        user.save()
    html = client_for(alpha, user).get("/account/preferences/").content.decode()
    assert "Times are shown in Asia/Shanghai" in html
    import zoneinfo

    from django.utils import timezone

    shanghai_hour = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).strftime("%-I")
    assert "It is now " in html and shanghai_hour in html.split("It is now", 1)[1][:40]
