"""Scoring pieces of the suggester: a bounded lexical similarity and the hybrid fusion.

bm25 finds lexical candidates but its scale depends on the query, so it cannot be mixed
with cosine similarity or compared with a threshold. Each candidate is therefore re-scored
with `trigram_similarity`: the share of the question's trigram information (idf-weighted)
found in the document, balanced against the share of the document that the question covers,
a number in 0-1 that means the same for every query."""

from __future__ import annotations

import math
import re

import numpy as np

from index.lexical import LexicalIndex, query_trigrams
from index.normalize import normalize_text

# Weights of (primary dense, multilingual dense, lexical) in a document's hybrid score, by
# the question's script and whether the multilingual embedder is installed. Dense scores are
# calibrated (0 = what unrelated texts score for that model, see index.vectors), so these
# weights compare like with like. English-only MiniLM is nearly blind to Thai; e5 is weaker
# than MiniLM on English but adds to it. Chosen on the public dev sets as a whole, one
# setting per script family (docs/evaluation.md).
WEIGHTS = {
    ("latin", True): (0.64, 0.18, 0.18),
    ("latin", False): (0.88, 0.0, 0.12),
    ("other", True): (0.0, 0.53, 0.47),
    ("other", False): (0.1, 0.0, 0.9),
}
# A suggestion's rank score adds its next-best matching documents (example questions, past
# questions) at decaying weight: several close matches are stronger evidence than one.
SUPPORT_DECAY = 0.7
SUPPORT_DEPTH = 3


# A document that is as close to other suggestions' documents as to the question is weak
# evidence for its own: ranking subtracts AMBIGUITY_WEIGHT × its ambiguity, the (calibrated,
# dense-weighted) mean similarity to its AMBIGUITY_NEIGHBOURS nearest candidates of other
# suggestions (hubness reduction, as in CSLS). Measured on the public dev sets
# (docs/evaluation.md); the shown score stays the plain similarity.
AMBIGUITY_WEIGHT = 0.5
AMBIGUITY_NEIGHBOURS = 10
# A team's common answer resembles many questions because it answers many: its documents'
# penalty is multiplied by 1 − COMMON_ANSWER_RELIEF × its smoothed usage share
# (`suggest.feedback.usage_share`; 0 while nothing was used), so three quarters of the traffic
# keep a quarter of the penalty.
COMMON_ANSWER_RELIEF = 1.0
# After `replykit learn`, each adapted embedder's reply head gives the probability of each
# saved reply for the question (softmax regression on the team's labelled questions,
# index.adapters.ReplyHead); a saved reply's rank score adds LEARNT_WEIGHT × that probability,
# averaged over the dense models with their weights: at most LEARNT_WEIGHT, and only for
# candidates already found. Chosen on the public dev sets, one setting for all
# (docs/evaluation.md).
LEARNT_WEIGHT = 0.15
# The heads know only the saved replies there were when `replykit learn` ran. A reply added
# since would lose up to LEARNT_WEIGHT to a known neighbour for the very questions it was added
# for, so the heads stay silent on a question unless they know each saved reply among its
# LEARNT_CONTENDERS best suggestions (ranked without them); `learn` again brings them back.
LEARNT_CONTENDERS = 5


def weights(script: str, multilingual: bool, mode: str) -> tuple[float, float, float]:
    """(primary, multilingual, lexical) weights for `mode`, summing to 1."""
    primary, multi, lexical = WEIGHTS[("latin" if script == "latin" else "other", multilingual)]
    if mode == "lexical":
        return 0.0, 0.0, 1.0
    if mode == "dense":
        if script != "latin" and multilingual:
            return 0.0, 1.0, 0.0
        total = primary + multi
        return primary / total, multi / total, 0.0
    return primary, multi, lexical


def embedder_used(position: int, script: str, multilingual: bool) -> bool:
    """Whether the embedder at `position` (0 the primary, 1 the multilingual one) scores
    questions written in `script` in some mode. With a multilingual embedder installed the
    primary one is not used for Thai, Persian and other non-Latin questions, so documents in
    those scripts need no vector of it (`SuggestEngine` gives them none)."""
    return any(weights(script, multilingual, mode)[position] > 0 for mode in ("dense", "hybrid"))


def lexical_candidates(script: str, multilingual: bool, mode: str) -> bool:
    """Whether to fetch candidates from the FTS5 index, or only re-score the dense ones with
    trigram similarity. Where dense scores carry most of the weight (Latin script, hybrid) a
    document outside the dense top 60 hardly ever wins, and the FTS5 search is most of the
    lexical cost; where lexical matching carries real weight it also finds candidates."""
    primary, multi, lexical = weights(script, multilingual, mode)
    return lexical > max(primary, multi) / 2


def support_score(document_scores: list[float]) -> float:
    """Rank score of a suggestion from its documents' scores: best + 0.7·second + 0.49·third
    (supporting documents count only above 0, i.e. above what unrelated texts score)."""
    best, *rest = sorted(document_scores, reverse=True)[:SUPPORT_DEPTH]
    return best + sum(max(score, 0.0) * SUPPORT_DECAY**i for i, score in enumerate(rest, 1))


def trigram_similarity(query_terms: dict[str, float], document_text: str) -> float:
    """sqrt(query coverage × document coverage): query coverage = idf mass of the question's
    trigrams found in the document / idf mass of all its trigrams; document coverage = share
    of the document's distinct trigrams that the question has."""
    doc_terms = set(query_trigrams(document_text))
    if not doc_terms or not query_terms:
        return 0.0
    shared = [t for t in query_terms if t in doc_terms]
    if not shared:
        return 0.0
    query_cover = sum(query_terms[t] for t in shared) / sum(query_terms.values())
    doc_cover = len(shared) / len(doc_terms)
    return math.sqrt(query_cover * doc_cover)


