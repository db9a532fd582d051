"""What the fuzz tests share: hostile values, a record of every table a request wrote to, the
case counter reported at the end of the run, and the hypothesis settings (deterministic, so CI
sees the same cases on every run)."""
import re
from collections import Counter
from html import unescape

from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CASES: Counter = Counter()


def fuzz_settings(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def count_case(kind: str) -> None:
    CASES[kind] += 1


# Values people and broken tools really send: numbers that are not, dates that do not exist,
# separators, control characters, markup, other scripts and sizes past every column.
NASTY = [
    "", " ", "0", "-1", "-0", "+1", "1e309", "1E5", "NaN", "nan", "Infinity", "-Infinity", "9" * 30, "99999999999999999999.99",
    "-99999999999999999999", "0.000000001", "1,5", "1.2.3", "0x10", "١٢٣", "²", "½", "𝟙", "true", "null", "None", "[]", "{}", "'",
    '"', "\\", "%s", "%(x)s", "{0}", "<script>alert(1)</script>", "' OR '1'='1", "\x00", "a\x00b", "\ufeff", "\u202e", "中文字符",
    "🙂", "\t", "\r", "\n", "a\nb", "2026-02-30", "2026-13-01", "0000-00-00", "0000-01", "0001-01", "9999-12-31", "10000-01-01",
    "-1-01-01", "@", "@@", "x" * 300, "y" * 5000, "2147483648", "9223372036854775808", "1" * 25, "0.0000", "12.345", "-0.01",
]

garbage = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
)


def table_writes() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table (the tests run in
    one transaction, so a difference between two readings is what happened in between)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
                       "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0")
        return dict(cursor.fetchall())


# Bookkeeping every request may touch: the session (messages, CSRF, the previewed file) and the
# lockout counters of a failed sign-in.
BOOKKEEPING = re.compile(r"\.(django_session|axes_\w+|accounts_loginattempt\w*|accounts_failedlogin\w*)$")


def written_since(before: dict[str, int]) -> set[str]:
    return {t for t, n in table_writes().items() if n != before.get(t, 0) and not BOOKKEEPING.search(t)}


CSV_ERROR_ROW = re.compile(r"<tr><td>(\d+)</td><td><code>(.*?)</code></td><td>(.*?)</td></tr>", re.S)
MESSAGE = re.compile(r'<li class="([a-z ]*)" role="status">(.*?)</li>', re.S)
FIELD_ERRORS = re.compile(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>|<div class="(?:small err-text|message error)">(.*?)</div>', re.S)


def csv_errors(html: str) -> list[tuple[int, str, str]]:
    return [(int(row), unescape(column), unescape(reason)) for row, column, reason in CSV_ERROR_ROW.findall(html)]


def messages_in(html: str) -> list[tuple[str, str]]:
    return [(tags, unescape(re.sub(r"<[^>]+>", "", text)).strip()) for tags, text in MESSAGE.findall(html)]


def field_errors_in(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", " ", a or b)).strip() for a, b in FIELD_ERRORS.findall(html)]
