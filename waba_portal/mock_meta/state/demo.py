"""The demo world ``--seed-demo`` and an empty ``POST /_mock/seed`` create."""

from __future__ import annotations

from typing import Any


def demo_seed_spec() -> dict[str, Any]:
    return {
        "businesses": [
            {
                "name": "Acme Demo Ltd",
                "verification_status": "verified",
                "messaging_limit": "TIER_2K",
                "wabas": [
                    {
                        "name": "Acme Support",
                        "phone_numbers": [
                            {
                                "phone": "+15550100001",
                                "verified_name": "Acme Support",
                                "status": "CONNECTED",
                            }
                        ],
                        "templates": [
                            {
                                "name": "hello_world",
                                "language": "en_US",
                                "category": "UTILITY",
                                "components": [
                                    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                                    {
                                        "type": "BODY",
                                        "text": "Welcome and congratulations!! "
                                        "This message demonstrates your ability to send a "
                                        "WhatsApp message notification.",
                                    },
                                    {
                                        "type": "FOOTER",
                                        "text": "WhatsApp Business Platform sample message",
                                    },
                                ],
                            },
                            {
                                "name": "order_update",
                                "language": "en_US",
                                "category": "UTILITY",
                                "components": [
                                    {
                                        "type": "BODY",
                                        "text": "Hi {{1}}, your order {{2}} has shipped.",
                                    }
                                ],
                            },
                        ],
                    }
                ],
            }
        ],
    }
