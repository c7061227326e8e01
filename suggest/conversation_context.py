"""What a stored conversation says about the reply it needs: the customer's question (their
messages since the last agent reply) and the placeholder values it gives (name, e-mail, order
reference, ticket id). The workspace, the embedded panel and the webhook post-back read both
from here."""

from __future__ import annotations

from suggest import privacy


def unanswered(messages: list[dict]) -> list[dict]:
    """The customer's messages since the last agent reply (all of them when no agent has
    replied yet), in order."""
    last_agent = max((i for i, m in enumerate(messages) if m["role"] != "customer"), default=-1)
    return [m for m in messages[last_agent + 1:] if m["role"] == "customer"]


def question(messages: list[dict]) -> str:
    """The customer's messages since the last agent reply joined by blank lines (what the
    agent answers next); the last customer message when all are answered."""
    asked = unanswered(messages) or [m for m in messages if m["role"] == "customer"][-1:]
    return "\n\n".join(m["body"] for m in asked)


def values(row: dict, messages: list[dict]) -> dict:
    """{placeholder name: value} known from the conversation: the customer's name and e-mail
    from the row, else an e-mail the customer wrote; the order reference the customer
    mentioned last (found with suggest.privacy's patterns); the ticket id. A "name" that is an
    e-mail address (mail-based helpdesks sign messages with the sender's address) is not a
    name: "Hi {{customer.first_name|there}}" then says "Hi there", not "Hi emma@example.com"."""
    name = (row["customer_name"] or "").strip()
    found = {"ticket.id": row["id"]}
    if privacy.EMAIL.fullmatch(name):
        row = {**row, "customer_email": row["customer_email"] or name}
        name = ""
    if name:
        found.update({"customer.name": name, "customer.first_name": name.split()[0]})
    written = [d for m in messages if m["role"] == "customer"
               for d in privacy.found_details(m["body"] or "")]
    emails = [v for k, v in written if k == "customer.email"]
    email = row["customer_email"] or (emails[-1] if emails else "")
    if email:
        found["customer.email"] = email
    orders = [v for k, v in written if k == "order.id"]
    if orders:
        found["order.id"] = orders[-1]
    return found
