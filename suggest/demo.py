"""Demo data for replykit: a seeded generator of support conversations for the fictional
company "Acme", built on the demo saved-reply library in `demo_data/saved_replies.jsonl`.

The output uses replykit's conversation import format: JSONL, one message per line, with the
conversation-level fields (subject, priority, status, csat, nps, ces, customer_id,
customer_email, resolved_at, team) repeated on every row of a conversation. Agent rows written
from a saved reply carry its id in `saved_reply_id`.

The data is meant to exercise every view: English, Thai and Persian conversations; customer
text with typos, order numbers, phone numbers and email addresses (for the privacy scrubbers);
agent replies with signatures, quoted history and `<br>` tags; chat answered in minutes and
email in hours, some SLA breaches, some weekend replies, double customer messages, long
threads and an unanswered backlog. Everything is derived from `random.Random(seed)` and a fixed
default start date, so the same arguments always give the same output.

    python -m suggest.demo demo_conversations.jsonl --conversations 1500 --seed 7
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from suggest.placeholders import PLACEHOLDER

SAVED_REPLIES_PATH = Path(__file__).with_name("demo_data") / "saved_replies.jsonl"
DEFAULT_START = datetime(2026, 9, 1, tzinfo=UTC)


# --- people -------------------------------------------------------------------------------

# name, team, languages handled
AGENTS = [
    ("Maya Chen", "support", ("en",)),
    ("Liam O'Brien", "support", ("en",)),
    ("Priya Raman", "support", ("en",)),
    ("Sofia Rossi", "billing", ("en",)),
    ("Carlos Mendes", "billing", ("en",)),
    ("Daniel Okafor", "technical", ("en",)),
    ("Jonas Weber", "technical", ("en",)),
    ("Aiko Tanaka", "technical", ("en",)),
    ("Kanya Srisuk", "support", ("th",)),
    ("Sara Ahmadi", "support", ("fa",)),
]

EN_FIRST = [
    "Emma", "Olivia", "James", "Noah", "María", "José", "Lucía", "Mateo", "Fatima", "Omar",
    "Aisha", "Wei", "Hiroshi", "Yuki", "Ananya", "Rahul", "Chloé", "Lukas", "Anna", "Ingrid",
    "Kwame", "Amara", "Dmitri", "Olga", "Seán", "Grace", "Zanele", "Mohammed", "Isabella",
    "Tomás", "Mei", "Jae-won", "Aroha", "Leila", "Nikos", "Sven", "Beatriz", "Chidi",
]
EN_LAST = [
    "Smith", "Johnson", "García", "Müller", "Nguyen", "Kim", "Patel", "Okonkwo", "Rossi",
    "Kowalski", "Andersson", "Dubois", "Silva", "Cohen", "O'Connor", "Yamamoto", "Haddad",
    "Novak", "Mensah", "Hernández", "Brown", "Ivanova", "Takahashi", "Fernandes", "Walker",
    "Papadopoulos", "Chen", "Singh", "Mahlangu", "Lindqvist",
]
# (native, romanised) pairs: the romanised form makes the email address
TH_FIRST = [("สมชาย", "somchai"), ("ณัฐวุฒิ", "nattawut"), ("ธนพล", "thanapol"),
            ("อนุชา", "anucha"), ("ปิยะพงษ์", "piyapong"),  # men, then women
            ("พิมพ์ชนก", "pimchanok"), ("กนกวรรณ", "kanokwan"), ("สุภาวดี", "supawadee"),
            ("วรรณา", "wanna"), ("ศิริพร", "siriporn")]
TH_MEN = {"สมชาย", "ณัฐวุฒิ", "ธนพล", "อนุชา", "ปิยะพงษ์"}
TH_LAST = [("ใจดี", "jaidee"), ("ศรีสุข", "srisuk"), ("วงศ์ใหญ่", "wongyai"), ("บุญมา", "boonma"),
           ("แก้วมณี", "kaewmanee"), ("ทองดี", "thongdee"), ("เพชรรัตน์", "petcharat"),
           ("สายสุวรรณ", "saisuwan"), ("มั่นคง", "munkong"), ("รุ่งเรือง", "rungruang")]
FA_FIRST = [("علی", "ali"), ("مریم", "maryam"), ("رضا", "reza"), ("زهرا", "zahra"),
            ("محمد", "mohammad"), ("نگار", "negar"), ("امیر", "amir"), ("پریسا", "parisa"),
            ("حسین", "hossein"), ("فاطمه", "fatemeh"), ("کیوان", "keyvan"), ("شیرین", "shirin"),
            ("بهرام", "bahram"), ("لیلا", "leila")]
FA_LAST = [("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("کریمی", "karimi"),
           ("رضایی", "rezaei"), ("موسوی", "mousavi"), ("جعفری", "jafari"), ("کاظمی", "kazemi"),
           ("نوری", "nouri"), ("قاسمی", "ghasemi"), ("یزدانی", "yazdani")]

LANGUAGE_SHARE = {"en": 0.84, "th": 0.08, "fa": 0.08}
TIMEZONES = {
    "en": {"America/New_York": 4, "America/Chicago": 1, "America/Los_Angeles": 2,
           "Europe/London": 3, "Europe/Berlin": 2, "Asia/Kolkata": 1, "Australia/Sydney": 1,
           "America/Sao_Paulo": 1, "Africa/Lagos": 1},
    "th": {"Asia/Bangkok": 1},
    "fa": {"Asia/Tehran": 6, "Europe/Berlin": 1, "America/Toronto": 1},
}
# support desk hours per language: time zone, opening hour, closing hour, working weekdays
DESK_HOURS = {
    "en": ("UTC", 7, 22, {0, 1, 2, 3, 4}),
    "th": ("Asia/Bangkok", 8, 18, {0, 1, 2, 3, 4}),
    "fa": ("Asia/Tehran", 8, 17, {5, 6, 0, 1, 2}),  # Saturday to Wednesday
}
# relative traffic by local hour, and the customer's weekend days
HOUR_WEIGHT = [0.06, 0.04, 0.03, 0.03, 0.04, 0.08, 0.15, 0.35, 0.7, 1.0, 1.0, 1.0,
               0.8, 0.95, 0.95, 0.9, 0.85, 0.7, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1]
WEEKEND = {"en": {5: 0.35, 6: 0.3}, "th": {5: 0.4, 6: 0.35}, "fa": {3: 0.6, 4: 0.3}}

CHANNELS = {"email": 50, "chat": 30, "social": 12, "phone": 8}
PRIORITIES = {"low": 20, "normal": 55, "high": 18, "urgent": 7}
PLANS = ["Starter", "Team", "Business"]
DOMAINS = ["example.com", "example.org"]

# median first-response time in minutes and spread, per channel
RESPONSE = {"chat": (4, 0.9), "phone": (8, 0.5), "social": (90, 1.0), "email": (240, 1.0)}
CUSTOMER_WAIT = {"chat": (2, 0.8), "phone": (300, 1.0), "social": (60, 1.0), "email": (180, 1.2)}
PRIORITY_FACTOR = {"urgent": 0.25, "high": 0.5, "normal": 1.0, "low": 1.6}

# --- text snippets -----------------------------------------------------------------------

TEXT = {
    "en": {
        "greeting": ["", "", "Hi,", "Hello,", "Hi there,", "Hey", "Good morning,",
                     "Hello Acme team,", "hi", "Dear support,"],
        "context": [
            "My order number is #{order}.", "I'm on the {plan} plan.",
            "This is really urgent for us.", "I've been a customer for {years} years.",
            "You can reach me at {phone}.", "My account email is {email}.",
            "We have a deadline on Friday.", "I already tried clearing my cache.",
            "Please call me back on {phone} if that's easier.", "Order #{order}, if it helps.",
        ],
        "signoff": ["\n\nThanks,\n{first}", "\n\nBest,\n{name}", "\n\nSent from my iPhone",
                    "\n\nRegards,\n{name}\n{phone}", "\n\nthx"],
        "nudge": ["Any update on this?", "Hello?? still waiting", "Is anyone there?",
                  "Also, my order number is #{order}.", "Sorry, forgot to add: my email is {email}",
                  "Following up on my message from earlier, this is blocking our team.",
                  "Just adding that it's happening on my phone as well."],
        "thanks": ["Thanks, that worked!", "Great, thank you so much.", "perfect thx",
                   "That fixed it, appreciate the quick help.", "ok all good now"],
        "still": ["I tried that but it's still not working.",
                  "Still the same problem unfortunately. Anything else I can try?",
                  "Didn't help :( same error", "I did what you said and nothing changed."],
        "info": ["Here is the order number: #{order}.", "Sure, my account email is {email}.",
                 "Attached a screenshot. It happens every time I click save.",
                 "Thanks for the reply. My phone is {phone} if calling is easier."],
        "hello": "Hi {first},", "bye": "Best,\n{agent}",
        "free": ["Thanks for the details. I'm looking into this now and will get back to you "
                 "shortly.",
                 "Thanks for getting back to me. I've checked your account again and updated "
                 "the settings on our side, so please give it another try.",
                 "I've passed this to the right team and added your notes to ticket {ticket}. "
                 "I'll update you as soon as I hear back.",
                 "Thanks, that's exactly what I needed. I've made the change, and you should "
                 "see it within a few minutes."],
        "extra": "Let me know if there's anything else I can do.",
        "welcome": "You're welcome, {first}! Have a great day.",
        "patience": "Thanks for your patience while I looked into this.",
    },
    "th": {
        "greeting": ["", "สวัสดีค่ะ", "สวัสดีครับ", "รบกวนสอบถามค่ะ", "สอบถามหน่อยครับ"],
        "context": ["คำสั่งซื้อ #{order} ค่ะ", "ใช้แพ็กเกจ {plan} อยู่ครับ", "ค่อนข้างด่วนค่ะ",
                    "ติดต่อกลับได้ที่เบอร์ {phone} นะคะ", "อีเมลบัญชีคือ {email} ครับ"],
        "signoff": ["\n\nขอบคุณค่ะ\n{first}", "\n\nขอบคุณครับ"],
        "nudge": ["ขอสอบถามความคืบหน้าด้วยค่ะ", "ยังไม่มีใครตอบเลยครับ",
                  "ลืมแจ้งค่ะ เลขคำสั่งซื้อ #{order}"],
        "thanks": ["ขอบคุณมากค่ะ ใช้ได้แล้ว", "เรียบร้อยแล้วครับ ขอบคุณครับ", "โอเคค่ะ ขอบคุณนะคะ"],
        "still": ["ลองทำตามแล้วแต่ยังไม่ได้เลยค่ะ", "ยังเป็นเหมือนเดิมครับ มีวิธีอื่นไหมครับ"],
        "info": ["เลขคำสั่งซื้อ #{order} ค่ะ", "อีเมลที่ใช้สมัครคือ {email} ครับ",
                 "โทรกลับได้ที่ {phone} นะคะ"],
        "hello": "สวัสดีค่ะ คุณ{first}", "bye": "{agent}\nทีมบริการลูกค้า Acme",
        "free": ["ขอบคุณสำหรับข้อมูลค่ะ ขณะนี้กำลังตรวจสอบให้ และจะแจ้งกลับโดยเร็วที่สุดค่ะ",
                 "ได้ส่งเรื่องให้ทีมที่เกี่ยวข้องแล้วค่ะ (เรื่องหมายเลข {ticket}) "
                 "เมื่อมีความคืบหน้าจะแจ้งให้ทราบทันทีค่ะ"],
        "extra": "หากมีข้อสงสัยเพิ่มเติม แจ้งได้เลยนะคะ",
        "welcome": "ยินดีค่ะ คุณ{first} หากมีข้อสงสัยเพิ่มเติม แจ้งได้เลยนะคะ",
        "patience": "ขอบคุณที่รอค่ะ",
    },
    "fa": {
        "greeting": ["", "سلام", "سلام وقت بخیر", "با سلام و احترام", "درود"],
        "context": ["شماره سفارش #{order} است.", "طرح {plan} دارم.", "خیلی فوری است.",
                    "شماره تماسم {phone} است.", "ایمیل حسابم {email} است."],
        "signoff": ["\n\nممنون\n{first}", "\n\nبا تشکر"],
        "nudge": ["خبری نشد؟", "لطفاً پیگیری کنید، هنوز جوابی نگرفته\u200cام.",
                  "یادم رفت بگم، شماره سفارش #{order} است."],
        "thanks": ["ممنون، درست شد", "خیلی ممنون از کمکتون", "مرسی، مشکلم حل شد"],
        "still": ["انجام دادم ولی هنوز درست نشده.",
                  "متأسفانه مشکل هنوز هست. راه دیگه\u200cای داره؟"],
        "info": ["شماره سفارش #{order} است.", "ایمیلم {email} است.", "شماره تماسم {phone} است."],
        "hello": "سلام {first}،", "bye": "با احترام،\n{agent}",
        "free": ["ممنون از اطلاعاتی که فرستادید. در حال بررسی هستیم و به\u200cزودی نتیجه را "
                 "اطلاع می\u200cدهیم.",
                 "موضوع را به تیم مربوط ارجاع دادم (درخواست شماره {ticket}) و به محض دریافت "
                 "پاسخ، خبرتان می\u200cکنم."],
        "extra": "اگر سؤال دیگری داشتید، در خدمتیم.",
        "welcome": "خواهش می\u200cکنم {first} عزیز. اگر سؤال دیگری داشتید، در خدمتیم.",
        "patience": "از صبر و شکیبایی شما سپاسگزاریم.",
    },
}
QUESTION_WORDS = {"how", "can", "where", "what", "whats", "why", "is", "do", "does", "will",
                  "when", "could", "would", "has", "any"}
CLOSING_REPLY = {"en": "ticket-closing", "th": "th-closing-thanks", "fa": "fa-closing-thanks"}
FOLLOW_UP_REPLY = {"en": "follow-up-no-response"}
ESCALATION_REPLY = {"en": "escalate-engineering"}
# replies agents send on their own initiative; never the first answer to a question
NOT_AN_ANSWER = {"ticket-closing", "th-closing-thanks", "fa-closing-thanks",
                 "follow-up-no-response", "escalate-engineering"}


# --- helpers -------------------------------------------------------------------------------


def load_saved_replies(path: str | os.PathLike = SAVED_REPLIES_PATH) -> list[dict]:
    """The demo saved-reply library as a list of dicts, in file order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fill_placeholders(body: str, values: dict) -> str:
    """Replace `{{name}}` / `{{name|fallback}}` with values[name], else the fallback, else ''."""

    def fill(match: re.Match) -> str:
        value = values.get(match.group(1))
        return str(value) if value else (match.group(2) or "")

    return PLACEHOLDER.sub(fill, body)


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _minutes(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word, j = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.random()
    if kind < 0.4:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]  # swap two letters
    elif kind < 0.7:
        word = word[:j] + word[j + 1 :]  # drop a letter
    else:
        word = word[:j] + word[j] + word[j:]  # double a letter
    words[i] = word
    return " ".join(words)


