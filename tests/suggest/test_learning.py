"""`replykit learn`: a tiny training run on a toy library where the base model is wrong (the
desk that answers depends on where the order goes, the question's topic misleads), versions
in the home, the index rebuilt against the new version, held-out questions, rollback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from index import adapters
from replykit.errors import InputError, NotFound
from suggest import learning, library
from suggest.suggester import suggest

TOPICS = (
    "I want a refund for {}",
    "{} arrived broken",
    "how do I reset the password for {}",
    "where is {}",
    "can I change the delivery address for {}",
    "the app keeps crashing with {}",
    "how do I cancel {}",
    "I was charged twice for {}",
    "is there a warranty on {}",
    "{} is missing a part",
)
DESKS = {
    "north-desk": ("my order to Oslo", "my order to Bergen", "my order to Tromso"),
    "south-desk": ("my order to Lisbon", "my order to Seville", "my order to Naples"),
}


def add_desks(engine):
    for desk, orders in DESKS.items():
        questions = [topic.format(order) for order in orders for topic in TOPICS]
        with engine.writing() as db:
            library.add_reply(db, {
                "id": desk, "title": f"{desk.split('-')[0].title()} desk",
                "body": "Our team at this desk handles every question about these orders.",
                "questions": questions, "status": "approved"})


def held_out_questions() -> list[tuple[str, str]]:
    return [(topic.format(order), desk) for desk, orders in DESKS.items() for order in orders
            for topic in TOPICS if learning.held_out(topic.format(order))]


def top1_without_own_question(engine, question: str) -> str:
    """The first suggestion's id for a held-out question, its own example question aside."""
    for item in suggest(engine, question, k=5, mode="dense")["suggestions"]:
        if item["reason"]["text"] != question:
            return item["id"]
    return ""


def test_learn_adapts_the_model_rebuilds_the_index_and_rolls_back(engine):
    add_desks(engine)
    manifest = learning.learn(engine)

    assert manifest["version"] == 1 and manifest["activated"]
    pairs = manifest["pairs"]
    assert pairs == {"total": 60, "train": 60 - len(held_out_questions()),
                     "held_out": len(held_out_questions()),
                     "by_source": {"example": 60, "past": 0, "inserted": 0}}
    figures = manifest["eval"]["models"]["all-MiniLM-L6-v2"]
    assert figures["before"] < 1.0  # the base model is wrong on some held-out questions
    assert figures["after"] >= figures["before"]
    assert [e.name for e in engine.embedders()] == ["all-MiniLM-L6-v2+adapted-1"]
    status = engine.status()
    assert not status["stale"] and status["indexes"][0]["model"].endswith("+adapted-1")
    on_disk = json.loads((engine.config.home / "models" / "1" / "manifest.json").read_text())
    assert on_disk["base_models"] == ["all-MiniLM-L6-v2"]
    assert on_disk["held_out_rule"] == learning.HELD_OUT_RULE and on_disk["previous"] is None

    assert learning.rollback(engine) == {"from": 1, "to": None}
    assert [e.name for e in engine.embedders()] == ["all-MiniLM-L6-v2"]
    assert not engine.status()["stale"]
    assert (engine.config.home / "models" / "1" / "manifest.json").exists()
    with pytest.raises(NotFound, match="nothing to roll back"):
        learning.rollback(engine)


def test_held_out_questions_are_answered_at_least_as_well_after_learning(engine):
    add_desks(engine)
    held = held_out_questions()
    right_before = sum(top1_without_own_question(engine, q) == d for q, d in held)
    learning.learn(engine)
    right_after = sum(top1_without_own_question(engine, q) == d for q, d in held)
    assert right_before < len(held)
    assert right_after >= right_before


def test_a_second_version_rolls_back_to_the_first(engine):
    add_desks(engine)
    learning.learn(engine)
    second = learning.learn(engine)
    assert (second["version"], second["previous"]) == (2, 1)
    assert [e.name for e in engine.embedders()] == ["all-MiniLM-L6-v2+adapted-2"]
    assert learning.rollback(engine) == {"from": 2, "to": 1}
    assert [e.name for e in engine.embedders()] == ["all-MiniLM-L6-v2+adapted-1"]


def test_learning_needs_questions_of_two_replies(engine):
    with engine.writing() as db:
        library.add_reply(db, {"id": "only", "title": "Only", "body": "The only reply.",
                               "questions": ["a question", "another question"],
                               "status": "approved"})
    with pytest.raises(InputError, match="at least two saved replies"):
        learning.learn(engine)
    assert not (engine.config.home / "models" / adapters.ACTIVE).exists()


def test_an_adapter_of_the_wrong_shape_is_a_clear_error(engine):
    add_desks(engine)
    learning.learn(engine)
    path = engine.config.home / "models" / "1" / "adapter-0.npy"
    np.save(path, np.eye(3, dtype=np.float32))
    with pytest.raises(adapters.AdapterError, match=r"adapter-0\.npy: shape \(3, 3\)"):
        engine.embedders()


