"""suggest.privacy.found_details: the order references and e-mail addresses in a customer's
message, found with the anonymiser's own patterns, that the workspace fills placeholders with."""

from __future__ import annotations

import pytest

from suggest.privacy import found_details


@pytest.mark.parametrize(("text", "found"), [
    ("Where is order #A-10293? Mail me at jane.d@example.org",
     [("order.id", "A-10293"), ("customer.email", "jane.d@example.org")]),
    # "order" + the number inside ORD-55120 is one reference, the longer one
    ("Actually my order is ORD-55120", [("order.id", "ORD-55120")]),
    ("order 55120, and later ORD-55121", [("order.id", "55120"), ("order.id", "ORD-55121")]),
    ("the same #A-10293 again: #A-10293", [("order.id", "A-10293")]),
    ("คำสั่งซื้อ #A-10293 ค่ะ", [("order.id", "A-10293")]),
    ("سفارش ۵۵۱۲۰ من نرسید", [("order.id", "۵۵۱۲۰")]),
    # not references: a phone number, an amount and a date, a short number, a card's last four
    ("call me at 0812345678", []),
    ("I paid $120.50 on 2026-09-01 for 2 items", []),
    ("order 12", []),
    ("my card ending 4242", []),
])
def test_found_details(text, found):
    assert found_details(text) == found
