"""Moderation: reports and the review queue, moderator actions, sanctions, appeals and the
moderation log. Every function takes the actor first, checks policy itself, flushes and
never commits; every action writes one `ModerationLog` row in the same transaction."""