def test_the_learn_command_states_the_held_out_split_and_rolls_back(engine):
    add_desks(engine)
    home = str(engine.config.home)
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", home, "learn"], catch_exceptions=False,
                           env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 0, result.output
    held = len(held_out_questions())
    assert "Learnt version 1 from 60 question -> saved reply pairs" in result.output
    assert (f"{60 - held} for training, {held} held out (md5(question) % 5 == 0; never used "
            "for training)") in result.output
    assert "all-MiniLM-L6-v2: " in result.output
    assert "Undo: replykit learn --rollback" in result.output

    result = runner.invoke(cli, ["--home", home, "learn", "--rollback"],
                           env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.output == "Rolled back from version 1 to the base models; indexes rebuilt.\n"
    result = runner.invoke(cli, ["--home", home, "learn", "--rollback"],
                           env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 1
    assert result.output == "Error: no learnt model version is active: nothing to roll back\n"


def test_two_learn_runs_at_once_make_two_versions(engine):
    """Each run picks its version number under the home's models lock."""
    import threading

    from replykit.home import Home
    from suggest.engine import SuggestEngine

    add_desks(engine)
    results, errors = [], []

    def run():
        home = Home(engine.config)
        try:
            results.append(learning.learn(SuggestEngine(home))["version"])
        except Exception as exc:  # reported below: a thread's exception is lost otherwise
            errors.append(exc)
        finally:
            home.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [1, 2]
    assert learning.status(engine)["active"] in (1, 2)


def write_version(engine, head: adapters.ReplyHead) -> None:
    """Make version 1 active by hand: MiniLM unchanged (identity map) and `head`."""
    folder = engine.config.home / "models" / "1"
    folder.mkdir(parents=True)
    np.save(folder / "adapter-0.npy", np.eye(384, dtype=np.float32))
    head.save(folder / "head-0.npz")
    (folder / "manifest.json").write_text(json.dumps({
        "version": 1, "adapters": {"all-MiniLM-L6-v2": "adapter-0.npy"},
        "heads": {"all-MiniLM-L6-v2": "head-0.npz"}}))
    adapters.set_active(folder.parent, 1)
    engine.rebuild()


def test_the_learnt_reply_head_reorders_close_candidates_but_not_a_clear_match(engine):
    replies = {
        "blender": ("Broken blender", "Send us a photo of the blender and we refund it in five "
                    "days.", "my blender arrived broken, can I get a refund?"),
        "toaster": ("Broken toaster", "Toasters have a two-year warranty: we replace them for "
                    "free.", "my toaster arrived broken, can I get a refund?"),
        "password": ("Reset your password", "Use the link on the sign-in page to set a new "
                     "password.", "I forgot my password"),
        "address": ("Change the delivery address", "Write to us before the order ships.",
                    "can I send my order to another address?"),
    }
    for reply_id, (title, body, question) in replies.items():
        with engine.writing() as db:
            library.add_reply(db, {"id": reply_id, "title": title, "body": body,
                                   "questions": [question], "status": "approved"})
    close = "my kitchen appliance arrived broken"
    clear = "my blender arrived broken, can I get a refund?"

    def first(question):
        return suggest(engine, question, k=2, mode="hybrid")["suggestions"][0]["id"]

    assert (first(close), first(clear)) == ("blender", "blender")
    # a head sure of "toaster" whatever the question adds at most LEARNT_WEIGHT to its score
    write_version(engine, adapters.ReplyHead(
        list(replies), np.zeros((384, 4), np.float32), np.array([0.0, 30.0, 0.0, 0.0])))
    assert engine.embedders()[0].head.of(np.ones(384, np.float32), ["toaster"])["toaster"] > 0.999
    assert (first(close), first(clear)) == ("toaster", "blender")
    # a reply added since the head was learnt is unknown to it: among the question's best
    # suggestions, it silences the head (the ranking is the one without it)
    with engine.writing() as db:
        library.add_reply(db, {"id": "damaged", "title": "Damaged goods", "body": "Tell us what "
                               "arrived damaged and we send a courier.", "questions":
                               ["my kitchen gadget came broken"], "status": "approved"})
    assert first(close) == "damaged"  # with the head heard: toaster (measured)
    assert first(clear) == "blender"


def test_a_reply_head_that_cannot_be_read_is_a_clear_error(engine):
    add_desks(engine)
    manifest = learning.learn(engine)
    assert manifest["heads"] == {"all-MiniLM-L6-v2": "head-0.npz"}
    head = engine.embedders()[0].head
    assert head.replies == ["north-desk", "south-desk"] and head.weights.shape == (384, 2)
    assert manifest["eval"]["models"]["all-MiniLM-L6-v2"]["reply_head"] is not None
    (engine.config.home / "models" / "1" / "head-0.npz").write_bytes(b"not a head")
    with pytest.raises(adapters.AdapterError, match=r"head-0\.npz: cannot read the reply head"):
        engine.embedders()
    adapters.ReplyHead(["north-desk", "south-desk"], np.full((384, 2), np.nan, np.float32),
                       np.zeros(2, np.float32)).save(engine.config.home / "models" / "1" /
                                                     "head-0.npz")
    with pytest.raises(adapters.AdapterError, match=r"head-0\.npz: the reply head holds NaN"):
        engine.embedders()
    np.save(engine.config.home / "models" / "1" / "adapter-0.npy",
            np.full((384, 384), np.inf, np.float32))
    with pytest.raises(adapters.AdapterError, match=r"adapter-0\.npy: the adapter holds NaN"):
        engine.embedders()