def _thai_voice(text: str, first_name: str) -> str:
    """Thai polite particles follow the speaker: ครับ for men, ค่ะ/คะ for women."""
    if first_name in TH_MEN:
        return text.replace("ค่ะ", "ครับ").replace("คะ", "ครับ")
    text = text.replace("ครับ", "ค่ะ")
    for asking in ("ไหม", "หรือเปล่า", "ยังไง", "อะไร", "ไหน"):  # questions end in คะ
        text = text.replace(asking + "ค่ะ", asking + "คะ")
    return text


def _phone(rng: random.Random, language: str) -> str:
    if language == "th":
        return f"08{rng.randint(1, 9)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if language == "fa":
        number = f"0912 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        if rng.random() < 0.5:  # Persian digits, as many customers type them
            number = number.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        return number
    if rng.random() < 0.6:
        return f"+1 {rng.choice(['212', '415', '312', '646'])} 555 01{rng.randint(0, 99):02d}"
    return f"+44 20 7946 0{rng.randint(0, 999):03d}"


def _customers(rng: random.Random, language: str, count: int, first_id: int) -> list[dict]:
    people = []
    for k in range(count):
        if language == "en":
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            r_first, r_last = _ascii(first), _ascii(last)
        else:
            (first, r_first), (last, r_last) = rng.choice(
                TH_FIRST if language == "th" else FA_FIRST
            ), rng.choice(TH_LAST if language == "th" else FA_LAST)
        local = rng.choice([f"{r_first}.{r_last}", f"{r_first[0]}{r_last}",
                            f"{r_first}{rng.randint(1, 99)}", f"{r_first}_{r_last[0]}"])
        people.append({
            "id": f"CUST-{first_id + k:04d}",
            "first": first,
            "name": f"{first} {last}",
            "email": f"{local}@{rng.choice(DOMAINS)}",
            "language": language,
            "tz": ZoneInfo(_pick(rng, TIMEZONES[language])),
            "plan": rng.choice(PLANS),
        })
    return people


