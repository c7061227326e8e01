"""A deterministic synthetic saved-reply library for benchmarks.

Short support-style texts built from templates and vocabulary (products, problems, time
phrases, openers), seeded so that every run indexes the same texts. Each saved reply yields
4 search documents (title, title + body, two example questions), so a library of N documents
has N / 4 replies. Queries are drawn from the same question templates with a different seed:
they resemble indexed questions without being copies of them."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

DOCS_PER_REPLY = 4  # title, title + body, 2 example questions

PRODUCTS = [
    "annual plan", "monthly subscription", "mobile app", "invoice", "credit card", "gift card",
    "order", "parcel", "password", "account", "premium tier", "family plan", "warranty",
    "router", "headphones", "laptop charger", "coupon code", "loyalty points",
    "shipping address", "billing address", "trial", "student discount", "desk lamp",
    "smart watch", "phone case", "coffee machine", "running shoes", "winter jacket",
    "concert tickets", "hotel booking", "flight booking", "train pass", "insurance policy",
    "savings account", "debit card", "wire transfer", "direct debit", "tax receipt",
    "business account", "team workspace", "API key", "data export", "two-factor login",
    "email newsletter", "referral bonus", "store credit", "return label", "replacement unit",
    "printer cartridge", "vacuum cleaner", "e-book", "music streaming plan", "cloud storage",
    "video course", "membership card", "pre-order", "bundle deal", "installation appointment",
    "repair ticket", "firmware update",
]
EVENTS = [
    "the latest update", "the price change", "I moved house", "the outage yesterday",
    "the password reset", "my card expired", "the holiday sale", "I changed my email",
    "the migration", "the last delivery", "my trial ended", "the upgrade",
]
TIMES = [
    "since yesterday", "this morning", "last week", "two days ago", "for a month now",
    "again today", "every time", "since Friday", "after lunch", "over the weekend", "",
    "", "",
]
OPENERS = [
    "", "", "", "Hi, ", "Hello, ", "Hey team, ", "Good morning, ", "Quick question: ",
    "Sorry to bother you, ", "Urgent: ", "Hi there, ", "Hello support, ",
]
QUESTION_TEMPLATES = [
    "I was charged twice for my {p} {t}",
    "How do I cancel my {p}?",
    "My {p} has not arrived yet {t}",
    "Can I get a refund for the {p}?",
    "The {p} stopped working after {e}",
    "Why can't I update my {p}?",
    "I never received a confirmation for my {p}",
    "Is it possible to change the {p} on my account?",
    "The {p} shows the wrong amount {t}",
    "I want to upgrade my {p}, how much does it cost?",
    "Where can I download the receipt for my {p}?",
    "You sent me a damaged {p}",
    "My {p} was cancelled without warning {t}",
    "How long does a refund for a {p} take?",
    "I can't log in to manage my {p} {t}",
    "Do you ship the {p} to Canada?",
    "The discount was not applied to my {p}",
    "Please remove my {p}, I no longer need it",
    "What happens to my {p} after {e}?",
    "I got an error when paying for the {p} {t}",
    "Can I transfer my {p} to another person?",
    "My {p} is missing items",
    "How do I reset the {p}?",
    "Is there a warranty on the {p}?",
    "I need an invoice with my company name for the {p}",
    "The tracking page for my {p} has not moved {t}",
    "Can you pause my {p} for two months?",
    "I was billed for a {p} I never ordered",
    "How do I add a second user to my {p}?",
    "The {p} keeps disconnecting {t}",
]
TOPICS = [
    ("Duplicate charge on", "We have found the duplicate charge and refunded it; it reaches "
     "your statement in 3 to 5 business days."),
    ("Cancelling a", "You can cancel at any time from Settings, then Billing; access stays "
     "until the end of the period you paid for."),
    ("Late delivery of a", "Parcels can take up to 7 business days; if the tracking page has "
     "not moved for 3 days we send a replacement."),
    ("Refund policy for a", "Refunds are possible within 30 days of purchase and go back to "
     "the original payment method."),
    ("Troubleshooting a", "Please restart the device, make sure it runs the latest version "
     "and tell us the error message if it persists."),
    ("Changing details of a", "Open your account page, choose Edit and save; changes apply to "
     "the next billing cycle."),
    ("Missing confirmation for a", "Confirmations sometimes land in the spam folder; we have "
     "sent it again to the address on file."),
    ("Wrong amount on a", "The amount includes local taxes; we have attached an itemised "
     "breakdown of the charge."),
    ("Upgrading a", "Upgrades take effect immediately and you only pay the difference for the "
     "rest of the period."),
    ("Receipt for a", "All receipts are under Billing, then History, where each one can be "
     "downloaded as a PDF."),
    ("Damaged", "We are sorry it arrived damaged; a free return label is attached and a new "
     "one ships today."),
    ("Login problems with a", "Use the reset link on the sign-in page; if it does not arrive "
     "within 10 minutes, check that the address is correct."),
    ("Shipping abroad a", "We ship to most countries; customs fees are shown at checkout "
     "before you pay."),
    ("Discount not applied to a", "The code must be entered before payment; we have applied "
     "the discount as store credit this time."),
    ("Payment error on a", "The bank declined the payment; please try another card or contact "
     "your bank to allow the charge."),
    ("Transferring a", "Transfers are possible once a year; send us the new owner's email and "
     "we will move it."),
    ("Warranty on a", "The warranty covers manufacturing faults for two years from the "
     "delivery date."),
    ("Company invoice for a", "Add your company name and VAT number under Billing details; "
     "new invoices will show them."),
    ("Pausing a", "You can pause for up to three months; billing resumes automatically "
     "afterwards."),
    ("Unknown charge for a", "We could not find an order under your account; please send the "
     "last four digits of the card so we can investigate."),
]
AUDIENCES = [
    "", "(EU customers)", "(US customers)", "(business accounts)", "(first order)",
    "(VIP)", "(after 30 days)", "(marketplace sellers)", "(gift purchases)", "(students)",
    "(returning customers)", "(wholesale)", "(beta users)", "(partners)", "(holiday season)",
    "(Asia-Pacific)", "(Latin America)", "(mobile only)", "(web checkout)", "(phone orders)",
    "(staff accounts)", "(legacy plans)", "(new signups)",
]
CLOSINGS = [
    "", "Let us know if anything else comes up.", "Thanks for your patience.",
    "We are here if you need more help.", "Have a great day.",
]


def _question(rng: random.Random) -> str:
    text = rng.choice(QUESTION_TEMPLATES).format(
        p=rng.choice(PRODUCTS), t=rng.choice(TIMES), e=rng.choice(EVENTS)
    )
    text = (rng.choice(OPENERS) + text).strip()
    return " ".join(text.split())


def reply_records(n_replies: int, seed: int = 7) -> list[dict]:
    """`n_replies` saved replies in the library import format (JSONL records)."""
    rng = random.Random(seed)
    # distinct (topic, product, audience) titles while they last, then repeats
    combos = list(itertools.product(range(len(TOPICS)), PRODUCTS, AUDIENCES))
    rng.shuffle(combos)
    records = []
    for i in range(n_replies):
        t, product, audience = combos[i % len(combos)]
        topic, answer = TOPICS[t]
        title = " ".join(f"{topic} {product} {audience}".split())
        body = f"Hi {{{{customer.first_name|there}}}}, {answer} {rng.choice(CLOSINGS)}".strip()
        records.append(
            {
                "id": f"r{i:06d}",
                "title": title,
                "body": body,
                "questions": [_question(rng), _question(rng)],
                "tags": [topic.split()[0].lower()],
                "language": "en",
            }
        )
    return records


def write_library(path: Path, n_documents: int, seed: int = 7) -> int:
    """Write a JSONL library of about `n_documents` search documents; returns the reply count."""
    n_replies = max(1, n_documents // DOCS_PER_REPLY)
    with open(path, "w", encoding="utf-8") as out:
        for record in reply_records(n_replies, seed):
            out.write(json.dumps(record) + "\n")
    return n_replies


def queries(n: int, seed: int = 12345) -> list[str]:
    """`n` customer questions in the style of the library's example questions."""
    rng = random.Random(seed)
    return [_question(rng) for _ in range(n)]
