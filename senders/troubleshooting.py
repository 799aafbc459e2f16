"""The troubleshooting catalogue: every problem a WhatsApp connection can have, and its fix.

One place maps Meta's error codes, account events and our own checks to a problem
key. Each key has a title, an explanation and the steps that fix it, shown wherever
the problem appears (onboarding, the sender information page, notifications, the
API, which returns the key and the URL of its entry).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from waba_portal.graph import errors as graph_errors


@dataclass(frozen=True)
class Problem:
    key: str
    title: Promise
    explanation: Promise
    steps: tuple[Promise, ...]
    # Whether registering the number again (Resubmit) can solve it, once the steps are
    # done: a number's problem without it is not offered Resubmit (views, API).
    resubmit_fixes: bool = False

    def url(self, tenant_slug: str) -> str:
        return (
            reverse("senders:troubleshooting", kwargs={"tenant_slug": tenant_slug}) + f"#{self.key}"
        )


ANOTHER_PROVIDER = "another_provider"
NOT_SHARED_IN_SIGNUP = "not_shared_in_signup"
WABA_DISABLED = "waba_disabled"
DISPLAY_NAME_REJECTED = "display_name_rejected"
CREDIT_LINE = "credit_line"
TWO_STEP_VERIFICATION = "two_step_verification"
WABA_NUMBER_LIMIT = "waba_number_limit"
NUMBER_OTHER_WABA = "number_other_waba"
NO_PERMISSION_ADD_NUMBERS = "no_permission_add_numbers"
NO_RIGHT_CREATE_WABA = "no_right_create_waba"
TOKEN_INVALID = "token_invalid"  # noqa: S105 - a catalogue key, not a secret
UNVERIFIED_TRIAL_ENDED = "unverified_trial_ended"
ACCOUNT_RESTRICTED = "account_restricted"
REGISTRATION_LIMIT = "registration_limit"
SIGNUP_INCOMPLETE = "signup_incomplete"
META_UNAVAILABLE = "meta_unavailable"
DISCONNECTED_BY_META = "disconnected_by_meta"
UNEXPECTED = "unexpected"
# -- numbers: add (H1)
SIGNUP_OTHER_WABA = "signup_other_waba"
# -- numbers: verify, register, PIN, remove (H2)
VERIFICATION_CODE_REQUEST = "verification_code_request"
VERIFICATION_CODE_WRONG = "verification_code_wrong"
VERIFICATION_LOCKED = "verification_locked"
NUMBER_NOT_VERIFIED = "number_not_verified"
# -- display name, OBA, QR codes (H3)
OFFICIAL_BUSINESS_REJECTED = "official_business_rejected"
# -- business profile and logo (H4)
PROFILE_REJECTED = "profile_rejected"
PROFILE_PICTURE_REJECTED = "profile_picture_rejected"
PROFILE_NOT_APPLIED = "profile_not_applied"
# -- channel settings (H5)
# -- templates (T1/T2)

CATALOGUE: dict[str, Problem] = {
    p.key: p
    for p in [
        Problem(
            ANOTHER_PROVIDER,
            _("Connected to another provider"),
            _(
                "This WhatsApp Business Account or phone number is connected to another "
                "workspace or business solution provider. It can be connected to only one "
                "at a time."
            ),
            (
                _("Disconnect it at the other provider (or in the other workspace)."),
                _("Then connect it here again with Connect WhatsApp."),
            ),
        ),
        Problem(
            NOT_SHARED_IN_SIGNUP,
            _("Not shared with us in this signup"),
            _(
                "The WhatsApp Business Account or phone number named when the signup "
                "finished is not one that Meta gave our app access to in this signup, so "
                "it cannot be connected with it."
            ),
            (
                _(
                    "Click Connect WhatsApp and choose, in the Meta window, the account and "
                    "the number you want to connect."
                ),
                _("Let our app manage that account when Meta asks for it."),
            ),
        ),
        Problem(
            WABA_DISABLED,
            _("WhatsApp Business Account disabled by Meta"),
            _(
                "Meta disabled this account for a policy violation. Messages cannot be sent "
                "until Meta reinstates it."
            ),
            (
                _("Open Meta Business Suite → WhatsApp Manager → Account quality."),
                _("Read the violation and request a review (appeal) if you think it is wrong."),
                _("The account is reinstated here automatically when Meta approves the appeal."),
            ),
        ),
        Problem(
            DISPLAY_NAME_REJECTED,
            _("Display name rejected"),
            _(
                "Meta did not approve the display name of this number. It cannot send "
                "messages under that name."
            ),
            (
                _("Choose a name that matches your business and Meta's display name rules."),
                _(
                    "Enter it on the number's Display name page here (or in WhatsApp "
                    "Manager → Phone numbers → Display name)."
                ),
                _("After Meta approves the new name, click Resubmit here."),
            ),
            resubmit_fixes=True,
        ),
        Problem(
            CREDIT_LINE,
            _("Credit line could not be attached"),
            _(
                "Our credit line could not be shared with this WhatsApp Business Account, "
                "usually because the account's currency or ownership does not allow it."
            ),
            (
                _("Disconnect this account here."),
                _("Create a new WhatsApp Business Account through Connect WhatsApp."),
            ),
        ),
        Problem(
            TWO_STEP_VERIFICATION,
            _("Two-step verification is on at the previous provider"),
            _(
                "The number still has a two-step verification PIN set by the provider or "
                "app it used before, so it cannot be registered here."
            ),
            (
                _(
                    "Turn off two-step verification at the previous provider "
                    "(or in WhatsApp Manager)."
                ),
                _("Then click Retry (or Resubmit for the number)."),
            ),
            resubmit_fixes=True,
        ),
        Problem(
            WABA_NUMBER_LIMIT,
            _("The account has the maximum number of phone numbers"),
            _(
                "A business portfolio starts with 2 registered numbers; Meta raises the "
                "limit up to 20 once the business is verified and sends messages of good "
                "quality."
            ),
            (
                _("Remove a number you no longer use in WhatsApp Manager, or"),
                _("complete business verification to raise the limit, then try again."),
            ),
        ),
        Problem(
            NUMBER_OTHER_WABA,
            _("Number registered to another WhatsApp Business Account"),
            _("The phone number is still registered to another account on the WhatsApp platform."),
            (
                _("Disable two-step verification for the number in the other account."),
                _("Delete the number from the other account (or migrate it)."),
                _("Then add it here again."),
            ),
            resubmit_fixes=True,
        ),
        Problem(
            NO_PERMISSION_ADD_NUMBERS,
            _("No permission to add numbers"),
            _(
                "The WhatsApp Business Account did not grant our app the permission to "
                "manage its phone numbers."
            ),
            (
                _("In Meta Business Suite, give the app full control of the WhatsApp account."),
                _("Then connect again through Connect WhatsApp."),
            ),
        ),
        Problem(
            NO_RIGHT_CREATE_WABA,
            _("No right to create a WhatsApp Business Account"),
            _(
                "Your Facebook user is not an admin of the business portfolio, so Meta did "
                "not let you create a WhatsApp Business Account in it."
            ),
            (
                _("Ask an admin of the business portfolio to give you full control, or"),
                _("let an admin of the portfolio connect WhatsApp here."),
            ),
        ),
        Problem(
            TOKEN_INVALID,
            _("Access to the account expired or was revoked"),
            _(
                "Meta no longer accepts our access to this account: it expired, the app was "
                "removed from the business, or the password of the user changed."
            ),
            (_("Connect the account again through Connect WhatsApp; its history is kept."),),
        ),
        Problem(
            UNVERIFIED_TRIAL_ENDED,
            _("Business not verified after 30 days"),
            _(
                "Unverified businesses can use WhatsApp for 30 days with a limited number of "
                "recipients. The trial is over, so the connection is broken until the "
                "business is verified."
            ),
            (
                _("Start business verification in Meta Business Suite → Security centre."),
                _("When Meta verifies the business, click Sync now."),
            ),
        ),
        Problem(
            ACCOUNT_RESTRICTED,
            _("Messaging restricted by Meta"),
            _(
                "Meta restricted what this account may do (for example business-initiated "
                "messages) for a period, after quality or policy issues."
            ),
            (
                _("See the restriction and its end date in WhatsApp Manager → Account quality."),
                _("Improve message quality; the restriction lifts at its end date."),
            ),
        ),
        Problem(
            REGISTRATION_LIMIT,
            _("Too many registration attempts"),
            _("A number can be registered at most 10 times in 72 hours."),
            (_("Wait 72 hours after the first attempt, then click Retry."),),
            resubmit_fixes=True,
        ),
        Problem(
            SIGNUP_INCOMPLETE,
            _("Embedded Signup did not finish"),
            _("The signup window was closed or its code expired before we could use it."),
            (_("Click Connect WhatsApp and complete every step of the Meta window."),),
        ),
        Problem(
            META_UNAVAILABLE,
            _("Meta did not answer"),
            _("Meta's servers were unavailable or asked us to slow down, several times in a row."),
            (_("Wait a few minutes and click Retry. Nothing you entered is lost."),),
            resubmit_fixes=True,
        ),
        Problem(
            DISCONNECTED_BY_META,
            _("Disconnected at Meta"),
            _(
                "Our app was removed from this WhatsApp Business Account, or the account was "
                "deleted or offboarded at Meta. Sending stopped."
            ),
            (_("Connect the account again through Connect WhatsApp; its history is kept."),),
        ),
        Problem(
            UNEXPECTED,
            _("Unexpected error"),
            _("Something went wrong that we did not expect. Our team has the details."),
            (_("Click Retry. If it happens again, contact support with the time it happened."),),
            resubmit_fixes=True,
        ),
        # -- numbers: add (H1)
        Problem(
            SIGNUP_OTHER_WABA,
            _("Choose the WhatsApp Business Account that is already connected"),
            _(
                "A number is added to an account that is already connected, so the Meta "
                "window has to be completed with that same WhatsApp Business Account. "
                "Another account was chosen in it: nothing was added, and nothing of the "
                "other account was kept."
            ),
            (
                _(
                    "On the account's page, click Add number, then Add through Meta's signup "
                    "window again."
                ),
                _(
                    "In the Meta window, choose the WhatsApp Business Account that is already "
                    "connected: its name and WABA id are on its page here."
                ),
                _(
                    "To connect the other account as well, use Connect WhatsApp on the "
                    "WhatsApp page instead."
                ),
            ),
        ),
        # -- numbers: verify, register, PIN, remove (H2)
        Problem(
            VERIFICATION_CODE_REQUEST,
            _("Meta could not send the verification code"),
            _(
                "Meta refused to send a code to this number: too many codes were asked for "
                "in a short time, or the number cannot receive text messages or calls."
            ),
            (
                _("Wait an hour before you ask for another code."),
                _(
                    "Make sure the number receives text messages (or calls, for a landline) "
                    "and no call menu (IVR) answers it."
                ),
                _("Ask for the code the other way: by voice call instead of SMS, or the reverse."),
            ),
        ),
        Problem(
            VERIFICATION_CODE_WRONG,
            _("The verification code was not accepted"),
            _(
                "Meta did not accept the code: it is wrong, it was used already, or it "
                "expired (a code is valid for 10 minutes)."
            ),
            (
                _("Enter the 6 digits of the last code you received; earlier codes stop working."),
                _("If the code is older than 10 minutes, ask for a new one."),
                _(
                    "After 3 wrong codes the number is locked for 4 hours; after that, each "
                    "wrong code locks it for a day."
                ),
            ),
        ),
        Problem(
            VERIFICATION_LOCKED,
            _("Too many wrong verification codes"),
            _(
                "After 3 wrong codes the portal locks verification of the number for 4 "
                "hours, and after that for a day at each wrong code, so that Meta does not "
                "block the number for failed attempts."
            ),
            (
                _("Wait until the time shown on the number's page."),
                _("Then ask for a new code and enter it within 10 minutes."),
            ),
        ),
        Problem(
            NUMBER_NOT_VERIFIED,
            _("The number is not verified"),
            _(
                "Meta registers a number only after its owner proved, with a code sent by "
                "SMS or voice call, that the number is theirs. The verification is missing "
                "or expired."
            ),
            (
                _("Ask for a verification code by SMS or voice call on the number's page."),
                _("Enter the code within 10 minutes, then register the number."),
            ),
        ),
        # -- display name, OBA, QR codes (H3)
        Problem(
            OFFICIAL_BUSINESS_REJECTED,
            _("Official Business Account not granted"),
            _(
                "Meta did not give this number the Official Business Account badge. Meta "
                "grants it to notable brands: a business that is often in the news, under "
                "the same name as the number's display name."
            ),
            (
                _(
                    "Collect up to five articles about the business from well-known news "
                    "sites. Paid or promotional articles, your own pages and listings do not "
                    "count."
                ),
                _(
                    "Make sure your website and the articles use the number's display name, "
                    "and that the business is verified in Meta Business Suite."
                ),
                _(
                    "Request the badge again on the number's Display name page 30 days after "
                    "the rejection, with the new links."
                ),
            ),
        ),
        # -- business profile and logo (H4)
        Problem(
            PROFILE_REJECTED,
            _("Meta refused the business profile"),
            _(
                "Meta did not accept a value of the profile: a text longer than WhatsApp "
                "allows, an e-mail address or website it does not take, or a category it "
                "does not know. Nothing of this change is shown in WhatsApp yet."
            ),
            (
                _("Read what Meta said, shown with this message: it names the field."),
                _("Correct that field on the number's Business profile page and save it."),
                _("Or, if the values are right, retry sending them."),
            ),
        ),
        Problem(
            PROFILE_PICTURE_REJECTED,
            _("Meta refused the profile picture"),
            _(
                "Meta did not accept the uploaded picture, or its upload did not finish. "
                "The rest of the profile was not changed either."
            ),
            (
                _(
                    "Upload the picture again as a JPEG of at least 400 × 400 pixels and at "
                    "most 5 MB, ideally square."
                ),
                _("If the picture is fine, retry sending the profile."),
            ),
        ),
        Problem(
            PROFILE_NOT_APPLIED,
            _("Meta accepted the profile but does not show it"),
            _(
                "Meta answered that the profile was updated, but reading it back several "
                "times still showed the previous values."
            ),
            (
                _("Wait a few minutes, then read the profile from Meta again."),
                _("If it still shows the old values, retry sending the profile."),
            ),
        ),
        # -- channel settings (H5)
        # -- templates (T1/T2)
    ]
}


def get(key: str) -> Problem:
    return CATALOGUE.get(key) or CATALOGUE[UNEXPECTED]


# --- The steps in the API's words ---------------------------------------------------------
# The steps above name the buttons of the web pages ("click Resubmit here"). The API's
# ``problem.steps`` name the API's own actions instead (resubmit, retry, sync,
# disconnect, reconnect); where the API has no such action they say where in the portal
# it is.

_CONNECT_API = _(
    "Start a new connection through the API: POST /api/v1/t/<workspace>/onboardings/ with "
    "the Embedded Signup result."
)
_RETRY_API = _(
    "Then retry the failed connection (POST /api/v1/t/<workspace>/onboardings/<id>/retry/) "
    "or resubmit the number (POST /api/v1/t/<workspace>/phone-numbers/<id>/resubmit/)."
)
# -- REST API (A2): an account that lost its access is connected again in place.
_RECONNECT_API = _(
    "Connect the account again: GET /api/v1/t/<workspace>/wabas/<id>/reconnect/ says what "
    "Embedded Signup needs, then POST its result to the same address."
)
API_STEPS: dict[str, tuple[Promise, ...]] = {
    ANOTHER_PROVIDER: (
        _("Disconnect it at the other provider (or in the other workspace)."),
        _CONNECT_API,
    ),
    NOT_SHARED_IN_SIGNUP: (
        _(
            "Run Embedded Signup again and choose, in the Meta window, the account and the "
            "number you want to connect."
        ),
        _("Let our app manage that account when Meta asks for it."),
        _CONNECT_API,
    ),
    WABA_DISABLED: (
        _("Open Meta Business Suite → WhatsApp Manager → Account quality."),
        _("Read the violation and request a review (appeal) if you think it is wrong."),
        _(
            "When Meta approves the appeal the account is reinstated automatically; "
            "GET /api/v1/t/<workspace>/wabas/<id>/ shows it."
        ),
    ),
    DISPLAY_NAME_REJECTED: (
        _("Choose a name that matches your business and Meta's display name rules."),
        _(
            "Send it with POST /api/v1/t/<workspace>/phone-numbers/<id>/display-name/ "
            '{"name": "..."}; Meta reviews it again.'
        ),
        _(
            "After Meta approves the new name, register the number again: POST /api/v1/t/"
            "<workspace>/phone-numbers/<id>/display-name/register/."
        ),
    ),
    CREDIT_LINE: (
        _("Disconnect this account: POST /api/v1/t/<workspace>/wabas/<id>/disconnect/."),
        _(
            "Create a new WhatsApp Business Account through the API: POST /api/v1/t/"
            "<workspace>/onboardings/ with the Embedded Signup result."
        ),
    ),
    TWO_STEP_VERIFICATION: (
        _("Turn off two-step verification at the previous provider (or in WhatsApp Manager)."),
        _RETRY_API,
    ),
    NUMBER_OTHER_WABA: (
        _("Disable two-step verification for the number in the other account."),
        _("Delete the number from the other account (or migrate it)."),
        _RETRY_API,
    ),
    NO_PERMISSION_ADD_NUMBERS: (
        _("In Meta Business Suite, give the app full control of the WhatsApp account."),
        _CONNECT_API,
    ),
    NO_RIGHT_CREATE_WABA: (
        _("Ask an admin of the business portfolio to give you full control, or"),
        _("let an admin of the portfolio run Embedded Signup for this workspace."),
    ),
    TOKEN_INVALID: (_RECONNECT_API,),
    UNVERIFIED_TRIAL_ENDED: (
        _("Start business verification in Meta Business Suite → Security centre."),
        _(
            "When Meta verifies the business, the next sync picks it up; "
            "GET /api/v1/t/<workspace>/wabas/<id>/ shows it."
        ),
    ),
    REGISTRATION_LIMIT: (
        _(
            "Wait 72 hours after the first attempt, then start the connection again "
            "(POST /api/v1/t/<workspace>/onboardings/)."
        ),
    ),
    SIGNUP_INCOMPLETE: (
        _(
            "Complete every step of the Embedded Signup window, then POST its result to "
            "/api/v1/t/<workspace>/onboardings/."
        ),
    ),
    META_UNAVAILABLE: (
        _("Wait a few minutes and send the same request again. Nothing you sent is lost."),
    ),
    DISCONNECTED_BY_META: (_RECONNECT_API,),
    SIGNUP_OTHER_WABA: (
        _(
            "Run Embedded Signup again and choose, in the Meta window, the WhatsApp Business "
            "Account that is already connected (its WABA id is in GET /api/v1/t/<workspace>/"
            "wabas/); or add the number with POST /api/v1/t/<workspace>/phone-numbers/."
        ),
    ),
    UNEXPECTED: (
        _(
            "Send the same request again. If it happens again, contact support with the "
            "time it happened."
        ),
    ),
}


def api_steps(problem: Problem) -> tuple[Promise, ...]:
    """The steps of ``problem`` as the API says them: its actions, not the page's buttons."""
    return API_STEPS.get(problem.key, problem.steps)