def _first_message_time(rng: random.Random, customer: dict, start: datetime, days: int):
    """Rejection sampling: weekday and business-hour traffic in the customer's time zone."""
    weekend = WEEKEND[customer["language"]]
    while True:
        moment = start + timedelta(seconds=rng.uniform(0, days * 86400))
        local = moment.astimezone(customer["tz"])
        weight = HOUR_WEIGHT[local.hour] * weekend.get(local.weekday(), 1.0)
        if rng.random() < weight:
            return moment.replace(microsecond=0)


def _desk_open(moment: datetime, language: str) -> datetime:
    """`moment` if the support desk for `language` is open then, else its next opening."""
    zone, opens, closes, days = DESK_HOURS[language]
    local = moment.astimezone(ZoneInfo(zone))
    if local.weekday() in days and opens <= local.hour < closes:
        return moment
    day = local.replace(hour=opens, minute=0, second=0)
    if local.hour >= opens:
        day += timedelta(days=1)
    while day.weekday() not in days:
        day += timedelta(days=1)
    return day.astimezone(UTC)


def _agent_delay(rng, moment, channel, priority, language, first) -> tuple[datetime, bool]:
    """When the agent answers a customer message sent at `moment`; and whether it broke SLA."""
    median, sigma = RESPONSE[channel] if first else (RESPONSE[channel][0] * 0.7, 1.0)
    minutes = _minutes(rng, median, sigma) * PRIORITY_FACTOR[priority]
    breach = rng.random() < 0.07
    if breach:
        minutes *= rng.uniform(5, 15)
    reply = moment + timedelta(minutes=max(minutes, 0.5))
    # Outside desk hours most replies wait for the next opening; some agents answer anyway
    # (urgent tickets, someone checking the queue on a weekend).
    if priority != "urgent" and rng.random() < 0.85:
        opened = _desk_open(reply, language)
        if opened != reply:
            reply = opened + timedelta(minutes=_minutes(rng, 25, 0.8))
    return reply.replace(microsecond=0), breach


