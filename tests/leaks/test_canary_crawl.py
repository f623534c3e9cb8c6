"""The canary crawl: every GET route of the app, as every kind of outsider.

The routes are the app's URL map at collection time (`crawl.get_rules`): a new route is
crawled without anyone adding it here, and a route whose arguments the crawl cannot fill
fails until `crawl.ARGUMENTS` learns them. Skipped: only `crawl.SKIPPED_ENDPOINTS`.

For each route and outsider the crawl asks for the secret thing and for its twin, and
fails if the answers differ (status, body, headers, session; after normalising noise)
or if anything planted in the secret group shows up in either. It also asks for the
public side (a public group, a member who posts in both places) and scans that too.
"""

from __future__ import annotations

import pytest

from tests.leaks import checks
from tests.leaks import crawl
from tests.leaks.conftest import INSIDERS
from tests.leaks.conftest import OUTSIDERS
from tests.leaks.conftest import Planted


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rule_key" in metafunc.fixturenames:
        rules = crawl.get_rules()
        metafunc.parametrize("rule_key", rules, ids=[f"{e}:{r}" for e, r in rules])


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_outsider_cannot_tell_secret_from_missing(
    planted: Planted, rule_key: tuple[str, str], kind: str
) -> None:
    rule = crawl.find_rule(planted, *rule_key)
    allowance = crawl.allowance_for(rule.rule, kind)
    allowed = allowance.canaries if allowance else frozenset()
    problems: list[str] = []
    for api in crawl.modes(rule, kind):
        client = planted.client(kind, api=api)
        how = f"{kind} ({'bearer' if api else 'session'})"
        for variant in crawl.variants(planted, rule):
            secret = client.get(variant.secret_path)
            leaked = checks.findings(planted, secret, echoes=variant.echoes, allowed=allowed)
            if leaked:
                problems.append(f"GET {variant.secret_path} as {how} shows {leaked}")
            if variant.secret_path == variant.twin_path or (
                allowance and not allowance.compares(rule)
            ):
                continue
            twin = client.get(variant.twin_path)
            mine = checks.answer(planted, secret, variant.secret_subs)
            theirs = checks.answer(planted, twin, variant.twin_subs)
            if mine != theirs:
                problems.append(
                    f"GET {variant.secret_path} as {how} answers unlike "
                    f"GET {variant.twin_path}:\n{mine.differences(theirs)}"
                )
        for path in crawl.public_paths(planted, rule):
            leaked = checks.findings(planted, client.get(path), echoes=[path], allowed=allowed)
            if leaked:
                problems.append(f"GET {path} (public side) as {how} shows {leaked}")
    assert not problems, "LEAK:\n" + "\n\n".join(problems)


def test_insiders_reach_what_the_crawl_fills(planted: Planted, rule_key: tuple[str, str]) -> None:
    """Guards the crawl itself: a secret filling must hit a real secret thing.

    If no insider (a member, the owner, an admin who broke the glass) can tell the secret
    filling from its twin, the filling misses the secret group, and the outsider
    comparison above would pass for the wrong reason.
    """
    rule = crawl.find_rule(planted, *rule_key)
    blind = []
    for variant in crawl.variants(planted, rule):
        if not variant.reaches_secret:
            continue
        for kind in INSIDERS:
            client = planted.client(kind, api=rule.rule.startswith("/api/"))
            mine = checks.answer(planted, client.get(variant.secret_path), variant.secret_subs)
            theirs = checks.answer(planted, client.get(variant.twin_path), variant.twin_subs)
            if mine != theirs:
                break
        else:
            blind.append(variant.secret_path)
    assert not blind, (
        f"no insider ({', '.join(INSIDERS)}) sees anything at {blind} that a non-existent "
        "twin does not also show: the crawl's ARGUMENTS do not reach the secret group here"
    )


def test_crawl_covers_every_rule(planted: Planted) -> None:
    """The crawl's list is the app's list: nothing added at runtime escapes it."""
    live = sorted(
        (rule.endpoint, rule.rule, tuple(sorted(rule.methods or ())))
        for rule in planted.app.url_map.iter_rules()
        if rule.endpoint not in crawl.SKIPPED_ENDPOINTS
    )
    assert live == list(crawl.all_rules())
