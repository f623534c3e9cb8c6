"""Moderation: reports, actions, sanctions, appeals, the log and the queue."""