def _customer_text(rng: random.Random, question: str, ctx: dict, channel: str) -> str:
    language = ctx["language"]
    words = TEXT[language]
    text = question
    if language == "en":
        if rng.random() < 0.25:
            text = _typo(rng, text)
        if rng.random() < 0.1:
            text = _typo(rng, text)
        if rng.random() < 0.15:
            text = text.lower()
        if text[-1] not in ".?!" and rng.random() < 0.7:
            question = text.split()[0].lower() in QUESTION_WORDS
            text += "?" if question else "."
    if ctx["order_topic"] and "#A-" not in text and rng.random() < 0.6:
        text += " " + words["context"][0 if language != "en" else 9].format(**ctx)
    elif rng.random() < 0.35:
        text += " " + rng.choice(words["context"]).format(**ctx)
    greeting = rng.choice(words["greeting"])
    if channel == "social":
        return ("@AcmeSupport " if language == "en" else "") + text
    if greeting:
        text = greeting + ("\n\n" if channel == "email" else " ") + text
    if channel == "email" and rng.random() < 0.6:
        text += rng.choice(words["signoff"]).format(**ctx)
    return text


def _email_noise(rng: random.Random, body: str, ctx: dict, quoted: dict | None) -> str:
    if rng.random() < 0.35:
        body += f"\n\n--\nBest regards,\n{ctx['agent']}\nAcme Support"
    if quoted and rng.random() < 0.2:
        when = datetime.fromisoformat(quoted["created_at"]).strftime("%a, %d %b %Y at %H:%M")
        lines = "\n".join("> " + line for line in quoted["body"].splitlines())
        body += f"\n\nOn {when}, {quoted['author']} <{ctx['email']}> wrote:\n{lines}"
    if rng.random() < 0.08:
        body = body.replace("\n", "<br>\n") if rng.random() < 0.5 else body.replace("\n", "<br>")
    return body


