"""The placeholder values a stored conversation gives (suggest/conversation_context.py)."""

from __future__ import annotations

from suggest.conversation_context import values


def test_an_email_address_as_the_customer_name_is_not_a_first_name():
    """Mail-based helpdesks (django-helpdesk) give the sender's address as the author."""
    row = {"id": "dh-7", "customer_name": "emma@example.com", "customer_email": None}
    assert values(row, []) == {"ticket.id": "dh-7", "customer.email": "emma@example.com"}
    named = {"id": "dh-8", "customer_name": "Emma Stone", "customer_email": "e@example.com"}
    assert values(named, [])["customer.first_name"] == "Emma"
