"""The API's contracts: one pydantic model per request body and per answer.

Each model is declared once and drives three things: reading the body
(`forum.blueprints.api.inputs.body`), checking the answer (`contracts`, while
FORUM_CHECK_CONTRACTS is on) and the OpenAPI document (`openapi`), whose component
schemas are the models' JSON Schemas. One module per area; `MODELS` names them all.
"""

from __future__ import annotations

from pydantic import BaseModel

from forum.blueprints.api.schemas import accounts
from forum.blueprints.api.schemas import boards
from forum.blueprints.api.schemas import chat
from forum.blueprints.api.schemas import groups
from forum.blueprints.api.schemas import meetings
from forum.blueprints.api.schemas import messages
from forum.blueprints.api.schemas import moderation
from forum.blueprints.api.schemas import site
from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body


def _collect() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (accounts, boards, chat, groups, meetings, messages, moderation, site):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, (Answer, Body))
                and value not in (Answer, Body, boards.PagedAnswer)
            ):
                name = value.__name__
                if found.get(name, value) is not value:
                    raise RuntimeError(f"two contract models are called {name}")
                found[name] = value
    return found


# Every model by its name, the name it has in the document's components.
MODELS: dict[str, type[BaseModel]] = _collect()

__all__ = [
    "MODELS",
    "Answer",
    "Body",
    "accounts",
    "boards",
    "chat",
    "groups",
    "meetings",
    "messages",
    "moderation",
    "site",
]