def _agent_text(rng: random.Random, reply: dict | None, ctx: dict) -> tuple[str, str | None]:
    """An agent answer: the saved reply filled in (maybe lightly edited), or free text."""
    words = TEXT[ctx["language"]]
    fmt = {"first": ctx["first"], "agent": ctx["agent"], "ticket": ctx["ticket"]}
    if reply is not None and rng.random() < 0.5:
        body = fill_placeholders(reply["body"], ctx["values"])
        edit = rng.random()
        if edit < 0.15:
            body += "\n\n" + words["extra"]
        elif edit < 0.25:
            head, sep, rest = body.partition("\n\n")
            body = head + sep + words["patience"] + " " + rest if sep else body
        return body, reply["id"]
    hello, bye = words["hello"].format(**fmt), words["bye"].format(**fmt)
    if reply is not None and rng.random() < 0.8:
        # free-written, but close to the saved reply: the agent's own greeting and a shortened
        # version of the same content
        text = fill_placeholders(reply["body"], ctx["values"]).split("\n\n")
        middle = max(text[1:-1] if len(text) > 2 else text[1:] or text, key=len)
        if ctx["language"] == "en":
            sentences = re.split(r"(?<=[.!?])\s+", middle)
            keep = rng.randint(max(1, len(sentences) - 2), len(sentences))
            middle = " ".join(sentences[:keep])
        return f"{hello}\n\n{middle}\n\n{bye}", None
    return f"{hello}\n\n{rng.choice(words['free']).format(**fmt)}\n\n{bye}", None


