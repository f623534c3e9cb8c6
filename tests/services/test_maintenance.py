"""Whole-database chores: re-rendering stale posts, pruning hashed addresses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select

from forum.maintenance import prune_throttle_events
from forum.maintenance import rerender_stale_posts
from forum.models.base import utcnow
from forum.models.security import ThrottleEvent
from forum.rendering import RENDERER_VERSION
from forum.services import posts
from tests import factories as f


def test_rerender_updates_posts_from_an_older_renderer(db):
    post = f.make_post(body="**bold** text")
    posts.edit_post(f.actor(post.author), post, body="*new* text")
    db.session.commit()
    post.html, post.renderer_version = "<p>stale</p>", RENDERER_VERSION - 1
    db.session.commit()
    assert rerender_stale_posts() == 1
    db.session.refresh(post)
    assert post.renderer_version == RENDERER_VERSION
    assert "<em>new</em>" in post.html
    assert rerender_stale_posts() == 0


def test_prune_deletes_only_old_throttle_events(db):
    db.session.add(ThrottleEvent(key="ip:old", created_at=utcnow() - timedelta(days=15)))
    db.session.add(ThrottleEvent(key="ip:new", created_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    assert prune_throttle_events() == 1
    keys = db.session.scalars(select(ThrottleEvent.key)).all()
    assert keys == ["ip:new"]
    assert db.session.scalar(select(func.count()).select_from(ThrottleEvent)) == 1


def test_prune_deletes_api_tokens_unused_for_too_long(db):
    from forum.maintenance import prune_idle_api_tokens
    from forum.models.users import ApiToken
    from forum.services import accounts

    user = f.make_user()
    fresh = accounts.issue_api_token(user)
    idle = accounts.issue_api_token(user)
    db.session.commit()
    stale = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == accounts._token_digest(idle))
    )
    stale.created_at = utcnow() - timedelta(days=200)
    stale.last_used_at = utcnow() - timedelta(days=91)
    db.session.commit()
    assert prune_idle_api_tokens() == 1
    assert accounts.user_for_api_token(fresh) == user
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
