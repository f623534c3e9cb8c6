"""The write crawl: every POST, PUT, PATCH and DELETE route that names something.

Same walk as the canary crawl (`crawl.write_rules`, filled by `crawl.ARGUMENTS`), with an
empty body (`{}` for the API, an empty form for pages). An outsider writing at a secret
thing must get exactly the answer a missing thing gets, whatever the body: a service that
validates the input before it looks the target up through policy would answer 400 for a
secret id and 404 for a missing one, which confirms that the secret one exists. And
nothing may change: the world is compared before and after.

This module has its own planted world: if a write does slip through, only these tests
see the damage.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.leaks import checks
from tests.leaks import crawl
from tests.leaks.conftest import OUTSIDERS
from tests.leaks.conftest import Planted


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "write_key" in metafunc.fixturenames:
        rules = crawl.write_rules()
        metafunc.parametrize("write_key", rules, ids=[f"{m} {r}" for _e, r, m in rules])


def _send(client: FlaskClient, method: str, path: str) -> TestResponse:
    if method == "DELETE":
        return client.open(path, method=method)
    if path.startswith("/api/"):
        return client.open(path, method=method, json={})
    return client.open(path, method=method, data={})


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_outsider_write_answers_like_missing(
    planted: Planted, write_key: tuple[str, str, str], kind: str
) -> None:
    endpoint, text, method = write_key
    rule = crawl.find_rule(planted, endpoint, text)
    allowance = crawl.allowance_for(rule.rule, kind)
    allowed = allowance.canaries if allowance else frozenset()
    clients = [(api, planted.client(kind, api=api)) for api in crawl.modes(rule, kind)[-1:]]
    before = planted.state()
    problems: list[str] = []
    for api, client in clients:
        how = f"{kind} ({'bearer' if api else 'session'})"
        for variant in crawl.variants(planted, rule):
            secret = _send(client, method, variant.secret_path)
            leaked = checks.findings(planted, secret, echoes=variant.echoes, allowed=allowed)
            if leaked:
                problems.append(f"{method} {variant.secret_path} as {how} shows {leaked}")
            if allowance and not allowance.compares(rule):
                continue
            twin = _send(client, method, variant.twin_path)
            mine = checks.answer(planted, secret, variant.secret_subs)
            theirs = checks.answer(planted, twin, variant.twin_subs)
            if mine != theirs:
                problems.append(
                    f"{method} {variant.secret_path} as {how} answers unlike "
                    f"{method} {variant.twin_path}:\n{mine.differences(theirs)}"
                )
    if planted.state() != before:
        problems.append(f"{method} {text} as {kind} changed the world")
    assert not problems, "LEAK:\n" + "\n\n".join(problems)