# --- the generator -------------------------------------------------------------------------


def generate_conversations(
    n_conversations: int = 1500, seed: int = 7, start: datetime | None = None, days: int = 60
) -> Iterator[dict]:
    """Yield demo messages (import-format dicts), conversation by conversation, in the order of
    each conversation's first message; messages within a conversation strictly increase in
    time. The window is `days` days from `start` (default 2026-09-01 00:00 UTC); nothing is
    dated after its end, so late conversations form an unanswered backlog."""
    rng = random.Random(seed)
    start = (start or DEFAULT_START).replace(microsecond=0)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    end = start + timedelta(days=days)
    replies = load_saved_replies()
    by_id = {r["id"]: r for r in replies}
    topics = {lang: [r for r in replies if r["language"] == lang and r["status"] != "draft"
                     and r["id"] not in NOT_AN_ANSWER] for lang in LANGUAGE_SHARE}
    popularity = {r["id"]: rng.lognormvariate(0, 0.7) for r in replies}

    customers, next_id = {}, 1
    for lang, share in LANGUAGE_SHARE.items():
        count = max(5, int(n_conversations * share * 0.7))
        customers[lang] = _customers(rng, lang, count, next_id)
        next_id += count

    agents = {lang: [a for a in AGENTS if lang in a[2]] for lang in LANGUAGE_SHARE}
    starts = []
    for _ in range(n_conversations):
        customer = rng.choice(customers[_pick(rng, LANGUAGE_SHARE)])
        starts.append((_first_message_time(rng, customer, start, days), customer))
    starts.sort(key=lambda item: item[0])

    setting = {"start": start, "end": end, "days": days, "topics": topics, "by_id": by_id,
               "popularity": popularity, "agents": agents}
    for number, (first_at, customer) in enumerate(starts, start=10001):
        yield from _conversation(rng, setting, f"C{number}", first_at, customer)