def query_weights(lexical: LexicalIndex, normalized_query: str) -> dict[str, float]:
    """idf of each distinct trigram of the question; unseen trigrams get the highest idf."""
    terms = query_trigrams(normalized_query)
    df = lexical.document_frequencies(terms)
    total = lexical.document_count()
    return {t: math.log(1 + total / max(df.get(t, 0), 0.5)) for t in terms}


def lexical_scores(
    lexical: LexicalIndex, normalized_query: str, docs: dict[int, dict]
) -> dict[int, float]:
    """`trigram_similarity` of every candidate document."""
    weights = query_weights(lexical, normalized_query)
    return {i: trigram_similarity(weights, d["lexical_text"]) for i, d in docs.items()}


def text_overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' trigram sets, after normalisation, with
    placeholders and digits (names, order numbers) set aside."""
    from suggest.placeholders import PLACEHOLDER

    def grams(text: str) -> set[str]:
        text = re.sub(r"\d+", "#", normalize_text(PLACEHOLDER.sub(" ", text)))
        return set(query_trigrams(text))

    first, second = grams(a), grams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def ambiguity(vectors: np.ndarray, groups: list) -> np.ndarray:
    """For each row of `vectors` ((n, dim), normalised): the mean cosine similarity to its
    AMBIGUITY_NEIGHBOURS most similar rows of another group (0 when there is none)."""
    codes = {group: i for i, group in enumerate(dict.fromkeys(groups))}
    code = np.array([codes[g] for g in groups])
    other = code[:, None] != code[None, :]
    similarity = np.where(other, vectors @ vectors.T, -np.inf)
    k = min(AMBIGUITY_NEIGHBOURS, len(vectors))
    nearest = -np.partition(-similarity, k - 1, axis=1)[:, :k]
    found = np.isfinite(nearest)
    total = np.where(found, nearest, 0.0).sum(axis=1)
    return total / np.maximum(found.sum(axis=1), 1)


# A past reply that only makes sense inside its thread ("I've checked your account again...",
# "Thanks for waiting") is weak as a suggestion: its rank score loses THREAD_BOUND_PENALTY.
# Thread-bound = after removing follow-up phrases, greetings, thanks and placeholders, fewer
# than CONTENT_MIN_LETTERS letters of its own are left (letters, not words: Thai has no
# spaces).
THREAD_BOUND_PENALTY = 0.15
CONTENT_MIN_LETTERS = 16
_FOLLOW_UP = (
    # English
    r"i(?:'ve| have)? (?:just )?(?:re-?)?checked (?:your|the) (?:account|order|case|ticket)"
    r"(?: again)?",
    r"thanks? (?:you )?(?:so much )?for (?:waiting|your patience|holding|bearing with (?:me|us))",
    r"sorry (?:for|about) the (?:wait|delay)",
    r"(?:just )?following up(?: on (?:this|my last message|your request))?",
    r"(?:let me|i(?:'ll| will)) (?:check|look into (?:it|this)|get back to you)(?: shortly)?",
    r"(?:as )?(?:i )?(?:mentioned|said|explained)(?: before| earlier| above)?",
    r"(?:one|a) moment(?: please)?|please hold(?: on)?|still (?:looking|checking)(?: into it)?",
    r"any updates?|is there anything else(?: i can help (?:you )?with)?|see (?:above|below)",
    r"(?:and )?(?:everything|all|it) (?:looks|seems|is) (?:fine|good|ok|okay|in order)(?: now)?",
    r"(?:please )?(?:try|check) (?:it )?again(?: now)?",
    # Thai
    r"ขอบคุณ(?:ที่|สำหรับการ)รอ(?:คอย)?|ขออภัยที่ให้รอ(?:นาน)?|ตรวจสอบ(?:ให้)?อีกครั้ง(?:แล้ว)?",
    r"กำลังตรวจสอบ(?:ให้)?|รอสักครู่|ตามที่แจ้งไป(?:แล้ว)?|มีอะไรให้ช่วยอีกไหม",
    # Persian
    r"(?:از|بابت) (?:صبر|شکیبایی)(?: و (?:صبر|شکیبایی))? ?(?:شما )?(?:ممنون|متشکر)(?:یم|م)?",
    r"دوباره (?:حساب|سفارش)(?: شما)?(?: را)? بررسی کردم|در حال بررسی(?: هستیم| هستم)?",
    r"(?:لطفا|لطفاً) چند لحظه (?:صبر|منتظر)(?: کنید| بمانید)?|همان ?طور که (?:گفتم|عرض کردم)",
)
_COURTESY = (
    r"hi|hello|hey|dear|thanks|thank you|regards|best|cheers|ok(?:ay)?|sure|yes|and|now|so",
    r"สวัสดี|ครับ|ค่ะ|คะ|ขอบคุณ(?:มาก)?|นะ",
    r"سلام|با سلام|ممنون(?:م)?|متشکرم|سپاس(?:گزارم)?|با احترام|خسته نباشید|چشم",
)
_FOLLOW_UP_RE = re.compile("|".join(_FOLLOW_UP))
_COURTESY_RE = re.compile(r"(?<!\w)(?:" + "|".join(_COURTESY) + r")(?!\w)")


def thread_bound(answer: str) -> bool:
    """Whether a past reply has too little content of its own to stand outside its thread
    (rules above). Tested with real follow-up phrases in English, Thai and Persian."""
    from suggest.placeholders import PLACEHOLDER

    text = normalize_text(PLACEHOLDER.sub(" ", answer)).replace("\u2019", "'")
    text = _COURTESY_RE.sub(" ", _FOLLOW_UP_RE.sub(" ", text))
    return sum(ch.isalpha() for ch in text) < CONTENT_MIN_LETTERS
