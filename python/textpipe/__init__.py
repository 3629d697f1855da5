"""textpipe: turn raw web and news documents into clean, segmented, tagged and
summarised text, with the same pipelines (TOML configs) as the ``textpipe`` command.

    >>> import textpipe
    >>> p = textpipe.Pipeline("configs/default.toml")
    >>> for doc in p.pipe(["<html>…</html>", {"id": "a", "text": "Ein Text."}]):
    ...     print(doc["id"], doc.get("lang"), doc["text"][:60])

``Pipeline.pipe`` runs on the engine's threads (not holding the GIL) and yields one dict
per document in input order, shaped like a line of the JSONL sink. ``Pipeline.run`` runs
the configured source into the configured sink, like ``textpipe run``.
"""

from ._textpipe import ConfigError, DocumentError, PipeIter, Pipeline, __version__

__all__ = ["Pipeline", "PipeIter", "ConfigError", "DocumentError", "__version__"]