# --- Why a number cannot send -----------------------------------------------------------
# The reasons ``senders.services.rules.phone_send_block`` gives, in words: the warning for
# a primary sender that cannot send (the account's page), the API's ``send_blocked``, and
# what a Resubmit still leaves in the way.

SEND_NOT_CONNECTED = "not_connected"
SEND_ACCOUNT_BLOCKED = "account_blocked"
SEND_NAME_REJECTED = "name_rejected"
SEND_ANOTHER_PROVIDER = "another_provider"
SEND_RESTRICTED = "restricted"
SEND_NOT_REGISTERED = "not_registered"

SEND_BLOCKS: dict[str, Promise] = {
    SEND_NOT_CONNECTED: _(
        "It is disconnected: it was removed from its WhatsApp Business Account, or the "
        "account was disconnected."
    ),
    SEND_ACCOUNT_BLOCKED: _(
        "Its WhatsApp Business Account cannot send: Meta disabled it, or it needs an action "
        "shown on the account's page."
    ),
    SEND_NAME_REJECTED: _(
        "Meta rejected its display name, so it cannot send messages under that name."
    ),
    SEND_ANOTHER_PROVIDER: _("It is connected to another workspace or provider."),
    SEND_RESTRICTED: _(
        "Meta flagged or restricted it for the quality of its messages or a policy issue."
    ),
    SEND_NOT_REGISTERED: _("It is not registered on WhatsApp yet, or its registration failed."),
}


