"""The messages of the pages' scripts (web/static/js) in the request's language, from the
gettext catalogs: a template renders `js_messages()` as JSON in the `data-messages` of a
hidden `<div id="i18n">` and common.js's `t(key, values)` reads it (`%(name)s` filled by the
script; a message with a plural is {"one": ..., "other": ...}). Placeholder labels
(suggest/placeholders.py LABELS) are here too, so that the workspace names the blanks in the
page's language."""

from __future__ import annotations

from flask_babel import get_translations
from flask_babel import gettext as _


def ngettext(singular: str, plural: str, num: int) -> str:
    """The catalog's form of a message for `num`, its %(name)s left for the script to fill
    (Flask-Babel's ngettext would fill them)."""
    return get_translations().ungettext(singular, plural, num)


def _plural(one: str, other: str) -> dict[str, str]:
    """The forms of a message for one and for several, as the script picks them."""
    return {"one": one, "other": other}


def js_messages() -> dict:
    """Every script message by key, translated for the current request."""
    return {
        # workspace.js: suggestions
        "reason.example_question": _("matched saved reply example"),
        "reason.saved_reply": _("matched saved reply text"),
        "reason.past_question": _("matched past question"),
        "similarity score": _("similarity score"),
        "saved reply": _("saved reply"),
        "past reply": _("past reply"),
        "Files:": _("Files:"),
        "Files of": _("Files of “%(title)s”: "),
        "Insert": _("Insert"),
        "Dismiss": _("Dismiss"),
        "Not useful": _("Not useful"),
        "No suggestion": _("No suggestion for this message."),
        "No confident suggestion": _("No confident suggestion"),
        "weak": _plural(
            ngettext(" for this message: the closest reply is a weak match. ",
                     " for this message: the %(num)s closest replies are weak matches. ", 1),
            ngettext(" for this message: the closest reply is a weak match. ",
                     " for this message: the %(num)s closest replies are weak matches. ", 2)),
        "Show anyway": _("Show anyway"),
        "Weak matches": _("Weak matches, below the confidence threshold: check before using."),
        "All dismissed": _("All suggestions dismissed."),
        "searching": _("searching…"),
        "bytes": _("%(size)s B"),
        "kilobytes": _("%(size)s KB"),
        "megabytes": _("%(size)s MB"),
        # workspace.js: session and draft
        "restored": _("Your unsent draft was restored."),
        "out of date": _("This page is out of date (you signed in again): reload it; your "
                         "draft is kept."),
        # workspace.js: placeholders and insert
        "from the conversation": _(" (from the conversation)"),
        "from the conversation:": _("from the conversation: %(value)s"),
        "default:": _("default: %(value)s"),
        "no default": _("no default: stays to fill in"),
        "inserted, kept": _("Inserted “%(title)s” at the cursor; your text is kept. "),
        "inserted": _("Inserted “%(title)s”. "),
        "its files": _("Its files, to attach to your message:"),
        "in the helpdesk": _("The saved reply's actions in %(source)s:"),
        "chip default": _("%(name)s (default: %(value)s)"),
        "e.g.": _("e.g. %(value)s"),
        "type the value": _("type the value"),
        "Fill": _("Fill"),
        "list separator": _(", "),
        # workspace.js: copy, review requests, proposals
        "not copied, blanks": _plural(
            ngettext("Not copied: fill in %(names)s first (it is under the editor).",
                     "Not copied: fill in %(names)s first (they are under the editor).", 1),
            ngettext("Not copied: fill in %(names)s first (it is under the editor).",
                     "Not copied: fill in %(names)s first (they are under the editor).", 2)),
        "copied blanks": _plural(
            ngettext("Careful, the copied text has blanks: fill in %(names)s first (it is "
                     "under the editor).",
                     "Careful, the copied text has blanks: fill in %(names)s first (they are "
                     "under the editor).", 1),
            ngettext("Careful, the copied text has blanks: fill in %(names)s first (it is "
                     "under the editor).",
                     "Careful, the copied text has blanks: fill in %(names)s first (they are "
                     "under the editor).", 2)),
        "Nothing to copy": _("Nothing to copy yet."),
        "broken placeholder": _("Not copied: “%(text)s” looks like a broken placeholder: "
                                "fill it in or delete it."),
        "Copied": _("Copied to the clipboard."),
        "Write first": _("Write or insert a reply first."),
        "Draft": _("Draft %(id)s"),
        "Sent for review": _("Sent for review: %(draft)s"),
        "still to fill": _(" — note: %(names)s still to fill in before it goes to the "
                           "customer."),
        "requested": _(" — requested"),
        "Proposed": _("Proposed “%(title)s” to the leads (draft %(id)s)."),
        # workspace.js: library panel, queue and thread
        "No saved reply matches": _("No saved reply matches."),
        "narrow": _("%(shown)s of %(total)s saved replies: narrow the search."),
        "saved replies": _plural(
            ngettext("%(num)s saved reply.", "%(num)s saved replies.", 1),
            ngettext("%(num)s saved reply.", "%(num)s saved replies.", 2)),
        "Preview of": _("Preview of %(title)s"),
        "customer": _("customer"),
        "thread": _plural(
            ngettext("Conversation: %(num)s message, the newest last",
                     "Conversation: %(num)s messages, the newest last", 1),
            ngettext("Conversation: %(num)s message, the newest last",
                     "Conversation: %(num)s messages, the newest last", 2)),
        "placeholders": {
            "customer.first_name": _("Customer first name"),
            "customer.last_name": _("Customer last name"),
            "customer.name": _("Customer name"),
            "customer.email": _("Customer e-mail"),
            "customer.phone": _("Customer phone number"),
            "customer.id": _("Customer ID"),
            "number": _("Account or card number"),
            "order.id": _("Order number"),
            "order.tracking_url": _("Tracking link"),
            "ticket.id": _("Ticket number"),
            "ticket.url": _("Ticket link"),
            "agent.name": _("Your name"),
            "agent.first_name": _("Your first name"),
            "refund.amount": _("Refund amount"),
            "subscription.plan": _("Subscription plan"),
            "company.name": _("Company name"),
        },
        # library.js: the saved-reply editor's live preview
        "stray braces": _("A {{ or }} that forms no placeholder stays as plain text. "),
        "no default left": _plural(
            ngettext("%(num)s placeholder without a default stays for the agent to fill.",
                     "%(num)s placeholders without a default stay for the agent to fill.", 1),
            ngettext("%(num)s placeholder without a default stays for the agent to fill.",
                     "%(num)s placeholders without a default stay for the agent to fill.", 2)),
        "no value, no default": _("no value, no default"),
        "(default)": _("%(name)s (default)"),
    }
