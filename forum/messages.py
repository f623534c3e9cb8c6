"""Outgoing e-mail as a value: what services build and `forum.mail` sends.

Apart from both so that neither imports the other: services (above) make `Mail`s, the
mail layer (below them) delivers them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Mail:
    """A message for the caller to send once the transaction has committed."""

    to: str
    subject: str
    body: str