def send_block_message(code: str) -> str:
    return str(SEND_BLOCKS.get(code, SEND_BLOCKS[SEND_NOT_REGISTERED]))


def problem_for_graph_error(error: graph_errors.GraphError, *, step: str = "") -> str:
    """The catalogue key for an error Meta returned, given the step it happened in."""
    code, subcode = error.code, error.subcode
    text = f"{error.message or ''} {error.details or ''}".lower()
    if isinstance(error, graph_errors.GraphAuthError):
        return SIGNUP_INCOMPLETE if step == "exchange_token" else TOKEN_INVALID
    if isinstance(error, graph_errors.PinMismatchError) or code == 133005:
        return TWO_STEP_VERIFICATION
    if code == 133016 or isinstance(error, graph_errors.RegistrationLimitError):
        return REGISTRATION_LIMIT
    if code in (368, 131031) or isinstance(error, graph_errors.AccountRestrictedError):
        return WABA_DISABLED
    if code == 141014:
        return WABA_DISABLED
    if code == 141006 or step == "credit_line":
        return CREDIT_LINE
    if code == 141010:
        return UNVERIFIED_TRIAL_ENDED
    if subcode == 1349175 or "number limit" in text or "maximum number of phone" in text:
        return WABA_NUMBER_LIMIT
    if subcode == 2388012 or "already registered" in text or "another whatsapp business" in text:
        return NUMBER_OTHER_WABA
    if isinstance(error, graph_errors.GraphPermissionError):
        return (
            NO_PERMISSION_ADD_NUMBERS
            if step in ("fetch_numbers", "register_number")
            else (TOKEN_INVALID if step == "sync" else NO_PERMISSION_ADD_NUMBERS)
        )
    if isinstance(error, graph_errors.GraphRateLimitError | graph_errors.GraphTransientError):
        return META_UNAVAILABLE
    if step == "exchange_token":
        return SIGNUP_INCOMPLETE
    return UNEXPECTED


def problem_for_signup_error(message: str) -> str:
    """The catalogue key for an ERROR event of Embedded Signup, from its message."""
    text = message.lower()
    if "permission" in text or "admin" in text or "not allowed to create" in text:
        return NO_RIGHT_CREATE_WABA
    if "limit" in text and "number" in text:
        return WABA_NUMBER_LIMIT
    if "already" in text and ("registered" in text or "in use" in text):
        return NUMBER_OTHER_WABA
    if "another" in text and "provider" in text:
        return ANOTHER_PROVIDER
    return SIGNUP_INCOMPLETE
