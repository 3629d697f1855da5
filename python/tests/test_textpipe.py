"""The Python package against the real seeds and the CLI: same output, same errors.

Needs the package installed (``pip install ./python``) and the CLI built; ``TEXTPIPE_BIN``
names the CLI (cli/tests/python_package.rs sets it), else target/release or target/debug.
"""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import textpipe

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
DEFAULT = ROOT / "configs" / "default.toml"
COMPARED = ["text", "lang", "paragraphs", "sentences", "tokens", "entities", "keywords", "summary"]


def cli():
    for p in [os.environ.get("TEXTPIPE_BIN"), ROOT / "target/release/textpipe", ROOT / "target/debug/textpipe"]:
        if p and Path(p).is_file():
            return str(p)
    pytest.fail("no textpipe binary: set TEXTPIPE_BIN or run cargo build")


def cli_run(*args):
    out = subprocess.run([cli(), "run", str(DEFAULT), "-q", *args], capture_output=True, check=True)
    return [json.loads(l) for l in out.stdout.decode().splitlines()]


def seeds():
    return sorted(SEEDS.glob("*.txt"))


# A light pipeline (no tag): for tests about the engine rather than the stages.
LIGHT = """
[source]
kind = "files"
path = "."
[[stage]]
kind = "decode"
[[stage]]
kind = "clean"
[[stage]]
kind = "segment"
[sink]
kind = "jsonl"
path = "-"
"""


def test_pipe_gives_the_cli_output_on_the_seeds():
    want = cli_run()
    docs = [{"id": p.stem, "text": p.read_text()} for p in seeds()]
    got = list(textpipe.Pipeline(str(DEFAULT)).pipe(docs))
    assert [d["id"] for d in got] == [d["id"] for d in want]
    for g, w in zip(got, want):
        for k in COMPARED:
            assert g.get(k) == w.get(k), (g["id"], k)
    # Real output: German text, with entities and keywords.
    assert all(d["lang"] == "de" and d["keywords"] for d in got)
    assert any("Lukaschenko" in e["text"] for d in got for e in d.get("entities", []))


def test_str_bytes_and_path_configs_agree():
    text = seeds()[0].read_text()
    a = list(textpipe.Pipeline(DEFAULT).pipe([text]))
    b = list(textpipe.Pipeline(str(DEFAULT)).pipe([text.encode()]))
    c = list(textpipe.Pipeline(DEFAULT.read_text()).pipe([{"text": text}]))
    assert a[0]["text"] == b[0]["text"] == c[0]["text"] != ""


def test_a_dict_config_and_overrides_like_set():
    config = {
        "source": {"kind": "files", "path": "."},
        "stage": [{"kind": "decode"}, {"kind": "clean"}, {"kind": "segment"}, {"kind": "tag"}],
        "sink": {"kind": "jsonl", "path": "-", "fields": ["id", "keywords"]},
    }
    docs = [p.read_text() for p in seeds()]
    full = list(textpipe.Pipeline(config).pipe(docs))
    two = list(textpipe.Pipeline(config, **{"stage.tag.keywords": 2}).pipe(docs))
    # The sink's field selection applies to pipe's dicts.
    assert all(set(d) == {"id", "keywords"} for d in full)
    assert all(len(d["keywords"]) == 2 for d in two)
    assert all(len(d["keywords"]) > 2 for d in full)
    assert [d["keywords"][:2] for d in full] == [d["keywords"] for d in two]


