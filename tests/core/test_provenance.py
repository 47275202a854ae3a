"""Provenance of code (bayesbach.core.provenance): which library modules a rule runs, by dotted name, and a
digest that changes exactly when one of them does. Edits are made in a throw-away copy of the package."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bayesbach.core import provenance
from bayesbach.core.provenance import modules_used, source_digest
from conftest import REPO


def rule_modules() -> list[str]:
    """The modules the workflow's rules fingerprint (their ``code("...")`` parameters)."""
    found = {m for f in (REPO / "workflow/rules").glob("*.smk") for m in re.findall(r'\bcode\("([\w.]+)"\)', f.read_text())}
    return sorted(found)


@pytest.fixture
def package(tmp_path, monkeypatch) -> Path:
    """A copy of the bayesbach folder that provenance reads instead of the real one."""
    copy = tmp_path / "bayesbach"
    shutil.copytree(provenance.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE", copy)
    return copy


def plain(modules: list[str]) -> set[str]:
    """The module names of ``modules_used`` (without ``module:name`` entries, if any)."""
    return {m.split(":")[0] for m in modules}


def test_a_module_uses_what_it_imports_and_the_packages_above_them():
    used = plain(modules_used("dataset.midi"))
    assert {"dataset.midi", "corpus.bwv", "core.atomic", "core.schemas", "", "dataset", "corpus", "core"} <= used
    assert "networks.training" not in used and "dataset.loader" not in used and "cli" not in used
    assert modules_used("dataset.midi") == sorted(modules_used("dataset.midi"))


def test_the_crawl_uses_the_pipeline_scrapy_loads_by_name(package):
    # settings.py names "bayesbach.corpus.crawl.pipelines.StorePipeline" in a string; nothing imports the module
    settings = package / "corpus/crawl/settings.py"
    assert "bayesbach.corpus.crawl.pipelines.StorePipeline" in settings.read_text()
    assert "corpus.crawl.pipelines" in modules_used("corpus.crawl")
    settings.write_text(settings.read_text().replace('"bayesbach.corpus.crawl.pipelines.StorePipeline"', '"elsewhere"'))
    assert "corpus.crawl.pipelines" not in modules_used("corpus.crawl")
    assert "corpus.crawl.settings" in modules_used("corpus.crawl")


def test_an_unknown_module_is_an_error():
    for name in ("nothing", "dataset.nothing", "bayesbach.dataset.midi", "dataset.midi.convert"):
        with pytest.raises(ValueError, match="bayesbach has no module"):
            modules_used(name)
    with pytest.raises(ValueError):
        source_digest("dataset.midi", "no.such.module")


def test_every_rule_module_exists_and_the_digest_is_stable():
    modules = rule_modules()
    assert {"dataset.midi", "corpus.crawl", "networks.training_job", "references.counted", "evaluation.evaluation_job"} <= set(modules)
    for m in modules:
        assert re.fullmatch(r"[0-9a-f]{16}", source_digest(m)) and source_digest(m) == source_digest(m)
    assert len({source_digest(m) for m in modules}) == len(modules)


def test_imports_absolute_relative_and_by_name_at_any_depth(tmp_path, monkeypatch):
    files = {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/b.py": "from ..c import d\nfrom . import e\nfrom bayesbach.c.d import NAME\n",
        "a/e.py": "import bayesbach.f\n",
        "c/__init__.py": "",
        "c/d.py": "NAME = 1\n",
        "f.py": "PIPELINE = 'bayesbach.g.Klass'\nOTHER = 'numpy.linalg'\n",
        "g.py": "class Klass: ...\n",
        "h.py": "import numpy\n",  # used by nobody
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(provenance, "PACKAGE", tmp_path)
    assert modules_used("a.b") == ["", "a", "a.b", "a.e", "c", "c.d", "f", "g"]
    assert modules_used("h") == ["", "h"]
    assert modules_used("a.b", "h") == ["", "a", "a.b", "a.e", "c", "c.d", "f", "g", "h"]


# What editing one module must rerun: the rules whose code(...) runs it, worked out from the imports by hand.
EDITS = {
    "dataset/noise.py": {"networks.training_job", "references.counted", "references.trained", "evaluation.evaluation_job", "report.listening",
                         "evaluation.generalisation", "evaluation.annotate"},
    "corpus/bwv.py": {"corpus.bundled", "corpus.crawl", "corpus.folder", "dataset.midi", "dataset.keys", "dataset.split",
                      "report.page", "evaluation.annotate"},  # families; annotate reads MIDI as dataset.midi does
    "corpus/crawl/pipelines.py": {"corpus.crawl"},  # named in a string only
    "networks/training.py": {"networks.training_job", "references.trained", "evaluation.generalisation",
                             "evaluation.annotate"},
    # the key decoding's observer control counts bayes again (evaluation.evaluation_job.bayes_observer)
    "references/observer.py": {"references.counted", "evaluation.generalisation", "evaluation.evaluation_job",
                               "evaluation.annotate"},
    # the folder source and the composers: not the Bach corpus's conversion (which lists files with corpus.files)
    "corpus/folder.py": {"corpus.folder"},  # the page reads the composers from core.layout
    "references/counted.py": {"references.counted", "evaluation.generalisation",  # Bach's counted models, elsewhere
                              "evaluation.evaluation_job", "evaluation.annotate"},
    "report/labels.py": {"report.figures", "report.page"},
    "dataset/split.py": {"dataset.split"},
    "dataset/keys.py": {"dataset.keys"},  # the labels' own rule: the key decoding reruns through its input
    "__init__.py": "every rule",
    "core/registry.py": set(),  # read for the values of the names a module imports, not as a file
    "core/layout.py": set(),  # the same
    "dev/synthetic.py": set(),
    "dev/fixture_site.py": set(),
    "cli/common.py": set(),
    "cli/__init__.py": set(),
}


@pytest.mark.parametrize("edited", list(EDITS))
def test_editing_a_module_changes_exactly_the_digests_of_the_rules_using_it(package, edited):
    modules = rule_modules()
    before = {m: source_digest(m) for m in modules}
    source = package / edited
    source.write_text(source.read_text() + "\n# an edit\n")
    changed = {m for m in modules if source_digest(m) != before[m]}
    assert changed == (set(modules) if EDITS[edited] == "every rule" else EDITS[edited])
    source.write_text(source.read_text().removesuffix("\n# an edit\n"))
    assert {m: source_digest(m) for m in modules} == before  # a digest of the source, nothing else


def test_a_module_depends_on_the_values_it_imports_from_the_layout(package):
    # report.listening and report.page import noise_label from core.layout; no library module imports a results path
    modules = rule_modules()
    before = {m: source_digest(m) for m in modules}
    layout = package / "core/layout.py"
    text = layout.read_text()
    layout.write_text(text.replace('LOGS_DIR = f"{RESULTS}/logs"', 'LOGS_DIR = f"{RESULTS}/journal"'))
    provenance._load.cache_clear()
    assert {m for m in modules if source_digest(m) != before[m]} == set()
    layout.write_text(text.replace("return repr(float(sigma))", "return repr(float(sigma)) + ''"))
    provenance._load.cache_clear()
    assert {m for m in modules if source_digest(m) != before[m]} == {"report.listening", "report.page"}
    layout.write_text(text)
    provenance._load.cache_clear()
