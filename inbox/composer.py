"""What the thread's reply composer shows (``inbox/_composer.html``): whether the member
may reply on the channel, and the approved templates of the number's WABA."""

from __future__ import annotations

from typing import Any

from inbox.models import Conversation
from inbox.services import outbound


def composer_context(membership: Any, conversation: Conversation) -> dict[str, Any]:
    may_reply = outbound.can_reply(membership, conversation)
    return {
        "may_reply": may_reply,
        "reply_templates": outbound.template_choices(conversation) if may_reply else [],
        "text_max": outbound.TEXT_MAX_LENGTH,
    }