def test_config_errors_read_as_the_cli_prints_them(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(LIGHT.replace('kind = "clean"', 'kind = "clean"\nbogus = 1'))
    with pytest.raises(textpipe.ConfigError) as e:
        textpipe.Pipeline(bad)
    check = subprocess.run([cli(), "check", str(bad)], capture_output=True)
    assert check.returncode != 0
    assert str(e.value).strip() in check.stderr.decode()
    assert (e.value.origin, e.value.line, e.value.column) == (str(bad), 9, 1)
    # TOML text and unknown overrides say where too.
    with pytest.raises(textpipe.ConfigError, match=r"^error: <string>:5:8: .*`nope`"):
        textpipe.Pipeline('[source]\nkind = "files"\npath = "."\n[[stage]]\nkind = "nope"\n')
    with pytest.raises(textpipe.ConfigError, match="no stage named `tagg`"):
        textpipe.Pipeline(DEFAULT, **{"stage.tagg.keywords": 3})
    with pytest.raises(textpipe.ConfigError, match="no Python function `mine`"):
        textpipe.Pipeline(LIGHT + '[[stage]]\nkind = "python"\nname = "mine"\n')


def test_bad_input_fails_alone_and_in_order():
    good = seeds()[1].read_text()
    docs = [
        good,
        b"\x00\x01\x02\x03" * 64,  # binary
        "caf\xe9 ".encode("latin-1") + good.encode("latin-1", "replace"),  # not UTF-8
        42,  # not a document
        {"id": "no-text", "url": "https://example.org/"},
        "lone surrogate \ud800 here",
        {"id": "last", "text": good},
    ]
    out = list(textpipe.Pipeline(LIGHT).pipe(docs))
    by_id = {d["id"]: d for d in out}
    assert [d["id"] for d in out] == ["0", "1", "2", "3", "no-text", "5", "last"]
    assert by_id["0"]["text"] == by_id["last"]["text"] != ""
    assert by_id["1"]["stage"] == "decode" and "binary" in by_id["1"]["error"]
    # Latin-1 bytes are decoded as such: the umlauts survive.
    assert "error" not in by_id["2"] and "können" in by_id["2"]["text"]
    assert by_id["2"]["meta"]["encoding"] == "windows-1252"
    assert by_id["3"] == {"id": "3", "stage": "source", "error": "a document is a str, bytes or dict, not int"}
    assert by_id["no-text"]["stage"] == "source" and "no `text` field" in by_id["no-text"]["error"]
    assert by_id["5"]["stage"] == "source" and "not valid text" in by_id["5"]["error"]


def test_a_python_stage_changes_drops_and_fails_documents():
    def mine(doc):
        if "Lawrow" in doc["text"]:
            raise ValueError("no Lawrow here")
        if "Putin" not in doc["text"]:
            return None
        doc.setdefault("meta", {})["words"] = len(doc["text"].split())
        return doc

    config = LIGHT + '[[stage]]\nkind = "python"\nname = "mine"\n'
    p = textpipe.Pipeline(config, stages={"mine": mine})
    texts = [s.read_text() for s in seeds()]
    out = list(p.pipe(texts))
    failed = [d for d in out if "error" in d]
    kept = [d for d in out if "error" not in d]
    assert failed and all(d["stage"] == "mine" and "ValueError: no Lawrow here" in d["error"] for d in failed)
    assert kept and all(d["meta"]["words"] == len(d["text"].split()) for d in kept)
    report = p.report
    assert report["docs_read"] == len(texts)
    assert report["docs_failed"] == len(failed)
    assert report["docs_written"] + report["docs_dropped"] + report["docs_failed"] == len(texts)
    assert report["docs_dropped"] == len(texts) - len(out)


def test_raise_policy_raises_at_the_failed_document():
    docs = [seeds()[0].read_text(), b"\x00\x01\x02\x03" * 64, seeds()[1].read_text()]
    it = textpipe.Pipeline(LIGHT, **{"pipeline.on_error": "raise"}).pipe(docs)
    assert next(it)["id"] == "0"
    with pytest.raises(textpipe.DocumentError, match=r"document `1` failed in stage `decode`: binary"):
        next(it)
    assert list(it) == []


def test_an_iterator_consumed_halfway_stops_reading():
    read = []

    def gen():
        text = seeds()[0].read_text()
        for i in range(100_000):
            read.append(i)
            yield text

    p = textpipe.Pipeline(LIGHT)
    it = p.pipe(gen())
    first = [next(it) for _ in range(10)]
    assert [d["id"] for d in first] == [str(i) for i in range(10)]
    ahead = len(read)
    assert ahead < 1000, ahead  # bounded read-ahead, not the whole input
    it.close()
    assert list(it) == []
    del it
    assert len(read) == ahead
    # The pipeline runs again.
    assert len(list(p.pipe([seeds()[1].read_text()]))) == 1


def test_a_generator_of_100000_documents_in_bounded_memory():
    text = seeds()[2].read_text()[:600]

    def gen(n):
        for i in range(n):
            yield {"id": f"d{i}", "text": f"{i} {text}"}

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    p = textpipe.Pipeline(LIGHT)
    n = 0
    for d in p.pipe(gen(10_000)):
        n += 1
    after_10k = peak_mb()
    for d in p.pipe(gen(100_000)):
        n += 1
        assert "error" not in d
    assert n == 110_000
    grown = peak_mb() - after_10k
    assert grown < 64, f"peak RSS grew by {grown:.0f} MB from 10,000 to 100,000 documents"


def test_run_uses_the_configured_source_and_sink(tmp_path):
    out = tmp_path / "out.jsonl"
    p = textpipe.Pipeline(DEFAULT, **{"sink.path": str(out), "source.path": str(SEEDS)})
    report = p.run()
    assert report["docs_written"] == len(seeds()) == p.report["docs_written"]
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    want = cli_run()
    assert [l["text"] for l in lines] == [w["text"] for w in want]


def test_help_explains():
    doc = textpipe.Pipeline.__doc__
    assert "stages" in doc and "ConfigError" in doc and "--set" in doc
    assert "in input order" in " ".join(textpipe.Pipeline.pipe.__doc__.split())
    assert (Path(textpipe.__file__).parent / "__init__.pyi").is_file()
