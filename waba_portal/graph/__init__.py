"""The only code that speaks HTTP to Meta: Graph API client, typed errors, webhooks.

Import what you need from the submodules; the common names are re-exported here::

    from waba_portal.graph import GraphClient, GraphRateLimitError, ReEngagementRequired
    client = GraphClient.from_settings(token=business_token)
"""

from .client import GraphClient, SendResult, TokenInfo
from .errors import (
    AccountRestrictedError,
    CodeRequestError,
    CodeVerifyError,
    GraphAuthError,
    GraphConnectionError,
    GraphError,
    GraphInvalidRequestError,
    GraphNotFoundError,
    GraphOutcomeUnknown,
    GraphPermissionError,
    GraphRateLimitError,
    GraphTransientError,
    PaginationLimitExceeded,
    PhoneNotRegisteredError,
    PinMismatchError,
    ReEngagementRequired,
    RegistrationLimitError,
    TemplateLimitReached,
    TemplateUnavailable,
    VerificationError,
    code_catalogue,
    subcode_catalogue,
)
from .redact import redact
from .retry import DEFAULT_RETRY_POLICY, NO_RETRY, RetryPolicy

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "NO_RETRY",
    "AccountRestrictedError",
    "CodeRequestError",
    "CodeVerifyError",
    "GraphAuthError",
    "GraphClient",
    "GraphConnectionError",
    "GraphError",
    "GraphInvalidRequestError",
    "GraphNotFoundError",
    "GraphOutcomeUnknown",
    "GraphPermissionError",
    "GraphRateLimitError",
    "GraphTransientError",
    "PaginationLimitExceeded",
    "PhoneNotRegisteredError",
    "PinMismatchError",
    "ReEngagementRequired",
    "RegistrationLimitError",
    "RetryPolicy",
    "SendResult",
    "TemplateLimitReached",
    "TemplateUnavailable",
    "TokenInfo",
    "VerificationError",
    "code_catalogue",
    "redact",
    "subcode_catalogue",
]