def _conversation(rng: random.Random, setting: dict, ticket: str, first_at: datetime,
                  customer: dict) -> list[dict]:
    """The import rows of one conversation, opened by `customer` at `first_at`."""
    lang, end, by_id = customer["language"], setting["end"], setting["by_id"]
    # archived replies are stale: only used in the first weeks of the window
    recent = setting["start"] + timedelta(days=setting["days"] * 0.3)
    pool = [r for r in setting["topics"][lang] if r["status"] == "approved" or first_at < recent]
    topic = rng.choices(pool, weights=[setting["popularity"][r["id"]] for r in pool])[0]
    channel = _pick(rng, CHANNELS)
    priority = _pick(rng, PRIORITIES)
    if topic["folder"].startswith("Technical/Incidents") and priority in ("low", "normal"):
        priority = "high"
    team = (topic.get("teams") or [None])[0] or {
        "Billing": "billing", "Technical": "technical"
    }.get(topic["folder"].split("/")[0], "support")
    candidates = [a for a in setting["agents"][lang] if a[1] == team or lang != "en"]
    if (lang == "en" and rng.random() < 0.15) or not candidates:
        candidates = setting["agents"][lang]
    agent = rng.choice(candidates)[0]
    if lang == "en" and rng.random() < 0.04:
        agent = rng.choice(["Kanya Srisuk", "Sara Ahmadi"])
    order = f"A-{rng.randint(10000, 19999)}"
    ctx = {
        "language": lang, "first": customer["first"], "name": customer["name"],
        "email": customer["email"], "agent": agent, "ticket": ticket, "order": order,
        "plan": customer["plan"], "phone": _phone(rng, lang), "years": rng.randint(2, 9),
        "order_topic": topic["folder"].startswith(("Shipping", "Orders")),
        "values": {
            "customer.first_name": customer["first"], "customer.name": customer["name"],
            "customer.email": customer["email"], "agent.name": agent,
            "ticket.id": ticket, "order.id": order, "company.name": "Acme",
            "subscription.plan": customer["plan"],
            "company.status_url": "https://status.example.com",
            "company.help_url": "https://help.example.com",
            "company.pricing_url": "https://www.example.com/pricing",
        },
    }
    messages: list[dict] = []

    def add(role: str, moment: datetime, body: str, reply_id: str | None = None) -> None:
        if role == "customer" and lang == "th":
            body = _thai_voice(body, customer["first"])
        row = {"role": role, "author": customer["name"] if role == "customer" else agent,
               "created_at": moment, "body": body}
        if reply_id:
            row["saved_reply_id"] = reply_id
        messages.append(row)

    def add_saved(moment: datetime, reply_id: str) -> None:
        add("agent", moment, fill_placeholders(by_id[reply_id]["body"], ctx["values"]), reply_id)

    def customer_line(kind: str) -> str:
        lines = [x for x in TEXT[lang][kind] if ctx["order_topic"] or "{order}" not in x]
        return rng.choice(lines).format(**ctx)

    t, breached = first_at, False
    add("customer", t, _customer_text(rng, rng.choice(topic["questions"]), ctx, channel))
    if rng.random() < 0.12:  # the customer writes again before anyone answers
        t += timedelta(minutes=_minutes(rng, *CUSTOMER_WAIT[channel]) * 0.7 + 1)
        add("customer", t, customer_line("nudge"))
    if rng.random() >= 0.06:  # otherwise: never answered, part of the open backlog
        t, breached = _agent_delay(rng, t, channel, priority, lang, first=True)
        add("agent", t, *_agent_text(rng, topic, ctx))
        for _ in range(rng.choices([0, 1, 2, 3], weights=[55, 27, 12, 6])[0]):
            kind = rng.choices(["thanks", "still", "info", "another"], [35, 25, 25, 15])[0]
            t += timedelta(minutes=_minutes(rng, *CUSTOMER_WAIT[channel]) + 0.5)
            other = rng.choice(pool) if kind == "another" else None
            if other:
                question = rng.choice(other["questions"])
                add("customer", t, _customer_text(rng, question, ctx, channel))
            else:
                add("customer", t, customer_line(kind))
            t, late = _agent_delay(rng, t, channel, priority, lang, first=False)
            breached = breached or late
            if kind == "thanks":
                if rng.random() < 0.6:
                    add_saved(t, CLOSING_REPLY[lang])
                else:
                    add("agent", t, TEXT[lang]["welcome"].format(**ctx))
                break
            if kind == "still" and lang == "en" and team == "technical" and rng.random() < 0.5:
                add_saved(t, ESCALATION_REPLY[lang])
            else:
                add("agent", t, *_agent_text(rng, other, ctx))
        if messages[-1]["role"] == "agent" and lang == "en" and rng.random() < 0.08:
            # the customer went quiet: the agent follows up a few days later
            t = _desk_open(t + timedelta(days=rng.uniform(2, 4)), lang)
            add_saved(t.replace(microsecond=0) + timedelta(minutes=rng.randint(5, 240)),
                      FOLLOW_UP_REPLY[lang])

    # the export is taken at `end`: later messages do not exist yet
    messages = [m for m in messages if m["created_at"] < end]
    last = messages[-1]
    if last["role"] == "customer":
        status = "open"
    elif last.get("saved_reply_id") == FOLLOW_UP_REPLY.get(lang) or rng.random() < 0.12:
        status = "pending"
    else:
        status = "closed" if end - last["created_at"] > timedelta(days=4) else "resolved"
    if status == "pending" and end - last["created_at"] > timedelta(days=7):
        status = "closed"
    conversation = {
        "subject": _subject(rng, topic, messages[0]["body"], channel),
        "priority": priority, "status": status,
    }
    if status in ("resolved", "closed") and rng.random() < 0.4:
        scores = [15, 15, 25, 25, 20] if breached else [3, 4, 10, 28, 55]
        conversation["csat"] = rng.choices([1, 2, 3, 4, 5], weights=scores)[0]
        # who rates a conversation answers NPS and CES too, in line with the CSAT; a Random of
        # its own per conversation leaves every other figure of the demo as it was
        survey = random.Random(f"{ticket} {first_at.isoformat()}")
        conversation["nps"] = min(10, max(0, 2 * conversation["csat"] + survey.randint(-2, 1)))
        conversation["ces"] = min(7, max(1, 8 - conversation["csat"] - survey.randint(0, 2)))
    conversation["customer_id"] = customer["id"]
    conversation["customer_email"] = customer["email"]
    if status in ("resolved", "closed"):
        resolved = last["created_at"] + timedelta(minutes=rng.randint(0, 30))
        conversation["resolved_at"] = _iso(min(resolved, end))
    conversation["team"] = team

    rows, previous_customer = [], None
    for seq, message in enumerate(messages, start=1):
        body = message["body"]
        if message["role"] == "agent" and channel == "email":
            body = _email_noise(rng, body, ctx, previous_customer)
        row = {
            "conversation_id": ticket, "message_id": f"{ticket}-{seq}",
            "role": message["role"], "author": message["author"], "channel": channel,
            "created_at": _iso(message["created_at"]), "body": body, **conversation,
        }
        if "saved_reply_id" in message:
            row["saved_reply_id"] = message["saved_reply_id"]
        if message["role"] == "customer":
            previous_customer = row
        rows.append(row)
    return rows


