"""The embedded embedder's bulk path: many texts at once (as ingest hands them over) run on
several single-threaded sessions in parallel, and must give each text the vector it gets alone."""

import numpy as np
import pytest

TOPICS = ["the harbour strike", "a vaccine trial", "the county budget", "a wildfire near the coast",
          "the central bank's rate decision", "a football transfer", "the new metro line", "a court ruling on tariffs"]


@pytest.fixture(scope="module")
def two_core_embedder():
    from core.models.minilm import MiniLMEmbedding

    return MiniLMEmbedding(threads=2)  # two workers even on a one-core CI machine


def test_a_large_batch_gives_every_text_its_own_vector_in_order(two_core_embedder):
    texts = [f"Report {i} on {TOPICS[i % len(TOPICS)]}." + " More detail follows." * (i % 7) for i in range(45)]
    bulk = two_core_embedder.embed_batch(texts)
    alone = np.stack([two_core_embedder._run([t])[0] for t in texts])
    assert bulk.shape == (45, 384)
    assert two_core_embedder._bulk is not None  # the parallel path ran
    same = (bulk * alone).sum(axis=1)
    assert same.min() >= 0.999
    # Each vector is its own text's: any other text's vector is further away.
    cross = bulk @ alone.T
    assert (cross.argmax(axis=1) == np.arange(45)).all()


def test_one_small_batch_stays_on_the_query_session(tmp_path):
    from core.models.minilm import MiniLMEmbedding

    e = MiniLMEmbedding(threads=2)
    e.embed_batch(["one question", "another question"])
    assert e._bulk is None  # questions and llama-index's batches of 8 never build the second session
