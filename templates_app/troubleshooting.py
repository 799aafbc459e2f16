"""The troubleshooting entries of message templates, in senders' one catalogue.

Each entry is a ``senders.troubleshooting.Problem`` and joins ``CATALOGUE`` when this
module is imported (``TemplatesAppConfig.ready``), so the troubleshooting page, the API's
``problem`` and ``ts.get()`` know them like every other problem. Keys:

- Meta's refusals of a submission, an edit or a deletion (2388xxx and the rest):
  :func:`problem_for_template_error` maps an error to one;
- what a rejection, a pause, a disable or a flag means and what to change
  (:func:`problem_for_status`).

The sending side (T2) may add its entries below its marker.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from senders import troubleshooting as ts
from senders.troubleshooting import Problem
from templates_app.models import RejectionReason, TemplateStatus
from waba_portal.graph import errors as graph_errors

TEMPLATE_LIMIT = "template_limit"
TEMPLATE_EXISTS = "template_exists"
TEMPLATE_NAME_RECENTLY_DELETED = "template_name_recently_deleted"
TEMPLATE_VARIABLE_AT_EDGE = "template_variable_at_edge"
TEMPLATE_TOO_LONG = "template_too_long"
TEMPLATE_INVALID = "template_invalid"
TEMPLATE_EDIT_REFUSED = "template_edit_refused"
TEMPLATE_NOT_AT_META = "template_not_at_meta"
TEMPLATE_REJECTED = "template_rejected"
TEMPLATE_REJECTED_ABUSIVE = "template_rejected_abusive"
TEMPLATE_REJECTED_CATEGORY = "template_rejected_category"
TEMPLATE_REJECTED_FORMAT = "template_rejected_format"
TEMPLATE_REJECTED_PROMOTIONAL = "template_rejected_promotional"
TEMPLATE_REJECTED_SCAM = "template_rejected_scam"
TEMPLATE_PAUSED = "template_paused"
TEMPLATE_DISABLED = "template_disabled"
TEMPLATE_FLAGGED = "template_flagged"
TEMPLATE_LOCKED = "template_locked"
# -- sending (T2)
TEMPLATE_SEND_PARAMETERS = "template_send_parameters"
TEMPLATE_SEND_UNAVAILABLE = "template_send_unavailable"

_EDIT_HERE = _("Open the template here, click Edit, change what the entry says and submit it.")
_NEW_TEMPLATE = _("Or create a new template with another name: Meta reviews it from the start.")

ENTRIES: list[Problem] = [
    Problem(
        TEMPLATE_LIMIT,
        _("The account has 250 message templates"),
        _(
            "A WhatsApp Business Account may hold 250 templates; every language of one name "
            "counts once. Meta refuses a new name beyond that."
        ),
        (
            _("Delete templates you no longer send (all their languages) on the Templates page."),
            _("Or add the new text as another language of an existing template name."),
        ),
    ),
    Problem(
        TEMPLATE_EXISTS,
        _("A template with this name and language exists already"),
        _(
            "Meta holds a template with this name in this language, perhaps made in "
            "WhatsApp Manager and not read here yet."
        ),
        (
            _("Click Sync now on the Templates page to read it from Meta, then edit it."),
            _("Or choose another name, or another language for this name."),
        ),
    ),
    Problem(
        TEMPLATE_NAME_RECENTLY_DELETED,
        _("This name was deleted less than 30 days ago"),
        _(
            "After an approved template is deleted, Meta keeps its name in that language "
            "from new templates for 30 days."
        ),
        (_("Choose another name, or wait until the date shown, then submit it again."),),
    ),
    Problem(
        TEMPLATE_VARIABLE_AT_EDGE,
        _("The body starts or ends with a variable"),
        _("Meta refuses a body text whose first or last part is a variable such as {{1}}."),
        (_("Add words before the first variable and after the last one, then submit again."),),
    ),
    Problem(
        TEMPLATE_TOO_LONG,
        _("A text is too long"),
        _(
            "Meta limits the header and the footer to 60 characters and the body to 1,024 "
            "characters, variables included."
        ),
        (_("Shorten the text the message names, then submit again."),),
    ),
    Problem(
        TEMPLATE_INVALID,
        _("Meta refused the template's format"),
        _(
            "Meta found something in the template it does not accept: its variables, "
            "examples, buttons or media header. Meta's own words are shown with it."
        ),
        (
            _(
                "Check that variables are numbered from 1 without gaps (or named the same "
                "way throughout) and that every variable and media header has an example."
            ),
            _EDIT_HERE,
        ),
    ),
    Problem(
        TEMPLATE_EDIT_REFUSED,
        _("Meta does not allow this edit now"),
        _(
            "Meta edits only approved, rejected or paused templates, never an approved "
            "template's category, and an approved template at most once a day and ten "
            "times in 30 days."
        ),
        (_("Wait until the date shown, or create a new template with the change."),),
    ),
    Problem(
        TEMPLATE_NOT_AT_META,
        _("Meta no longer has this template"),
        _("The template was deleted at Meta, for example in WhatsApp Manager."),
        (_("Create it again if you still need it (after 30 days for the same name)."),),
    ),
    Problem(
        TEMPLATE_REJECTED,
        _("Template rejected by Meta"),
        _("Meta's review did not approve the template. The reason Meta gave is shown with it."),
        (
            _("Read Meta's reason and recommendation on the template's page."),
            _EDIT_HERE,
            _NEW_TEMPLATE,
        ),
    ),
    Problem(
        TEMPLATE_REJECTED_ABUSIVE,
        _("Rejected: content against Meta's policies"),
        _(
            "Meta found content that breaks its commerce or business policies, such as "
            "gambling, adult content, weapons or abusive language."
        ),
        (
            _("Remove the content Meta's policies do not allow."),
            _EDIT_HERE,
            _("If you think Meta is wrong, request a review in WhatsApp Manager → Templates."),
        ),
    ),
    Problem(
        TEMPLATE_REJECTED_CATEGORY,
        _("Rejected: the category does not match the content"),
        _(
            "Meta decides the category from the content: promotions and offers are Marketing; "
            "updates about an order or account the customer has are Utility; one-time codes "
            "are Authentication."
        ),
        (
            _("Choose the category that matches the text, or change the text to match it."),
            _EDIT_HERE,
        ),
    ),
    Problem(
        TEMPLATE_REJECTED_FORMAT,
        _("Rejected: invalid format"),
        _(
            "Meta found a problem in the template's form: variables with gaps or at the very "
            "start or end, missing or unclear examples, too many variables for the text, or "
            "a broken link."
        ),
        (
            _(
                "Number the variables from 1 without gaps, put words around them and give an "
                "example for each that looks like real data."
            ),
            _EDIT_HERE,
        ),
    ),
    Problem(
        TEMPLATE_REJECTED_PROMOTIONAL,
        _("Rejected: promotional content in a Utility or Authentication template"),
        _("Offers, discounts and invitations to buy are Marketing, whatever category is chosen."),
        (
            _("Choose the Marketing category, or remove the promotional words."),
            _EDIT_HERE,
        ),
    ),
    Problem(
        TEMPLATE_REJECTED_SCAM,
        _("Rejected: it could be used to mislead customers"),
        _(
            "Meta thinks the template could be used for fraud: asking for payment by gift "
            "card or wire transfer, threatening to close an account, or hiding who sends it."
        ),
        (
            _("Say clearly who the business is and why the customer gets the message."),
            _("Never ask for passwords, card numbers or payment outside your normal channels."),
            _EDIT_HERE,
        ),
    ),
    Problem(
        TEMPLATE_PAUSED,
        _("Template paused by Meta"),
        _(
            "Customers blocked or reported messages of this template, so Meta paused it: the "
            "first pause lasts 3 hours, the second 6 hours; the third disables it. It cannot "
            "be sent while paused, and returns to Approved on its own."
        ),
        (
            _("Check who receives it: send it only to customers who asked for it."),
            _("Make the text clearer and more useful, or send it less often."),
            _("You may edit a paused template; Meta reviews the change."),
        ),
    ),
    Problem(
        TEMPLATE_DISABLED,
        _("Template disabled by Meta"),
        _(
            "Meta disabled the template after repeated low quality (a third pause) or a "
            "policy issue. It cannot be sent any more."
        ),
        (
            _(
                "Create a new template with a clearer, more useful text, for customers who "
                "asked for it."
            ),
            _("If you think Meta is wrong, request a review in WhatsApp Manager → Templates."),
        ),
    ),
    Problem(
        TEMPLATE_FLAGGED,
        _("Template flagged for low quality"),
        _(
            "The template's quality is low. Meta pauses or disables it if it does not "
            "improve within 7 days."
        ),
        (
            _("Send it only to customers who expect it, and make the text clearer."),
            _("Edit the template to improve it before Meta pauses it."),
        ),
    ),
    Problem(
        TEMPLATE_LOCKED,
        _("Template locked by Meta"),
        _("Meta locked the template: it cannot be edited for now."),
        (_("Wait for Meta to unlock it; it is shown here when it does."),),
    ),
    # -- sending (T2)
    Problem(
        TEMPLATE_SEND_PARAMETERS,
        _("The message's values do not fit the template"),
        _(
            "Meta refused the message because its values do not match the approved "
            "template: too many or too few, of the wrong kind (text for an image header), "
            "with a line break or tab, or too long once filled in (Meta's 132000, 132012, "
            "132018 or 132005). The template may have changed at Meta since it was synced."
        ),
        (
            _(
                "Sync the templates of the account, then send again: the form asks for "
                "exactly the values the template has."
            ),
            _(
                "Give each variable one line of text without tabs, and keep the message "
                "under 1,024 characters."
            ),
        ),
    ),
    Problem(
        TEMPLATE_SEND_UNAVAILABLE,
        _("Meta has no approved template of this name in this language"),
        _(
            "Meta refused the message (132001): the template does not exist in that "
            "language, or it is not approved (yet)."
        ),
        (
            _("Sync the templates of the account and choose an approved one."),
            _("Or wait for Meta's review, or add the template in this language."),
        ),
    ),
]

# The API's words where the steps name the pages' buttons.
API_STEPS: dict[str, tuple[Promise, ...]] = {
    TEMPLATE_LIMIT: (
        _(
            "Delete templates you no longer send: DELETE /api/v1/t/<workspace>/templates/<id>/"
            "?languages=all."
        ),
        _("Or add the new text as another language of an existing template name."),
    ),
    TEMPLATE_EXISTS: (
        _("Read it from Meta: POST /api/v1/t/<workspace>/templates/sync/, then edit it."),
        _("Or choose another name, or another language for this name."),
    ),
}
_EDIT_API = _("Send the corrected template: PATCH /api/v1/t/<workspace>/templates/<id>/.")
for _key in (
    TEMPLATE_INVALID,
    TEMPLATE_REJECTED,
    TEMPLATE_REJECTED_ABUSIVE,
    TEMPLATE_REJECTED_CATEGORY,
    TEMPLATE_REJECTED_FORMAT,
    TEMPLATE_REJECTED_PROMOTIONAL,
    TEMPLATE_REJECTED_SCAM,
):
    _problem = next(p for p in ENTRIES if p.key == _key)
    API_STEPS[_key] = tuple(_EDIT_API if s is _EDIT_HERE else s for s in _problem.steps)

ts.CATALOGUE.update({p.key: p for p in ENTRIES})
ts.API_STEPS.update(API_STEPS)


REJECTION_PROBLEMS: dict[str, str] = {
    RejectionReason.ABUSIVE_CONTENT: TEMPLATE_REJECTED_ABUSIVE,
    RejectionReason.INCORRECT_CATEGORY: TEMPLATE_REJECTED_CATEGORY,
    RejectionReason.TAG_CONTENT_MISMATCH: TEMPLATE_REJECTED_CATEGORY,
    RejectionReason.INVALID_FORMAT: TEMPLATE_REJECTED_FORMAT,
    RejectionReason.PROMOTIONAL: TEMPLATE_REJECTED_PROMOTIONAL,
    RejectionReason.SCAM: TEMPLATE_REJECTED_SCAM,
}
STATUS_PROBLEMS: dict[str, str] = {
    TemplateStatus.PAUSED: TEMPLATE_PAUSED,
    TemplateStatus.DISABLED: TEMPLATE_DISABLED,
    TemplateStatus.FLAGGED: TEMPLATE_FLAGGED,
    TemplateStatus.LOCKED: TEMPLATE_LOCKED,
    TemplateStatus.LIMIT_EXCEEDED: TEMPLATE_LIMIT,
}


def problem_for_status(status: str, reason: str = "") -> str:
    """The entry that says what a status means and what to do, or "" when all is well."""
    if status == TemplateStatus.REJECTED:
        return REJECTION_PROBLEMS.get(reason.upper(), TEMPLATE_REJECTED)
    return STATUS_PROBLEMS.get(status, "")


# Meta's subcodes on the template endpoints (NOTES §6), and the entry for each.
SUBCODE_PROBLEMS: dict[int, str] = {
    2388019: TEMPLATE_LIMIT,
    2388023: TEMPLATE_NAME_RECENTLY_DELETED,
    2388024: TEMPLATE_EXISTS,
    2388299: TEMPLATE_VARIABLE_AT_EDGE,
    2388040: TEMPLATE_TOO_LONG,
    2593002: TEMPLATE_NOT_AT_META,
}


def problem_for_template_error(error: graph_errors.GraphError, *, action: str = "") -> str:
    """The catalogue key for an error Meta answered to a submission, edit or deletion."""
    if isinstance(error, graph_errors.GraphAuthError | graph_errors.GraphPermissionError):
        return ts.TOKEN_INVALID
    if isinstance(
        error,
        graph_errors.GraphRateLimitError
        | graph_errors.GraphTransientError
        | graph_errors.GraphOutcomeUnknown,
    ):
        return ts.META_UNAVAILABLE
    if isinstance(error, graph_errors.TemplateLimitReached):
        return TEMPLATE_LIMIT
    if error.subcode in SUBCODE_PROBLEMS:
        return SUBCODE_PROBLEMS[error.subcode]
    if isinstance(error, graph_errors.GraphNotFoundError):
        return TEMPLATE_NOT_AT_META
    if action == "edit" and isinstance(error, graph_errors.GraphInvalidRequestError):
        return TEMPLATE_EDIT_REFUSED
    if error.subcode and 2388000 <= error.subcode <= 2388999:
        return TEMPLATE_INVALID
    if isinstance(error, graph_errors.GraphInvalidRequestError) or error.code in (100, 200002):
        return TEMPLATE_INVALID
    return ts.UNEXPECTED


def meta_words(error: graph_errors.GraphError) -> str:
    """What Meta said, for the person to read beside our entry (its user message first)."""
    parts = [error.user_title, error.user_msg] if error.user_msg else [error.message, error.details]
    return " — ".join(str(p) for p in parts if p)[:1000]