def _subject(rng: random.Random, topic: dict, question: str, channel: str) -> str:
    if channel != "email" or topic["language"] != "en" or rng.random() < 0.3:
        return topic["title"]
    line = next((ln for ln in question.splitlines() if len(ln) > 12), question).strip()
    line = line.removeprefix("@AcmeSupport ")
    return line[:57].rstrip() + "..." if len(line) > 60 else line


def write_conversations(path: str | os.PathLike, **kwargs) -> int:
    """Write `generate_conversations(**kwargs)` to `path` as UTF-8 JSONL, atomically (temp file
    in the same directory, then os.replace). Returns the number of messages written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for message in generate_conversations(**kwargs):
                f.write(json.dumps(message, ensure_ascii=False) + "\n")
                count += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m suggest.demo OUT.jsonl [--conversations N] [--seed S]."""
    parser = argparse.ArgumentParser(
        prog="python -m suggest.demo",
        description="Write reproducible demo support conversations (JSONL import format).",
    )
    parser.add_argument("out", help="output .jsonl path")
    parser.add_argument("--conversations", type=int, default=1500, help="default: 1500")
    parser.add_argument("--seed", type=int, default=7, help="default: 7")
    parser.add_argument("--days", type=int, default=60, help="length of the window in days")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="window start, ISO 8601 (default 2026-09-01T00:00+00:00)")
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.days < 1:
        parser.error("--conversations and --days must be at least 1")
    count = write_conversations(args.out, n_conversations=args.conversations, seed=args.seed,
                                start=args.start, days=args.days)
    print(f"wrote {count} messages ({args.conversations} conversations) to {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
